package telegram

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
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

// wait blocks until both the chat's and the bot's limiter allow one message, or ctx ends.
func (c *Channel) wait(ctx context.Context, chatID int64) error {
	if err := c.perChat.get(chatID).Wait(ctx); err != nil {
		return err
	}
	return c.global.Wait(ctx)
}
