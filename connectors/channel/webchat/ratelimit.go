package webchat

import (
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/casino-support/gateway/normalize"
)

const (
	// maxBurst is the most messages a player may send at once before the per-minute rate
	// applies: enough for "hi" + "I have a problem" + a screenshot, too few to flood a ticket.
	maxBurst = 5
	// framesPerSecond and frameBurst bound everything else a page sends (receipts, typing):
	// each receipt may cost a store write, so a script must not be able to spin on them.
	framesPerSecond = 10
	frameBurst      = 60
	// limiterIdle is how long an unused conversation's limiters are kept; after it they are
	// full again anyway (the slowest rate, 1/min with a burst of 1, refills in a minute).
	limiterIdle = 10 * time.Minute
)

// limiters holds per-conversation rate limits. Keyed by address, so a player with several
// tabs or devices shares one budget.
type limiters struct {
	mu        sync.Mutex
	perMinute int
	m         map[normalize.Address]*limiterPair
	lastSweep time.Time
}

type limiterPair struct {
	messages *rate.Limiter
	frames   *rate.Limiter
	used     time.Time
}

func newLimiters(perMinute int) *limiters {
	return &limiters{perMinute: max(perMinute, 1), m: map[normalize.Address]*limiterPair{}}
}

// allowMessage takes one message from addr's budget (cfg.MessagesPerMinute, small burst).
func (l *limiters) allowMessage(addr normalize.Address, now time.Time) bool {
	return l.get(addr, now).messages.AllowN(now, 1)
}

// allowFrame takes one frame of any kind from addr's budget.
func (l *limiters) allowFrame(addr normalize.Address, now time.Time) bool {
	return l.get(addr, now).frames.AllowN(now, 1)
}

func (l *limiters) get(addr normalize.Address, now time.Time) *limiterPair {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) > limiterIdle {
		l.lastSweep = now
		for a, p := range l.m {
			if now.Sub(p.used) > limiterIdle {
				delete(l.m, a)
			}
		}
	}
	p := l.m[addr]
	if p == nil {
		p = &limiterPair{
			messages: rate.NewLimiter(rate.Limit(float64(l.perMinute)/60), min(l.perMinute, maxBurst)),
			frames:   rate.NewLimiter(framesPerSecond, frameBurst),
		}
		l.m[addr] = p
	}
	p.used = now
	return p
}
