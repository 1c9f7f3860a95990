// Package webhook is the generic signed-webhook helpdesk: it connects any ticket system that
// can receive and send HTTP requests, without a connector of its own.
//
// Outgoing, the gateway POSTs signed JSON events (conversation.opened, message.created,
// conversation.updated for metadata the gateway noticed) to the operator's URL with an
// idempotency key, retried by the router until a 2xx; with batch_events, several events of a
// ticket go as one events.batch, each keeping its own ID. Incoming, the operator's system sends
// agents' replies, notes, status changes and assignments either as signed events to
// /hooks/{instance} or with a bearer token to /api/v1/helpdesks/{instance}/events (bare
// replies also to .../replies); all are idempotent on the operator's reply or event ID.
// Players' attachments are offered as signed, expiring download links served under
// /hooks/{instance}/attachments/; agents' replies carry theirs inline in base64, checked
// against their declared media type and stored in the blob store before the reply. The
// contract is docs/webhook-openapi.yaml.
package webhook
