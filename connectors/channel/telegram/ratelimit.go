package telegram

import (
	"context"
	"errors"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/casino-support/gateway/connectors"
)

// chatLimiters holds one limiter per chat, for Telegram's "about one message per second per
// chat". Limiters idle for a minute are forgotten, so the map does not grow with every player
// ever answered.
type chatLimiters struct {
	mu    sync.Mutex
	every rate.Limit
	burst int
	chats map[int64]*chatLimiter
}

type chatLimiter struct {
	lim  *rate.Limiter
	used time.Time
}

func newChatLimiters(perSecond rate.Limit, burst int) *chatLimiters {
	return &chatLimiters{every: perSecond, burst: burst, chats: map[int64]*chatLimiter{}}
}

// get returns chatID's limiter.
func (l *chatLimiters) get(chatID int64) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if len(l.chats) > 1024 {
		for id, c := range l.chats {
			if now.Sub(c.used) > time.Minute {
				delete(l.chats, id)
			}
		}
	}
	c, ok := l.chats[chatID]
	if !ok {
		c = &chatLimiter{lim: rate.NewLimiter(l.every, l.burst)}
		l.chats[chatID] = c
	}
	c.used = now
	return c.lim
}

// maxWait is the longest a send waits for the limiters itself. A longer wait (a second reply
// to a chat within Telegram's second) is handed back to the router as a retry-after: sleeping
// through it would hold one of the router's delivery workers, and with enough chats waiting,
// all of them, while other conversations' replies could go out.
const maxWait = 100 * time.Millisecond

// errRateLimited is what a wait handed back to the router wraps.
var errRateLimited = errors.New("rate limit of the Bot API (per chat or per bot)")

// wait blocks until both the chat's and the bot's limiter allow one message, or ctx ends. When
// that is more than maxWait away it takes nothing from either and returns a
// connectors.RetryAfter for the time the limiters need.
func (c *Channel) wait(ctx context.Context, chatID int64) error {
	chat, bot := c.perChat.get(chatID).Reserve(), c.global.Reserve()
	d := max(chat.Delay(), bot.Delay())
	if d > maxWait {
		chat.Cancel()
		bot.Cancel()
		return connectors.RetryAfter(d, errRateLimited)
	}
	if d > 0 && !connectors.Sleep(ctx, d) {
		chat.Cancel()
		bot.Cancel()
		return ctx.Err()
	}
	return nil
}
