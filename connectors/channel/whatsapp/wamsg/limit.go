package wamsg

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/casino-support/gateway/normalize"
)

// Limiter paces sends: at most perChat messages a second per conversation and global in all,
// so the gateway never bursts like a bulk sender (WhatsApp bans linked devices that do, and the
// Cloud API refuses a pair's messages beyond about one every six seconds with error 131056).
// It is safe for concurrent use.
type Limiter struct {
	mu      sync.Mutex
	perChat rate.Limit
	burst   int
	global  *rate.Limiter
	chats   map[normalize.Address]*chatLimiter
}

type chatLimiter struct {
	lim  *rate.Limiter
	used time.Time
}

// idleChat is how long a conversation's limiter is kept at least after its last send; past
// it (and the time its burst takes to refill), the limiter is full again anyway and only
// takes memory.
const idleChat = 10 * time.Minute

// NewLimiter returns a limiter of perChat messages a second per conversation and global a
// second in all, each allowing burst at once (at least 1).
func NewLimiter(perChat, global rate.Limit, burst int) *Limiter {
	burst = max(burst, 1)
	return &Limiter{
		perChat: perChat,
		burst:   burst,
		global:  rate.NewLimiter(global, burst),
		chats:   map[normalize.Address]*chatLimiter{},
	}
}

// Wait blocks until one message to address may go, or ctx ends.
func (l *Limiter) Wait(ctx context.Context, address normalize.Address) error {
	if err := l.chat(address).Wait(ctx); err != nil {
		return err
	}
	return l.global.Wait(ctx)
}

// chat returns address's limiter, forgetting those idle long enough to be full again.
func (l *Limiter) chat(address normalize.Address) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if len(l.chats) > 1024 {
		idle := idleChat
		if l.perChat > 0 && l.perChat != rate.Inf {
			idle = max(idle, time.Duration(float64(l.burst)/float64(l.perChat)*float64(time.Second)))
		}
		for a, c := range l.chats {
			if now.Sub(c.used) > idle {
				delete(l.chats, a)
			}
		}
	}
	c, ok := l.chats[address]
	if !ok {
		c = &chatLimiter{lim: rate.NewLimiter(l.perChat, l.burst)}
		l.chats[address] = c
	}
	c.used = now
	return c.lim
}
