// Package loopbackwire is the loopback protocol: the JSON bodies and the HTTP handling that
// the loopback channel (connectors/channel/loopback), the loopback helpdesk
// (connectors/helpdesk/loopback) and their fakes in test/loopback share, so they cannot
// drift apart. The protocol exists to exercise the whole pipeline (hook → store → worker →
// HTTP target) end to end over real HTTP without any third-party account.
//
// Wire formats (all JSON):
//
//	player → hook:         POST /hooks/{channel}  Inbound{messages: [PlayerMessage...]}
//	channel → remote:      POST {send_url}        Outbound, Idempotency-Key: message ID
//	helpdesk → remote:     POST {url}/tickets     TicketRequest, Idempotency-Key: conversation ID
//	                       POST {url}/tickets/{ticket}/messages  MessageRequest, Idempotency-Key: message ID
//	agent → hook:          POST /hooks/{helpdesk} Reply
//
// Hooks and remotes guard themselves with an optional bearer secret and answer errors as
// ErrorBody.
package loopbackwire

import (
	"time"

	"github.com/casino-support/gateway/normalize"
)

// MaxHookMessages caps the messages of one Inbound request, as real channels cap a batch.
const MaxHookMessages = 100

// Inbound is what a player's app POSTs to the channel hook.
type Inbound struct {
	Messages []PlayerMessage `json:"messages"`
}

// PlayerMessage is one message a player wrote.
type PlayerMessage struct {
	// ID is the app's message ID; with the channel instance it is the dedup key.
	ID      string `json:"id"`
	Address string `json:"address"`
	Text    string `json:"text,omitempty"`
	// Name, Language and VIP describe the player as far as the app knows them.
	Name     string `json:"name,omitempty"`
	Language string `json:"language,omitempty"`
	VIP      int    `json:"vip,omitempty"`
	// SentAt is the app's timestamp; the hook uses the receipt time when it is missing.
	SentAt time.Time `json:"sent_at,omitzero"`
}

// Accepted is the channel hook's answer once every message is stored (duplicates included).
type Accepted struct {
	Accepted int `json:"accepted"`
}

// Outbound is what the channel POSTs to its SendURL for each reply to a player.
type Outbound struct {
	MessageID      string `json:"message_id"`
	Address        string `json:"address"`
	ConversationID string `json:"conversation_id"`
	Text           string `json:"text"`
	Kind           string `json:"kind"`
	Author         string `json:"author"`
}

// IDResponse is the remote's answer to a send or a posted message.
type IDResponse struct {
	ID string `json:"id"`
}

// TicketRequest is what the helpdesk POSTs to {url}/tickets to open a conversation's ticket.
type TicketRequest struct {
	ConversationID string           `json:"conversation_id"`
	Channel        string           `json:"channel"`
	Address        string           `json:"address"`
	Player         normalize.Author `json:"player"`
	Subject        string           `json:"subject"`
}

// TicketResponse is the remote's answer to a ticket creation.
type TicketResponse struct {
	Ticket string `json:"ticket"`
}

// MessageRequest is what the helpdesk POSTs to {url}/tickets/{ticket}/messages per message.
type MessageRequest struct {
	MessageID   string                 `json:"message_id"`
	Text        string                 `json:"text"`
	Author      string                 `json:"author"`
	Kind        string                 `json:"kind"`
	Attachments []normalize.Attachment `json:"attachments"`
}

// Reply is what an agent's helpdesk POSTs to the helpdesk hook.
type Reply struct {
	// ReplyID is the helpdesk's ID of the reply; with the helpdesk instance it is the dedup key.
	ReplyID string `json:"reply_id"`
	// Ticket or ConversationID (or both) identify the conversation.
	Ticket         string `json:"ticket,omitempty"`
	ConversationID string `json:"conversation_id,omitempty"`
	Text           string `json:"text"`
	Agent          string `json:"agent,omitempty"`
	// Note marks an internal note, which the router records but never sends to the player.
	Note bool `json:"note,omitempty"`
	// ReplyTo is the helpdesk's ID of the message the agent answered, for threading.
	ReplyTo string `json:"reply_to,omitempty"`
}

// ErrorBody is every hook's and fake's error answer.
type ErrorBody struct {
	Error string `json:"error"`
}
