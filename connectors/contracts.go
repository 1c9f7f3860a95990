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

// Readier is implemented by connectors that know whether they are working; /readyz reports
// the first error.
type Readier interface {
	Ready(ctx context.Context) error
}

// Blobs stores attachment content. Connectors store what they download before Deliver and
// read it back when sending; messages carry only the returned reference.
type Blobs interface {
	// Put stores r and returns the attachment with Size, SHA256 and BlobRef filled in. Content
	// over the configured limit fails with an error wrapping ErrTooLarge and is not kept.
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

// Typer is implemented by channels that can show the player that an agent is typing. It is
// a hint: failures are not retried and nothing is stored.
type Typer interface {
	Typing(ctx context.Context, conv normalize.Conversation) error
}
