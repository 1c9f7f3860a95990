// Package webhook is the generic signed-webhook helpdesk: it connects any ticket system that
// can receive and send HTTP requests, without a connector of its own.
//
// Outgoing, the gateway POSTs signed JSON events (conversation.opened, message.created) to the
// operator's URL with an idempotency key, retried by the router until a 2xx. Incoming, the
// operator's system sends agents' replies either as signed events to /hooks/{instance} or with
// a bearer token to /api/v1/helpdesks/{instance}/replies; both are idempotent on its reply ID.
// Attachments are offered as signed, expiring download links served under
// /hooks/{instance}/attachments/. The contract is docs/webhook-openapi.yaml.
package webhook
