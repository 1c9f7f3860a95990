package webhook

import (
	"encoding/json"
	"time"

	"github.com/casino-support/gateway/normalize"
)

// Event names, the X-Gateway-Event header and the "event" field of every body.
const (
	EventConversationOpened  = "conversation.opened"
	EventMessageCreated      = "message.created"
	EventConversationUpdated = "conversation.updated"
	EventReplyCreated        = "reply.created"
	EventStatusChanged       = "conversation.status_changed"
	EventAssigned            = "conversation.assigned"
	// EventFlagged: an agent flagged the conversation; flag "complex" starts its escalation
	// clock to the senior group (docs/policy.md, "SLA").
	EventFlagged = "conversation.flagged"
	// EventBatch carries several message.created and conversation.updated events of one
	// ticket in one request, when the helpdesk's batch_events allows it (contract 1.5.0).
	EventBatch = "events.batch"
)

// OutEvent is the body of every event the gateway sends. Message is set for message.created,
// Update for conversation.updated.
type OutEvent struct {
	Event        string       `json:"event"`
	ID           string       `json:"id"` // equals the Idempotency-Key header
	CreatedAt    time.Time    `json:"created_at"`
	Conversation Conversation `json:"conversation"`
	Message      *Message     `json:"message,omitempty"`
	Update       *Update      `json:"update,omitempty"`
}

// OutBatch is the body of events.batch: Events are message.created and conversation.updated
// events of one conversation in order, each exactly as it would be sent alone, so a receiver
// decodes each into an OutEvent and deduplicates it on its own ID. ID is derived from the inner
// IDs, so a retry of the same events carries the same one.
type OutBatch struct {
	Event     string            `json:"event"`
	ID        string            `json:"id"` // equals the Idempotency-Key header
	CreatedAt time.Time         `json:"created_at"`
	Events    []json.RawMessage `json:"events"`
}

// Conversation is what the operator learns about a conversation; Ticket is empty in
// conversation.opened.
type Conversation struct {
	ID          string   `json:"id"`
	Ticket      string   `json:"ticket,omitempty"`
	FollowUpOf  string   `json:"follow_up_of,omitempty"` // the closed ticket a new one follows up (issue 18)
	Channel     string   `json:"channel"`
	ChannelKind string   `json:"channel_kind"`
	Status      string   `json:"status"`
	Language    string   `json:"language,omitempty"`
	Priority    string   `json:"priority,omitempty"`
	Tags        []string `json:"tags"`
	Player      Player   `json:"player"`
	SLA         SLA      `json:"sla"`
	// Assignee is absent while no agent is assigned.
	Assignee *Agent `json:"assignee,omitempty"`
	// LinkedConversations are the player's other conversations (the same player.player_id,
	// on any channel), as the gateway knows them when it sends the event; absent when the
	// player is not identified or has no other (issue 17).
	LinkedConversations []LinkedConversation `json:"linked_conversations,omitempty"`
}

// LinkedConversation is another conversation of the same player.
type LinkedConversation struct {
	ID          string `json:"id"`
	Channel     string `json:"channel"`
	ChannelKind string `json:"channel_kind"`
	Helpdesk    string `json:"helpdesk"`
	// Ticket is absent until that conversation's helpdesk made one.
	Ticket   string    `json:"ticket,omitempty"`
	Status   string    `json:"status"`
	LinkedBy string    `json:"linked_by,omitempty"`
	LinkedAt time.Time `json:"linked_at"`
}

// SLA is the first-response clock: State is always set, the times only once they happened.
type SLA struct {
	State         string    `json:"state"` // none, waiting, near_breach or breached
	AwaitingSince time.Time `json:"awaiting_since,omitzero"`
	DueAt         time.Time `json:"due_at,omitzero"`
	BreachedAt    time.Time `json:"breached_at,omitzero"`
	// NearBreachAt is the near-breach point, when the policy sets one; Next is true when the
	// clock times a next response (an agent answered before).
	NearBreachAt time.Time `json:"near_breach_at,omitzero"`
	Next         bool      `json:"next,omitempty"`
}

// Update is what conversation.updated reports: Changed names the fields that changed, the
// others hold their values as of the change, so the operator can apply one update without
// knowing the earlier ones.
type Update struct {
	Changed  []string `json:"changed"`
	Language string   `json:"language,omitempty"`
	PlayerID string   `json:"player_id,omitempty"`
	VIPTier  int      `json:"vip_tier"`
	Priority string   `json:"priority,omitempty"`
	SLA      SLA      `json:"sla"`
}

// Player is the player as far as the channel identified them.
type Player struct {
	DisplayName string `json:"display_name,omitempty"`
	Language    string `json:"language,omitempty"`
	PlayerID    string `json:"player_id,omitempty"`
	VIPTier     int    `json:"vip_tier"`
	// Email is where replies reach the player, for channels that know it (e-mail).
	Email string `json:"email,omitempty"`
	// LinkedBy says what proved player_id: directory, webchat_token or telegram_link.
	LinkedBy string `json:"linked_by,omitempty"`
}

// Message is one player message.
type Message struct {
	ID          string       `json:"id"`
	Kind        string       `json:"kind"`
	Text        string       `json:"text,omitempty"`
	HTML        string       `json:"html,omitempty"`
	Subject     string       `json:"subject,omitempty"` // an e-mail's subject line
	Author      Author       `json:"author"`
	SentAt      time.Time    `json:"sent_at"`
	ReceivedAt  time.Time    `json:"received_at"`
	ReplyTo     string       `json:"reply_to,omitempty"`
	Attachments []Attachment `json:"attachments"`
	// Callback marks a player's request to be called back; absent on other messages.
	Callback *Callback `json:"callback,omitempty"`
}

// Callback is what a player asking to be called back gave: the number in E.164 form (absent
// when a caller hid theirs) and the time they would like, in their words.
type Callback struct {
	Phone         string `json:"phone,omitempty"`
	PreferredTime string `json:"preferred_time,omitempty"`
}

// Author is who wrote a message.
type Author struct {
	Role        string `json:"role"`
	DisplayName string `json:"display_name,omitempty"`
}

// Attachment carries a signed, expiring download URL instead of the content.
type Attachment struct {
	Name      string `json:"name"`
	MediaType string `json:"media_type"`
	Size      int64  `json:"size"`
	SHA256    string `json:"sha256"`
	URL       string `json:"url"`
	// ContentID is the Content-ID of an e-mail's part, without angle brackets: the message's
	// HTML shows the file where it says src="cid:<ContentID>".
	ContentID string `json:"content_id,omitempty"`
}

// OpenedAnswer is the operator's 2xx answer to conversation.opened.
type OpenedAnswer struct {
	Ticket string `json:"ticket"`
}

// CreatedAnswer is the operator's optional 2xx answer to message.created and
// conversation.updated.
type CreatedAnswer struct {
	ID string `json:"id"`
}

// BatchAnswer is the operator's 2xx answer to events.batch: one result per event stored, in
// order, each answered like message.created. Fewer results than events means only that prefix
// was stored.
type BatchAnswer struct {
	Results []CreatedAnswer `json:"results"`
}

// InEvent is the body of what the operator sends to the hook or the events API, or a bare
// reply (Event empty) to the replies API. Attachments may come with reply.created, Status
// with conversation.status_changed, Assignee with conversation.assigned.
type InEvent struct {
	Event string `json:"event,omitempty"`
	// EventID is the operator's ID of a status change or assignment, the dedup key.
	EventID        string `json:"event_id,omitempty"`
	ReplyID        string `json:"reply_id,omitempty"`
	ConversationID string `json:"conversation_id,omitempty"`
	Ticket         string `json:"ticket,omitempty"`
	Text           string `json:"text,omitempty"`
	Agent          Agent  `json:"agent"`
	Note           bool   `json:"note,omitempty"`
	ReplyTo        string `json:"reply_to,omitempty"`
	// Attachments are the files the agent attached; with them, Text may be empty.
	Attachments []InAttachment `json:"attachments,omitempty"`
	Status      string         `json:"status,omitempty"`
	// Assignee is who now owns the conversation; nil (null or absent) or empty unassigns.
	Assignee *Agent `json:"assignee,omitempty"`
	// Flag is what conversation.flagged flags: "complex".
	Flag string `json:"flag,omitempty"`
}

// InAttachment is a file of an agent's reply, inline: the reply stays one request, stored with
// its files or not at all and deduplicated on reply_id, and the gateway never has to fetch
// anything from the operator's network.
type InAttachment struct {
	Name      string `json:"name"`
	MediaType string `json:"media_type"`
	// ContentBase64 is the content in standard base64 (RFC 4648 section 4, padded).
	ContentBase64 string `json:"content_base64"`
}

// Agent is an agent of the operator's system: who answered or changed something, or the
// assignee.
type Agent struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
}

// Answer is the gateway's 2xx answer to the operator; Error its error answer.
type Answer struct {
	Status  string `json:"status"` // "stored"
	ReplyID string `json:"reply_id,omitempty"`
}

// ErrorAnswer is the body of every non-2xx answer of the gateway.
type ErrorAnswer struct {
	Error string `json:"error"`
}

// conversationOf converts the gateway's conversation, with the first message's author as the
// player when the conversation does not know one yet (unless that message is an update, whose
// author is the gateway itself).
func conversationOf(conv normalize.Conversation, ticket normalize.Ref, first normalize.Message) Conversation {
	p := conv.Player
	if p == (normalize.Author{}) && first.Update == nil {
		p = first.Author
	}
	tags := conv.Tags
	if tags == nil {
		tags = []string{}
	}
	status := conv.Status
	if status == "" {
		// Only a hand-built conversation lacks one; the store opens every conversation open.
		status = normalize.StatusOpen
	}
	return Conversation{
		ID: string(conv.ID), Ticket: string(ticket), Channel: string(conv.Channel), ChannelKind: string(conv.ChannelKind),
		Status: string(status), Language: conv.Language, Priority: string(conv.Priority), Tags: tags,
		Player: Player{DisplayName: p.DisplayName, Language: p.Language, PlayerID: p.PlayerID, VIPTier: p.VIPTier, Email: p.Email,
			LinkedBy: p.PlayerIDBy},
		SLA:                 slaOf(conv.SLA),
		Assignee:            assigneeOf(conv.Assignee),
		LinkedConversations: linkedOf(conv.Linked),
	}
}

// linkedOf converts the player's other conversations; nil stays nil, so the field is absent.
func linkedOf(ls []normalize.LinkedConversation) []LinkedConversation {
	if len(ls) == 0 {
		return nil
	}
	out := make([]LinkedConversation, len(ls))
	for i, l := range ls {
		out[i] = LinkedConversation{ID: string(l.ID), Channel: string(l.Channel), ChannelKind: string(l.ChannelKind),
			Helpdesk: string(l.Helpdesk), Ticket: string(l.Ticket), Status: string(l.Status), LinkedBy: l.LinkedBy, LinkedAt: l.LinkedAt.UTC()}
	}
	return out
}

// assigneeOf is nil for no assignee, which the store may also record as an empty Agent.
func assigneeOf(a *normalize.Agent) *Agent {
	if a == nil || *a == (normalize.Agent{}) {
		return nil
	}
	return &Agent{ID: a.ID, Name: a.Name}
}

// slaOf converts the clock; a zero time stays zero in UTC, so omitzero still omits it.
func slaOf(s normalize.SLA) SLA {
	return SLA{State: string(s.State()), AwaitingSince: s.AwaitingSince.UTC(), DueAt: s.DueAt.UTC(), BreachedAt: s.BreachedAt.UTC(),
		NearBreachAt: s.NearBreachAt.UTC(), Next: s.Next}
}

func updateOf(u *normalize.Update) *Update {
	changed := make([]string, len(u.Changed))
	for i, f := range u.Changed {
		changed[i] = string(f)
	}
	return &Update{Changed: changed, Language: u.Language, PlayerID: u.PlayerID, VIPTier: u.VIPTier,
		Priority: string(u.Priority), SLA: slaOf(u.SLA)}
}
