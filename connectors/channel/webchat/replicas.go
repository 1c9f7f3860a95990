package webchat

import (
	"context"
	"encoding/json"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

// With several replicas (Deps.Notices), a player's pages may be open on one replica while
// another delivers the agent's reply or takes the player's message from another tab. Each
// frame pushed to an address goes to this replica's pages directly and, as a notice, to the
// other replicas, which push it to theirs.

// notice is a frame for the pages open on an address, as one replica tells the others.
type notice struct {
	// Replica is the replica that pushed the frame to its own pages already.
	Replica string            `json:"replica"`
	Address normalize.Address `json:"addr"`
	Frame   json.RawMessage   `json:"frame,omitempty"`
	// Reply is the agent reply the frame carries: receipts for it then need no store look-up
	// on the replica the page is open on.
	Reply normalize.MessageID `json:"reply,omitempty"`
	// Resync replaces a frame too large for a notice: the pages on Address reconnect and
	// reload the history, where the frame's message is stored already.
	Resync bool `json:"resync,omitempty"`
}

// noticeTopic is the chat's topic: only the same instance on other replicas hears it.
func (c *Channel) noticeTopic() string {
	return "webchat/" + string(c.name)
}

// push sends frame to every page open on addr, on this replica (except the connection
// except) and on the others, and returns how many pages of this replica it reached. reply
// names the agent reply the frame carries, if any.
func (c *Channel) push(ctx context.Context, addr normalize.Address, frame []byte, except *pageConn, reply normalize.MessageID) int {
	pages := c.hub.publish(addr, frame, except)
	if c.notices == nil {
		return pages
	}
	n := notice{Replica: c.replica, Address: addr, Frame: frame, Reply: reply}
	payload, _ := json.Marshal(n) // strings and a frame encode made
	if len(payload)+len(c.noticeTopic()) > connectors.MaxNotice {
		n.Frame, n.Resync = nil, true
		payload, _ = json.Marshal(n)
	}
	if err := c.notices.Publish(ctx, c.noticeTopic(), string(payload)); err != nil {
		// A hint: the player's pages on other replicas see it in the history when they
		// reconnect or reload.
		c.log.Warn("frame not passed to the other replicas", "conv", addr, "err", err)
	}
	return pages
}

// heard pushes another replica's frame to this replica's pages.
func (c *Channel) heard(payload string) {
	if payload == "" {
		// Notices may have been lost: every page rereads the history.
		c.hub.resyncAll("catching up after a lost connection between replicas")
		return
	}
	var n notice
	if err := json.Unmarshal([]byte(payload), &n); err != nil {
		c.log.Warn("notice from another replica not understood", "err", err)
		return
	}
	switch {
	case n.Replica == c.replica:
		// This replica pushed it to its pages already.
	case n.Resync:
		c.hub.resync(n.Address, "a reply too large to pass between replicas; reloading")
	default:
		if n.Reply != "" {
			c.replies.add(n.Reply, n.Address, c.now())
		}
		c.hub.publish(n.Address, n.Frame, nil)
	}
}
