// Package webchat owns the web live chat: the player page at the configured path, the
// embeddable widget (widget.js) that opens it in an iframe on the casino's site, the signed
// visitor and player tokens that say who is chatting, and the two transports that carry JSON
// frames both ways (a WebSocket at {path}/ws and an HTTP long-poll fallback under {path}/api/).
//
// A player message is acknowledged to the page only after Sink.Deliver returned nil, and its
// ExternalID is "<address>:<client_id>", so a page that resends its unacknowledged outbox after
// a reconnect is deduplicated by the store. Agent replies (Send) and typing hints (Typing) are
// pushed to every page open on the conversation's address on this process; a page that is not
// open sees them in the history the next time it says hello.
//
// The conversation address is "player:<player_id>" when the casino identified the player with a
// signed player token (one conversation across devices) and "visitor:<id>" otherwise. Log lines
// carry the address under the key conv (the gateway's conversation ID is not known here until
// the store created it); the logger handed in already carries the channel key.
//
// The wire protocol and the token scheme are documented in docs/webchat.md.
package webchat
