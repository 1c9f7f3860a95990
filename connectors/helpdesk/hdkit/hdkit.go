// Package hdkit holds the small pieces every remote helpdesk backend needs alike (Zendesk,
// Freshdesk, Zammad and the like): a bounded memo of look-ups, striped locks that make one
// conversation's posts or one ticket's reads take turns, a request context that also ends
// with Run's, a poll cursor kept in the gateway's store, and the poll loop that reports the
// connector's health. A backend keeps its own protocol; these keep their behaviour the same.
package hdkit

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

// MaxMemo bounds a Memo; when full it starts over, which costs look-ups, never correctness.
const MaxMemo = 10000

// Memo remembers values looked up once (users rarely change role, a stale name only shows
// on a reply). The zero value is ready; it is safe for concurrent use.
type Memo[K comparable, V any] struct {
	mu sync.Mutex
	m  map[K]V
}

// Get returns the value remembered for k.
func (m *Memo[K, V]) Get(k K) (V, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.m[k]
	return v, ok
}

// Put remembers v for k.
func (m *Memo[K, V]) Put(k K, v V) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil || len(m.m) >= MaxMemo {
		m.m = map[K]V{}
	}
	m.m[k] = v
}

// Delete forgets k.
func (m *Memo[K, V]) Delete(k K) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.m, k)
}

// Stripes are striped locks: their number stays fixed however many keys there are, and two
// keys sharing a stripe only wait for each other. The zero value is ready.
type Stripes struct{ mu [256]sync.Mutex }

// Lock locks the stripe of key and returns its unlock.
func (s *Stripes) Lock(key string) (unlock func()) {
	f := fnv.New32a()
	_, _ = f.Write([]byte(key))
	mu := &s.mu[f.Sum32()%uint32(len(s.mu))]
	mu.Lock()
	return mu.Unlock
}

// LockID locks the stripe of a numeric id and returns its unlock.
func (s *Stripes) LockID(id int64) (unlock func()) {
	mu := &s.mu[uint64(id)%uint64(len(s.mu))]
	mu.Lock()
	return mu.Unlock
}

// MergeCancel returns a context of a webhook's request that also ends when Run's does, so a
// shutdown does not wait for a hook's look-ups.
func MergeCancel(req, run context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(req)
	stop := context.AfterFunc(run, func() { cancel(context.Cause(run)) })
	return ctx, func() {
		stop()
		cancel(nil)
	}
}

// saveTimeout bounds storing a cursor after the poll's context ended.
const saveTimeout = 5 * time.Second

// Cursor is a poller's position, kept in the gateway's store (Store nil: in memory only),
// so a restart goes on where it stopped. The zero value with Store, Instance and Key set is
// ready; it is safe for concurrent use.
type Cursor struct {
	Store    connectors.Cursors
	Instance normalize.InstanceName
	Key      string

	mu     sync.Mutex
	value  string
	loaded bool
}

// Load returns the cursor, read from the store the first time.
func (c *Cursor) Load(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.loaded || c.Store == nil {
		return c.value, nil
	}
	v, err := c.Store.Cursor(ctx, c.Instance, c.Key)
	if err != nil {
		return "", fmt.Errorf("load the cursor %s: %w", c.Key, err)
	}
	c.value, c.loaded = v, true
	return v, nil
}

// Save stores the cursor, even when ctx has just ended (the work before it is done).
func (c *Cursor) Save(ctx context.Context, v string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.value, c.loaded = v, true
	if c.Store == nil {
		return nil
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), saveTimeout)
	defer cancel()
	if err := c.Store.SetCursor(sctx, c.Instance, c.Key, v); err != nil {
		return fmt.Errorf("save the cursor %s: %w", c.Key, err)
	}
	return nil
}

// PollLoop calls once every interval until ctx ends and reports the connector's health by
// its outcome: refused credentials as an error naming them, other failures as a warning.
// what names the remote in the log lines ("zammad").
func PollLoop(ctx context.Context, sink connectors.Sink, instance normalize.InstanceName, interval time.Duration, log *slog.Logger, what string, once func(context.Context) error) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		err := once(ctx)
		switch {
		case ctx.Err() != nil:
		case connectors.IsUnauthorized(err):
			log.ErrorContext(ctx, what+": the helpdesk refuses the gateway's credentials; check them and their permissions", "helpdesk", instance, "err", err)
			connectors.ReportHealth(sink, instance, err)
		case err != nil:
			log.WarnContext(ctx, what+": poll failed", "helpdesk", instance, "err", err)
			connectors.ReportHealth(sink, instance, err)
		default:
			connectors.ReportHealth(sink, instance, nil)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
