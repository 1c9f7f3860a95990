package webhook

import (
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
)

// OutEvent is the body of every event the gateway sends. Message is set for message.created.
type OutEvent struct {
	Event        string       `json:"event"`
	ID           string       `json:"id"` // equals the Idempotency-Key header
	CreatedAt    time.Time    `json:"created_at"`
	Conversation Conversation `json:"conversation"`
	Message      *Message     `json:"message,omitempty"`
}

// Conversation is what the operator learns about a conversation; Ticket is empty in
// conversation.opened.
type Conversation struct {
	ID          string   `json:"id"`
	Ticket      string   `json:"ticket,omitempty"`
	Channel     string   `json:"channel"`
	ChannelKind string   `json:"channel_kind"`
	Language    string   `json:"language,omitempty"`
	Priority    string   `json:"priority,omitempty"`
	Tags        []string `json:"tags"`
	Player      Player   `json:"player"`
}

// Player is the player as far as the channel identified them.
type Player struct {
	DisplayName string `json:"display_name,omitempty"`
	Language    string `json:"language,omitempty"`
	PlayerID    string `json:"player_id,omitempty"`
	VIPTier     int    `json:"vip_tier"`
}

// Message is one player message.
type Message struct {
	ID          string       `json:"id"`
	Kind        string       `json:"kind"`
	Text        string       `json:"text,omitempty"`
	HTML        string       `json:"html,omitempty"`
	Author      Author       `json:"author"`
	SentAt      time.Time    `json:"sent_at"`
	ReceivedAt  time.Time    `json:"received_at"`
	ReplyTo     string       `json:"reply_to,omitempty"`
	Attachments []Attachment `json:"attachments"`
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
}

// OpenedAnswer is the operator's 2xx answer to conversation.opened.
type OpenedAnswer struct {
	Ticket string `json:"ticket"`
}

// CreatedAnswer is the operator's optional 2xx answer to message.created.
type CreatedAnswer struct {
	ID string `json:"id"`
}

// InEvent is the body of what the operator sends: a reply.created event to the hook, or a
// bare reply (Event empty) to the API. Status is set for conversation.status_changed.
type InEvent struct {
	Event          string `json:"event,omitempty"`
	EventID        string `json:"event_id,omitempty"` // conversation.status_changed: the operator's ID of the change
	ReplyID        string `json:"reply_id,omitempty"`
	ConversationID string `json:"conversation_id,omitempty"`
	Ticket         string `json:"ticket,omitempty"`
	Text           string `json:"text,omitempty"`
	Agent          Agent  `json:"agent"`
	Note           bool   `json:"note,omitempty"`
	ReplyTo        string `json:"reply_to,omitempty"`
	Status         string `json:"status,omitempty"`
}

// Agent is the agent who answered.
type Agent struct {
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
// player when the conversation does not know one yet.
func conversationOf(conv normalize.Conversation, ticket normalize.Ref, first normalize.Message) Conversation {
	p := conv.Player
	if p == (normalize.Author{}) {
		p = first.Author
	}
	tags := conv.Tags
	if tags == nil {
		tags = []string{}
	}
	return Conversation{
		ID: string(conv.ID), Ticket: string(ticket), Channel: string(conv.Channel), ChannelKind: string(conv.ChannelKind),
		Language: conv.Language, Priority: string(conv.Priority), Tags: tags,
		Player: Player{DisplayName: p.DisplayName, Language: p.Language, PlayerID: p.PlayerID, VIPTier: p.VIPTier},
	}
}
