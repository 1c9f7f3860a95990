// Package loopback plays the remote side of the loopback connectors in tests: a player app
// that receives replies (FakeChannelRemote) and a ticket system (FakeHelpdeskRemote), with
// idempotency and fault injection, and clients that play a player's app and an agent's
// ticket system calling a running gateway's hooks. The connectors themselves live in
// connectors/channel/loopback and connectors/helpdesk/loopback, the protocol they share in
// connectors/loopbackwire; its bodies are aliased here so tests name them in one place.
package loopback

import "github.com/casino-support/gateway/connectors/loopbackwire"

// The loopback protocol's bodies.
type (
	Inbound        = loopbackwire.Inbound
	PlayerMessage  = loopbackwire.PlayerMessage
	Accepted       = loopbackwire.Accepted
	Outbound       = loopbackwire.Outbound
	IDResponse     = loopbackwire.IDResponse
	TicketRequest  = loopbackwire.TicketRequest
	TicketResponse = loopbackwire.TicketResponse
	MessageRequest = loopbackwire.MessageRequest
	Reply          = loopbackwire.Reply
)

// MaxHookMessages caps the messages of one Inbound request.
const MaxHookMessages = loopbackwire.MaxHookMessages
