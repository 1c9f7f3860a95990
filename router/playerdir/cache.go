package playerdir

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/casino-support/gateway/connectors/ratelog"
)

// CacheOptions tune a Cache; zero values take the defaults.
type CacheOptions struct {
	// TTL is how long a found player is remembered; default 10 minutes.
	TTL time.Duration
	// NegativeTTL is how long an unknown player, or a directory that failed, is remembered as
	// unknown, so a failing directory costs each player one budget per NegativeTTL rather than
	// one per message; default 1 minute.
	NegativeTTL time.Duration
	// Budget is the longest a look-up holds up its message; the question goes on in the
	// background up to Timeout and fills the cache for the player's next message. Default
	// 300 ms.
	Budget time.Duration
	// Timeout bounds one question to the source; default 10 s.
	Timeout time.Duration
	// MaxEntries bounds the cache; past it expired entries go, then all. Default 100,000.
	MaxEntries int
	// Now is the clock of the TTLs; nil is time.Now.
	Now func() time.Time
}

func (o *CacheOptions) defaults() {
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
	}{{&o.TTL, 10 * time.Minute}, {&o.NegativeTTL, time.Minute}, {&o.Budget, 300 * time.Millisecond}, {&o.Timeout, 10 * time.Second}} {
		if *d.v <= 0 {
			*d.v = d.def
		}
	}
	if o.MaxEntries <= 0 {
		o.MaxEntries = 100_000
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Cache answers from memory what its source said recently, and asks the source at most once
// at a time per player.
type Cache struct {
	src     Source
	opts    CacheOptions
	log     *slog.Logger
	logs    *ratelog.Limiter
	metrics *metrics

	mu       sync.Mutex
	entries  map[Query]entry
	inflight map[Query]*call
}

type entry struct {
	player  Player
	found   bool
	expires time.Time
}

// call is one question to the source that several look-ups may wait for.
type call struct {
	done  chan struct{}
	entry entry
}

// NewCache returns a cache in front of src. The cache is a prometheus.Collector of its
// look-up metrics (metrics.go): register it to export them.
func NewCache(src Source, opts CacheOptions, log *slog.Logger) *Cache {
	opts.defaults()
	return &Cache{src: src, opts: opts, log: log, logs: ratelog.New(logEvery, opts.Now), metrics: newMetrics(),
		entries: map[Query]entry{}, inflight: map[Query]*call{}}
}

// Lookup returns the player q names and whether the directory knows them. It returns within
// the budget (or sooner when ctx ends): a directory that is slow, down or does not know the
// player all come out as not found, and the message goes on without the player's details.
func (c *Cache) Lookup(ctx context.Context, q Query) (Player, bool) {
	key := q.key()
	c.mu.Lock()
	if e, ok := c.entries[key]; ok && c.opts.Now().Before(e.expires) {
		c.mu.Unlock()
		c.metrics.lookups.WithLabelValues(OutcomeCache).Inc()
		return e.player, e.found
	}
	cl, asking := c.inflight[key]
	if !asking {
		cl = &call{done: make(chan struct{})}
		c.inflight[key] = cl
		// The question outlives the message's context and budget: its answer is for the
		// player's next message when it comes too late for this one.
		go c.ask(context.WithoutCancel(ctx), key, q, cl)
	}
	c.mu.Unlock()
	budget := time.NewTimer(c.opts.Budget)
	defer budget.Stop()
	select {
	case <-cl.done:
		return cl.entry.player, cl.entry.found
	case <-budget.C:
		c.metrics.overBudget.Inc()
		c.warn("player directory over its budget; the message goes on without the player's details",
			"channel", q.Channel, "budget", c.opts.Budget)
	case <-ctx.Done():
	}
	return Player{}, false
}

func (c *Cache) ask(ctx context.Context, key, q Query, cl *call) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	start := time.Now()
	p, err := c.src.Lookup(ctx, q)
	if err != nil && ctx.Err() != nil {
		// The source's own error may be anything once its context ran out (a cancelled
		// request, a closed body); it was the timeout.
		err = fmt.Errorf("%w: %w", context.DeadlineExceeded, err)
	}
	outcome := outcomeOf(err)
	c.metrics.lookups.WithLabelValues(outcome).Inc()
	c.metrics.latency.WithLabelValues(outcome).Observe(time.Since(start).Seconds())
	e := entry{player: p, found: err == nil, expires: c.opts.Now().Add(c.opts.TTL)}
	if err != nil {
		e = entry{expires: c.opts.Now().Add(c.opts.NegativeTTL)}
		if outcome != OutcomeMiss {
			c.warn("player directory failed; its players go on without their details", "outcome", outcome, "channel", q.Channel, "err", err)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.opts.MaxEntries {
		c.evict()
	}
	c.entries[key] = e
	if e.found && key.PlayerID == "" {
		// The player's ID now answers for them too (a later message from a web chat that
		// carries it).
		c.entries[Query{PlayerID: p.PlayerID}] = e
	}
	delete(c.inflight, key)
	cl.entry = e
	close(cl.done)
}

// evict drops expired entries, and everything when none had expired; c.mu is held.
func (c *Cache) evict() {
	now := c.opts.Now()
	for k, e := range c.entries {
		if !now.Before(e.expires) {
			delete(c.entries, k)
		}
	}
	if len(c.entries) >= c.opts.MaxEntries {
		clear(c.entries)
	}
}
