// Package cloud owns the WhatsApp Business Cloud API channel (type whatsapp-cloud): one
// business phone number on Meta's Cloud API. Players' messages arrive as signed webhook POSTs
// at /hooks/{instance} (webhook.go: the verification handshake, X-Hub-Signature-256, 200 only
// once stored); they are read from the webhook's JSON (payload.go, convert.go) and converted
// by the shared connectors/channel/whatsapp/wamsg, which fetches media through the Graph API
// (GET /{media-id}, then its URL with the access token). Statuses of replies become receipts
// and failures (status.go). Agents' replies go out through POST /{phone_number_id}/messages,
// attachments uploaded first to /{phone_number_id}/media (send.go), paced by wamsg.Limiter,
// and only within the player's 24-hour customer-service window (window.go): outside it a
// configured template goes instead, or the agents are told that one is needed.
//
// Meta's documentation this follows: the webhooks guide and the messages webhook reference
// (developers.facebook.com/documentation/business-messaging/whatsapp/webhooks), the
// Messages API and media references (/messages, /media), the customer-service window and
// template messages, and the error codes reference (support/error-codes). The operator's
// side is docs/whatsapp.md.
package cloud
