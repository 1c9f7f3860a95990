// Package normalize owns the one conversation model every connector converts to and from.
// It imports no SDK and nothing else of the gateway, so every package can depend on it.
//
// Identifier scopes:
//   - MessageID and ConversationID are assigned by the gateway and unique across the whole
//     deployment (all replicas, all instances); they never change.
//   - InstanceName names one configured channel or helpdesk instance ("tg-main", "inbox");
//     it is unique across channels and helpdesks together.
//   - ExternalID is an identifier chosen by a remote system (Telegram message ID, e-mail
//     Message-ID, a helpdesk comment ID); it is unique only within one instance.
//   - Address is the channel-side address of a conversation (chat ID, JID, e-mail thread,
//     phone number); it is unique only within one channel instance.
//   - Ref is a ticket reference in one helpdesk instance.
package normalize

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"time"
)

type (
	// MessageID is the gateway's own ID of a message, unique deployment-wide.
	MessageID string
	// ConversationID is the gateway's own ID of a conversation, unique deployment-wide.
	ConversationID string
	// InstanceName is the configured name of a channel or helpdesk instance.
	InstanceName string
	// ExternalID is a remote system's ID of a message, unique within one instance.
	ExternalID string
	// Address is a conversation's address on its channel, unique within one channel instance.
	Address string
	// Ref is a ticket reference, unique within one helpdesk instance.
	Ref string
)

// NewMessageID returns a new time-ordered random message ID.
func NewMessageID() MessageID { return MessageID("m" + newID()) }

// NewConversationID returns a new time-ordered random conversation ID.
func NewConversationID() ConversationID { return ConversationID("c" + newID()) }

// newID returns 48 bits of milliseconds and 80 random bits in hex: sortable by creation
// time and collision-free without coordination between replicas.
func newID() string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(time.Now().UnixMilli())<<16)
	if _, err := rand.Read(b[6:]); err != nil {
		panic("normalize: crypto/rand failed: " + err.Error()) // the runtime guarantees it does not
	}
	return hex.EncodeToString(b[:])
}

// Direction says which way a message travels.
type Direction string

const (
	// Inbound messages travel from a player's channel to a helpdesk.
	Inbound Direction = "inbound"
	// Outbound messages travel from a helpdesk (agent, bot) to a player's channel.
	Outbound Direction = "outbound"
)

// ChannelKind is the type of a channel instance.
type ChannelKind string

const (
	KindTelegram ChannelKind = "telegram"
	KindWhatsApp ChannelKind = "whatsapp"
	KindEmail    ChannelKind = "email"
	KindVoice    ChannelKind = "voice"
	KindWebchat  ChannelKind = "webchat"
	KindLoopback ChannelKind = "loopback"
)

// Role is who wrote a message.
type Role string

const (
	RolePlayer Role = "player"
	RoleAgent  Role = "agent"
	RoleBot    Role = "bot"
	RoleSystem Role = "system"
)

// Author describes who wrote a message.
type Author struct {
	Role        Role   `json:"role"`
	DisplayName string `json:"display_name,omitempty"`
	// Language is a BCP 47 tag ("de", "pt-BR") when known.
	Language string `json:"language,omitempty"`
	// PlayerID is the casino's own player ID, when the channel identified the player.
	PlayerID string `json:"player_id,omitempty"`
	// PlayerIDBy says what proved PlayerID (LinkedByDirectory, LinkedByWebchatToken,
	// LinkedByTelegramLink): the store records it with the player's link to the conversation.
	PlayerIDBy string `json:"player_id_by,omitempty"`
	// VIPTier is the player's VIP tier (0 = none), when known.
	VIPTier int `json:"vip_tier,omitempty"`
	// ExternalID is the author's ID on the remote system (Telegram user ID, agent ID).
	ExternalID string `json:"external_id,omitempty"`
	// Email is the player's e-mail address, where replies reach them, when the channel
	// knows one (the e-mail channel: the mail's Reply-To, else its From). Helpdesks show it
	// as the requester's address.
	Email string `json:"email,omitempty"`
	// Country (ISO 3166-1 alpha-2), AccountStatus, KYCStatus and PersonalManager (the
	// helpdesk's agent ID) come from the player directory, for the routing rules.
	Country         string `json:"country,omitempty"`
	AccountStatus   string `json:"account_status,omitempty"`
	KYCStatus       string `json:"kyc_status,omitempty"`
	PersonalManager string `json:"personal_manager,omitempty"`
	// Returning is true when the gateway had a conversation at the player's channel address
	// before this message; the router sets it, for the routing rules, only when a rule asks,
	// and it is never stored.
	Returning bool `json:"-"`
}

// MessageKind is what a message carries.
type MessageKind string

const (
	KindText     MessageKind = "text"
	KindImage    MessageKind = "image"
	KindDocument MessageKind = "document"
	KindAudio    MessageKind = "audio"
	KindVoiceMsg MessageKind = "voice"
	KindVideo    MessageKind = "video"
	KindSticker  MessageKind = "sticker"
	KindLocation MessageKind = "location"
	KindContact  MessageKind = "contact"
	KindReaction MessageKind = "reaction"
	KindEdit     MessageKind = "edit"
	KindDeletion MessageKind = "deletion"
	// KindSystem is an event rather than words: a missed call, a voicemail, a status change.
	KindSystem MessageKind = "system"
	// KindNote is an agent's internal note; it never reaches the player.
	KindNote MessageKind = "note"
)

// Attachment is a file carried by a message. The bytes live in the blob store under BlobRef.
type Attachment struct {
	Name      string `json:"name"`
	MediaType string `json:"media_type"`
	Size      int64  `json:"size"`
	// SHA256 is the hex digest of the content; the default blob store is addressed by it.
	SHA256  string `json:"sha256"`
	BlobRef string `json:"blob_ref"`
	// ContentID is the file's Content-ID without angle brackets, set for the parts of an
	// e-mail that have one (inline images above all), empty otherwise. An e-mail's HTML
	// refers to such a part as "cid:" and this ID, so a helpdesk that shows the HTML can put
	// the image in its place.
	ContentID string `json:"content_id,omitempty"`
}

// Callback is what a player asking to be called back gave.
type Callback struct {
	// Phone is the number to call, in E.164 form ("+4917012345678"); empty when the player's
	// number is unknown (a caller who hid theirs pressed the menu's key).
	Phone string `json:"phone"`
	// PreferredTime is when the player would like the call, in their own words ("after 6 pm");
	// empty when they gave none.
	PreferredTime string `json:"preferred_time,omitempty"`
}

// DeliveryState is where a message is on its way to the other side.
type DeliveryState string

const (
	StateQueued    DeliveryState = "queued"
	StateSent      DeliveryState = "sent"
	StateDelivered DeliveryState = "delivered"
	StateRead      DeliveryState = "read"
	StateFailed    DeliveryState = "failed"
)

// Location is a point shared by a player.
type Location struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
}

// Message is one message in either direction.
//
// A connector fills in what its source knows: Source and ExternalID (together the dedup key),
// and for inbound messages Channel, ChannelKind and Address; for outbound messages (agent
// replies) Conversation or Ticket, so the router can find the conversation. The router assigns
// ID and Conversation when they are empty.
type Message struct {
	ID        MessageID `json:"id"`
	Direction Direction `json:"direction"`

	// Source is the instance the message came from (a channel for inbound, a helpdesk for
	// outbound); ExternalID is its ID there. The pair is unique: a second delivery is a duplicate.
	Source     InstanceName `json:"source"`
	ExternalID ExternalID   `json:"external_id"`

	Conversation ConversationID `json:"conversation,omitempty"`
	Channel      InstanceName   `json:"channel,omitempty"`
	ChannelKind  ChannelKind    `json:"channel_kind,omitempty"`
	Address      Address        `json:"address,omitempty"`
	// Ticket identifies the conversation of an outbound message by its helpdesk ticket when the
	// helpdesk does not know the gateway's conversation ID.
	Ticket Ref `json:"ticket,omitempty"`

	Author Author      `json:"author"`
	Kind   MessageKind `json:"kind"`
	Text   string      `json:"text,omitempty"`
	// QuickReplies are answers the player can tap (the FAQ bot's "That helped", "Talk to an
	// agent"); a tap comes back as an ordinary message with the option's text. Channels that
	// cannot show buttons get them listed in the text (router: connectors.QuickReplier).
	QuickReplies []string `json:"quick_replies,omitempty"`
	// HTML is the original HTML body (e-mail); Text is always its plain-text rendering.
	HTML string `json:"html,omitempty"`
	// Subject is an e-mail's subject line, apart from Text: helpdesks title a ticket with it,
	// and the e-mail channel answers under it so mail clients keep the thread together.
	Subject     string       `json:"subject,omitempty"`
	Attachments []Attachment `json:"attachments,omitempty"`
	Location    *Location    `json:"location,omitempty"`
	// Callback, on an inbound player's text message, marks it as the player's request to be
	// called back, from whichever channel they asked on (connectors/callback builds it). Text
	// says the same in words for helpdesks that show only text; the router raises the
	// conversation's priority on it, and helpdesks that can flag a message show it flagged.
	Callback *Callback `json:"callback,omitempty"`

	// ReplyTo is the external ID, within Source, of the message this one answers. For an
	// outbound message the store translates it on intake into the channel's ID of that
	// message (empty when the channel never saw it), which is what Channel.Send receives.
	ReplyTo ExternalID `json:"reply_to,omitempty"`
	// Edits is the external ID, within Source, of the message an edit, deletion or reaction targets.
	Edits ExternalID `json:"edits,omitempty"`

	// SentAt is the channel's own timestamp; ReceivedAt is when the gateway stored it.
	SentAt     time.Time `json:"sent_at"`
	ReceivedAt time.Time `json:"received_at"`

	// Status, on an outbound KindSystem message, is the conversation's new status as the
	// helpdesk set it (an agent resolved the ticket). The store applies it; the player is not
	// sent anything.
	Status Status `json:"status,omitempty"`

	// Update, on an inbound KindSystem message, is a change of the conversation's metadata the
	// gateway noticed (the player's language, identity or VIP tier, the priority, an SLA
	// breach). Helpdesks apply it to the ticket; Text says the same in words for those that
	// can only post it. The player wrote nothing.
	Update *Update `json:"update,omitempty"`
	// Assignee, on an outbound KindSystem message, is the agent the helpdesk assigned the
	// conversation to; an empty Agent unassigns it. The store applies it; the player is sent
	// nothing.
	Assignee *Agent `json:"assignee,omitempty"`
	// Complex, on an outbound KindSystem message, is an agent flagging the conversation as a
	// complex case: it starts the escalation clock to the senior group (docs/policy.md).
	Complex bool `json:"complex,omitempty"`

	// AutoReply marks an outbound message the gateway wrote and sent on its own (an
	// acknowledgement, an out-of-hours notice; router/autoreply): the e-mail channel sends it
	// with Auto-Submitted: auto-replied (RFC 3834), so that no vacation notice answers it.
	AutoReply bool `json:"auto_reply,omitempty"`

	State DeliveryState `json:"state,omitempty"`
	// FailReason says why State is StateFailed.
	FailReason string `json:"fail_reason,omitempty"`
}

// Status is a conversation's life-cycle state.
type Status string

const (
	StatusOpen    Status = "open"
	StatusPending Status = "pending"
	StatusClosed  Status = "closed"
)

// Priority orders conversations for agents.
type Priority string

const (
	PriorityLow    Priority = "low"
	PriorityNormal Priority = "normal"
	PriorityHigh   Priority = "high"
	PriorityUrgent Priority = "urgent"
)

// Rank orders priorities: low 0 … urgent 3; an unknown priority ranks as normal.
func (p Priority) Rank() int {
	switch p {
	case PriorityLow:
		return 0
	case PriorityHigh:
		return 2
	case PriorityUrgent:
		return 3
	}
	return 1
}

// Agent is a helpdesk agent as the helpdesk names them.
type Agent struct {
	// ID is the helpdesk's ID of the agent (RT user name, operator's agent ID).
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
}

// Field names a piece of conversation metadata an Update changes.
type Field string

const (
	FieldLanguage Field = "language"
	FieldPlayerID Field = "player_id"
	FieldVIPTier  Field = "vip_tier"
	FieldPriority Field = "priority"
	FieldSLA      Field = "sla"
	// FieldTags: the conversation's tags changed (an SLA stage tagged it, a complex case went
	// to the senior group's "group:" tag); Conversation.Tags holds them.
	FieldTags Field = "tags"
)

// Update is a change of a conversation's metadata: Changed names what changed, and the other
// fields hold the values as of the change (changed or not), so a helpdesk can apply an Update
// without knowing the earlier ones.
type Update struct {
	Changed  []Field  `json:"changed"`
	Language string   `json:"language,omitempty"`
	PlayerID string   `json:"player_id,omitempty"`
	VIPTier  int      `json:"vip_tier"`
	Priority Priority `json:"priority"`
	SLA      SLA      `json:"sla"`
}

// Has reports whether f is among the changed fields.
func (u *Update) Has(f Field) bool {
	for _, c := range u.Changed {
		if c == f {
			return true
		}
	}
	return false
}

// SLAState is where a conversation stands against its first-response target.
type SLAState string

const (
	SLANone     SLAState = "none"     // no player message waits for an answer
	SLAWaiting  SLAState = "waiting"  // a player waits, the answer is not late yet
	SLABreached SLAState = "breached" // a player has waited longer than the target
	// SLANearBreach: the answer is not late yet, but the near-breach point has passed.
	SLANearBreach SLAState = "near_breach"
)

// SLA is the clock of a conversation's first response: it starts at the oldest player
// message no agent has answered and stops at an agent's answer or when the conversation is
// closed.
type SLA struct {
	// AwaitingSince is when the oldest unanswered player message arrived; zero when none waits.
	AwaitingSince time.Time `json:"awaiting_since,omitzero"`
	// DueAt is when the answer is due; zero when nothing waits or the channel has no target.
	DueAt time.Time `json:"due_at,omitzero"`
	// BreachedAt is when the router saw DueAt pass without an answer; zero before.
	BreachedAt time.Time `json:"breached_at,omitzero"`
	// NearBreachAt is when the answer is near its breach (a share of the target has passed);
	// zero when the policy sets no near-breach point. WarnedAt is when the router saw it pass.
	NearBreachAt time.Time `json:"near_breach_at,omitzero"`
	WarnedAt     time.Time `json:"warned_at,omitzero"`
	// Next is true for a next-response clock: an agent answered the conversation before,
	// and the player wrote again.
	Next bool `json:"next,omitempty"`
}

// State summarizes the clock.
func (s SLA) State() SLAState {
	switch {
	case s.AwaitingSince.IsZero():
		return SLANone
	case !s.BreachedAt.IsZero():
		return SLABreached
	case !s.WarnedAt.IsZero():
		return SLANearBreach
	}
	return SLAWaiting
}

// Conversation is one thread between a player on one channel address and one helpdesk.
type Conversation struct {
	ID          ConversationID `json:"id"`
	Channel     InstanceName   `json:"channel"`
	ChannelKind ChannelKind    `json:"channel_kind"`
	Address     Address        `json:"address"`
	// Helpdesk is chosen by the routing rules on the first message and never changes.
	Helpdesk InstanceName `json:"helpdesk"`
	// Ticket is empty until the helpdesk created the ticket.
	Ticket Ref `json:"ticket,omitempty"`
	// FollowUpOf is the conversation's previous ticket, which the helpdesk closed before the
	// player wrote again (issue 18, closed_ticket: follow_up): the store moved it here and
	// emptied Ticket, so the next Post opens a new ticket, which a helpdesk that can links to
	// this one. Empty when the conversation never had a ticket closed.
	FollowUpOf Ref      `json:"follow_up_of,omitempty"`
	Status     Status   `json:"status"`
	Priority   Priority `json:"priority"`
	Language   string   `json:"language,omitempty"`
	Tags       []string `json:"tags,omitempty"`
	// Player is the author of the first inbound message, updated as more becomes known.
	Player Author `json:"player"`
	SLA    SLA    `json:"sla"`
	// Assignee is the agent the helpdesk assigned the conversation to; nil when none.
	Assignee  *Agent    `json:"assignee,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`

	// Linked are the player's other conversations (the same Player.PlayerID, on any channel),
	// filled in when the store hands the conversation's messages to its helpdesk; nil when
	// the player is not identified or has no other.
	Linked []LinkedConversation `json:"linked,omitempty"`
}

// What proved a player's identity (Author.PlayerIDBy, LinkedConversation.LinkedBy).
const (
	LinkedByDirectory    = "directory"     // the player directory knew the channel address
	LinkedByWebchatToken = "webchat_token" // a player token signed by the casino's site
	LinkedByTelegramLink = "telegram_link" // a signed Telegram /start deep link
)

// LinkedConversation is another conversation of the same player, as a helpdesk needs it to
// show the two together.
type LinkedConversation struct {
	ID          ConversationID `json:"id"`
	Channel     InstanceName   `json:"channel"`
	ChannelKind ChannelKind    `json:"channel_kind"`
	Helpdesk    InstanceName   `json:"helpdesk"`
	// Ticket is the conversation's ticket in Helpdesk; empty until it has one.
	Ticket   Ref       `json:"ticket,omitempty"`
	Status   Status    `json:"status"`
	LinkedBy string    `json:"linked_by,omitempty"`
	LinkedAt time.Time `json:"linked_at"`
}
