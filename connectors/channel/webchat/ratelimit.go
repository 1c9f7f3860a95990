package webchat

import (
	"errors"
	"io"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/casino-support/gateway/normalize"
)

const (
	// maxBurst is the most messages a player may send at once before the per-minute rate
	// applies: enough for "hi" + "I have a problem" + a screenshot, too few to flood a ticket.
	maxBurst = 5
	// framesPerSecond and frameBurst bound everything else a page sends (receipts, typing,
	// hellos): each receipt may cost a store write and each hello a history read, so a script
	// must not be able to spin on them.
	framesPerSecond = 10
	frameBurst      = 60
	// bucketSweep spaces the clean-ups of unused limits.
	bucketSweep = time.Minute
)

// limiters holds the chat's rate limits: per conversation (keyed by address, so a player with
// several tabs or devices shares one budget) and per client address (connectors.ClientKey),
// which bounds what a script starting a new visitor for every message can do.
type limiters struct {
	messages *buckets[normalize.Address] // cfg.MessagesPerMinute, small burst
	frames   *buckets[normalize.Address]
	// Per client address; bursts are the whole budget, since one address may be a NAT pool
	// of unrelated players whose traffic comes in lumps.
	visitors    *buckets[string]
	addrMsgs    *buckets[string]
	uploadBytes *buckets[string]
}

func newLimiters(cfg Config) *limiters {
	perMinute := max(cfg.MessagesPerMinute, 1)
	visitors := max(cfg.PerAddress.NewVisitorsPerMinute, 1)
	addrMsgs := max(cfg.PerAddress.MessagesPerMinute, 1)
	// rate.Limiter counts in int; a budget past it (on 32-bit platforms) is as good as none.
	upload := int(min(max(cfg.PerAddress.UploadBytesPerHour, 1), math.MaxInt))
	return &limiters{
		messages:    newBuckets[normalize.Address](rate.Limit(float64(perMinute)/60), min(perMinute, maxBurst)),
		frames:      newBuckets[normalize.Address](framesPerSecond, frameBurst),
		visitors:    newBuckets[string](rate.Limit(float64(visitors)/60), visitors),
		addrMsgs:    newBuckets[string](rate.Limit(float64(addrMsgs)/60), addrMsgs),
		uploadBytes: newBuckets[string](rate.Limit(float64(upload)/3600), upload),
	}
}

// buckets is one token bucket per key, made on first use. A bucket that has filled up again
// is the same as a new one, so the sweep drops it; what stays is bounded by the keys active
// within one refill time.
type buckets[K comparable] struct {
	mu        sync.Mutex
	limit     rate.Limit
	burst     int
	m         map[K]*rate.Limiter
	lastSweep time.Time
}

func newBuckets[K comparable](limit rate.Limit, burst int) *buckets[K] {
	return &buckets[K]{limit: limit, burst: burst, m: map[K]*rate.Limiter{}}
}

// allow takes n tokens from key's bucket if it holds them, and reports whether it did; a
// refusal takes nothing.
func (b *buckets[K]) allow(key K, now time.Time, n int) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.get(key, now).AllowN(now, n)
}

// tokens returns what key's bucket holds at now.
func (b *buckets[K]) tokens(key K, now time.Time) float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	if l := b.m[key]; l != nil {
		return l.TokensAt(now)
	}
	return float64(b.burst)
}

// get returns key's bucket; the caller holds mu.
func (b *buckets[K]) get(key K, now time.Time) *rate.Limiter {
	if now.Sub(b.lastSweep) > bucketSweep {
		b.lastSweep = now
		for k, l := range b.m {
			if l.TokensAt(now) >= float64(b.burst) {
				delete(b.m, k)
			}
		}
	}
	l := b.m[key]
	if l == nil {
		l = rate.NewLimiter(b.limit, b.burst)
		b.m[key] = l
	}
	return l
}

// errUploadBudget is what a metered upload fails with once its address's
// per_address.upload_bytes_per_hour is spent.
var errUploadBudget = errors.New("webchat: the address's upload budget is spent")

// meter returns r, whose bytes are taken from client's upload budget as they are read: a file
// without a declared length, or one racing others from the same address, is cut off mid-way
// and the blob store discards what it had.
func (c *Channel) meter(client string, r io.Reader) io.Reader {
	return &metered{r: r, c: c, client: client}
}

type metered struct {
	r      io.Reader
	c      *Channel
	client string
}

func (m *metered) Read(p []byte) (int, error) {
	n, err := m.r.Read(p)
	if n > 0 && !m.c.limits.uploadBytes.allow(m.client, m.c.now(), n) {
		return n, errUploadBudget
	}
	return n, err
}
