// Package loopback owns the gateway's test connectors and the fake remote systems they talk
// to. The gateway binary ships Channel and Helpdesk as connector type "loopback" so the whole
// pipeline (hook → store → worker → HTTP target) can be exercised end to end over real HTTP
// without any third-party account; FakeChannelRemote and FakeHelpdeskRemote play the remote
// side inside a test process, with idempotency and fault injection, while the gateway runs as
// a separate binary.
//
// Wire formats (all JSON):
//
//	player → hook:         POST /hooks/{channel}  Inbound{messages: [PlayerMessage...]}
//	channel → remote:      POST {send_url}        Outbound, Idempotency-Key: message ID
//	helpdesk → remote:     POST {url}/tickets     TicketRequest, Idempotency-Key: conversation ID
//	                       POST {url}/tickets/{ticket}/messages  MessageRequest, Idempotency-Key: message ID
//	agent → hook:          POST /hooks/{helpdesk} Reply
//
// The package imports nothing of "testing", so linking it into the gateway costs nothing.
package loopback
