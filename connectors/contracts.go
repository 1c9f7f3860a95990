// Package connectors defines the contracts between the router and the connectors that speak
// to players' apps (Channel) and to ticket systems (Helpdesk), and the errors they share.
// Implementations live in connectors/channel/<name> and connectors/helpdesk/<name>.
package connectors

import (
	"context"
	"io"
	"net/http"

	"github.com/casino-support/gateway/normalize"
)

// Sink accepts normalized messages from connectors.
//
// Deliver returns nil only once every message is durably stored (or known to be a duplicate
// of one already stored, which is not an error); only then may the caller acknowledge its
// source. Deliver is safe for concurrent use; passing several messages at once lets the store
// commit them in one transaction, so connectors that receive batches should hand them over
// together. An error wrapping ErrPermanent means the input can never be accepted (unknown
// conversation, invalid message) and the caller should reject it rather than retry.
type Sink interface {
	Deliver(ctx context.Context, msgs ...normalize.Message) error
}

// Channel speaks to one player-facing app instance.
type Channel interface {
	// Run receives player messages and hands them to sink until ctx ends, then returns nil.
	// It returns an error only when the channel cannot go on (bad credentials). Channels fed
	// by webhooks also implement http.Handler and are mounted at /hooks/{instance}; their Run
	// may simply wait for ctx.
	Run(ctx context.Context, sink Sink) error
	// Send delivers one outbound message to the player and returns the channel's ID for it.
	// The router calls Send serially per conversation, in order, and retries on error with
	// back-off; msg.ID is stable across retries and should be used as an idempotency key where
	// the channel accepts one.
	Send(ctx context.Context, conv normalize.Conversation, msg normalize.Message) (normalize.ExternalID, error)
}

// Helpdesk speaks to one ticket-system instance.
type Helpdesk interface {
	// Run receives agent replies (by polling or, for webhook helpdesks that also implement
	// http.Handler, by serving requests) and hands them to sink as outbound messages until ctx
	// ends, then returns nil. Each reply carries Source (this instance), ExternalID (the
	// helpdesk's reply ID) and Conversation or Ticket.
	Run(ctx context.Context, sink Sink) error
	// Post delivers inbound messages of one conversation, in order. When conv.Ticket is empty
	// the first message creates the ticket; the rest are appended to it.
	//
	// It returns the ticket reference (as soon as a ticket exists, even together with an error)
	// and one external ID per message posted: externalIDs is always a prefix of msgs, so on an
	// error the router records what was posted and retries the rest. msgs[i].ID is stable across
	// retries: use it as an idempotency key, or write it into the posted content and look it up
	// before re-posting when a message's outcome is unknown (see Attempt).
	Post(ctx context.Context, conv normalize.Conversation, msgs []Delivery) (ticket normalize.Ref, externalIDs []normalize.ExternalID, err error)
}

// Delivery is one message handed to a Helpdesk with its delivery history.
type Delivery struct {
	normalize.Message
	// Attempt counts delivery attempts of this message, starting at 1. An attempt above 1 means
	// an earlier one may have reached the helpdesk even though it did not report success.
	Attempt int
}

// WebhookHandler is implemented by connectors that receive HTTP requests; the gateway mounts
// them at /hooks/{instance}. The handler must answer 2xx only after Sink.Deliver returned nil.
type WebhookHandler interface {
	http.Handler
}

// Blobs stores attachment content. Connectors store what they download before Deliver and
// read it back when sending; messages carry only the returned reference.
type Blobs interface {
	// Put stores r and returns the attachment with Size, SHA256 and BlobRef filled in. Content
	// over the configured limit fails with an error wrapping ErrTooLarge and is not kept;
	// content that would take the store over its total quota, with one wrapping ErrQuota.
	Put(ctx context.Context, r io.Reader, name, mediaType string) (normalize.Attachment, error)
	// Open returns the content stored under ref.
	Open(ctx context.Context, ref string) (io.ReadCloser, error)
}

// Cursors keeps a connector's small durable state (the last transaction polled, a mailbox's
// last UID) in the gateway's store, so it survives restarts and replicas share it.
type Cursors interface {
	// Cursor returns the value stored under key for instance, or "" when there is none.
	Cursor(ctx context.Context, instance normalize.InstanceName, key string) (string, error)
	// SetCursor stores value under key for instance; it returns once the value is durable.
	SetCursor(ctx context.Context, instance normalize.InstanceName, key, value string) error
}

// Mounter is implemented by connectors that serve pages or APIs beyond /hooks/{instance}: the
// web chat's player page, the inbox's agent UI, a helpdesk's reply API. The gateway calls
// Mount once before serving. Patterns must stay under the connector's configured page path,
// /hooks/{instance}/ or /api/v1/helpdesks/{instance}/ of its own instance, and never claim
// /metrics, /healthz, /readyz or anything else under /hooks/ and /api/.
type Mounter interface {
	Mount(mux *http.ServeMux)
}

// Forgetter is implemented by helpdesks that keep something of a conversation in the gateway's
// own care (the built-in inbox's ticket row: the player's name, the last message's first
// line), so that it goes when retention deletes the conversation from the store. Helpdesks
// whose tickets live in the operator's own system (webhook, RT) do not implement it: that
// system keeps its tickets by its own rules, and the gateway has no say in them.
type Forgetter interface {
	// Forget deletes everything the helpdesk keeps of convs, which the store has deleted
	// already (reads of them find nothing). It returns nil only once that is durable; after an
	// error the router hands the same conversations over again later, so Forget is idempotent:
	// forgetting a conversation twice, or one the helpdesk never had, is no error. It is called
	// with a bounded batch, concurrently with Post and Run, never for a conversation that is
	// still posted to.
	Forget(ctx context.Context, convs []normalize.ConversationID) error
}

// Typer is implemented by channels that can show the player that an agent is typing. It is
// a hint: failures are not retried and nothing is stored.
type Typer interface {
	Typing(ctx context.Context, conv normalize.Conversation) error
}

// QuickReplier is implemented by channels that show a message's QuickReplies as buttons the
// player taps (a tap comes back as a message with the option's text). To the others the
// router sends the options listed at the end of the text.
type QuickReplier interface {
	ShowsQuickReplies() bool
}

// The Sink handed to Run may offer more than Deliver. What a connector needs from the router
// besides storing messages reaches it through these extensions, found by type assertion on
// the sink (the router implements all of them), never through closures or a handle on the
// store. Status changes and assignments are no extension: they are outbound system messages
// (Message.Status, Message.Assignee) delivered like replies, so they are stored in order, in
// one transaction, and deduplicated like everything else.

// TypingSink passes an agent's typing on to the player's channel, where it can show it.
type TypingSink interface {
	// Typing tells the player of conv that an agent is typing. It is a hint: nothing is
	// stored, and a channel that cannot show it is no error.
	Typing(ctx context.Context, conv normalize.ConversationID) error
}

// ReceiptSink records what a player's app reports of a reply: delivered, read.
type ReceiptSink interface {
	// Receipt records state (StateDelivered or StateRead) of the reply id; a receipt never
	// moves a message backwards. The error wraps ErrNotFound for an unknown message.
	Receipt(ctx context.Context, id normalize.MessageID, state normalize.DeliveryState) error
}

// FailureSink records what a channel learns only after it handed a reply over: that the
// reply never reached the player (an e-mail bounce, reported by a later mail).
type FailureSink interface {
	// DeliveryFailed marks the reply id, which channel sent, failed with reason, and tells the
	// conversation's helpdesk with a system note. A reply not sent yet, or failed already, is
	// left alone, so a repeated report is no error. The error wraps ErrNotFound when channel
	// sent no reply id.
	DeliveryFailed(ctx context.Context, channel normalize.InstanceName, id normalize.MessageID, reason string) error
}

// SentSink finds a reply by the ID the channel's Send returned for it, for channels whose
// remote reports on replies by its own ID only (a WhatsApp Cloud API status names the wamid),
// so that they can pass the report on to ReceiptSink or FailureSink.
type SentSink interface {
	// SentReply returns the gateway's ID of the reply channel sent and got externalID for.
	// The error wraps ErrNotFound when channel sent none under it: not recorded yet (a remote
	// may report on a reply before the router has recorded its delivery), sent by something
	// else, or deleted by retention.
	SentReply(ctx context.Context, channel normalize.InstanceName, externalID normalize.ExternalID) (normalize.MessageID, error)
}

// HealthSink hears whether a connector's remote accepts it, so that a broken connector is
// named with its reason in the health details, a metric and the log while the others go on.
type HealthSink interface {
	// ReportHealth tells that instance works (problem nil: its remote answered) or why it
	// cannot for now (the remote refused its credentials); the connector keeps running and
	// retrying either way.
	ReportHealth(instance normalize.InstanceName, problem error)
}

// ReportHealth passes a connector's health to sink when sink hears it.
func ReportHealth(sink Sink, instance normalize.InstanceName, problem error) {
	if h, ok := sink.(HealthSink); ok {
		h.ReportHealth(instance, problem)
	}
}
