package webchat

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

const (
	// lookupLimit is how far back a receipt or a download may reach into a thread: further
	// than the history a page shows, so a long-open page still works.
	lookupLimit = 500
	// replyMemory is how long Send remembers where it pushed a reply.
	replyMemory = time.Minute
)

// recentReplies remembers which address Send pushed each reply to, for a minute: receipts for
// them need no store lookup to check ownership.
type recentReplies struct {
	mu        sync.Mutex
	m         map[normalize.MessageID]pushedReply
	lastSweep time.Time
}

type pushedReply struct {
	addr normalize.Address
	at   time.Time
}

func newRecentReplies() *recentReplies {
	return &recentReplies{m: map[normalize.MessageID]pushedReply{}}
}

func (r *recentReplies) add(id normalize.MessageID, addr normalize.Address, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now.Sub(r.lastSweep) > replyMemory {
		r.lastSweep = now
		for k, v := range r.m {
			if now.Sub(v.at) > replyMemory {
				delete(r.m, k)
			}
		}
	}
	r.m[id] = pushedReply{addr: addr, at: now}
}

func (r *recentReplies) get(id normalize.MessageID, now time.Time) (normalize.Address, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.m[id]
	if !ok || now.Sub(p.at) > replyMemory {
		return "", false
	}
	return p.addr, true
}

// receipt records that the player's page received or showed a reply. Only replies in the
// page's own conversation count: a page must not mark another player's messages read.
func (c *Channel) receipt(ctx context.Context, s session, id normalize.MessageID, state normalize.DeliveryState) *frameError {
	addr, recent := c.replies.get(id, c.now())
	if recent && addr != s.addr {
		recent = false // pushed to someone else: look it up like any other ID (and refuse it)
	}
	if !recent {
		owned, err := c.ownsReply(ctx, s.addr, id)
		if err != nil {
			c.log.Error("receipt not checked", "conv", s.addr, "msg_id", id, "err", err)
			return unavailable("")
		}
		if !owned {
			return &frameError{Code: codeNotFound, Message: "There is no such reply in this chat."}
		}
	}
	sink := c.sink()
	if sink == nil {
		return unavailable("")
	}
	receipts, ok := sink.(connectors.ReceiptSink)
	if !ok {
		// Only the router records receipts; a sink without them (a test's) stores none.
		return nil
	}
	err := receipts.Receipt(ctx, id, state)
	if errors.Is(err, connectors.ErrNotFound) {
		return &frameError{Code: codeNotFound, Message: "There is no such reply in this chat."}
	}
	if err != nil {
		c.log.Error("receipt not recorded", "conv", s.addr, "msg_id", id, "state", state, "err", err)
		return unavailable("")
	}
	return nil
}

// ownsReply reports whether id is an agent reply in addr's conversation.
func (c *Channel) ownsReply(ctx context.Context, addr normalize.Address, id normalize.MessageID) (bool, error) {
	msgs, err := c.messages(ctx, addr, lookupLimit)
	if err != nil {
		return false, err
	}
	for _, m := range msgs {
		if m.ID == id {
			return m.Direction == normalize.Outbound && !hidden(m), nil
		}
	}
	return false, nil
}
