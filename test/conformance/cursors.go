package conformance

import (
	"context"
	"sync"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

// MemCursors is an in-memory connectors.Cursors, the gateway store's cursors for a poller
// under test, so that a test can restart a poller on what the one before stored. The zero
// value is ready; it is safe for concurrent use.
type MemCursors struct {
	mu sync.Mutex
	m  map[string]string
}

var _ connectors.Cursors = (*MemCursors)(nil)

// Cursor returns the cursor stored under instance and key, "" when there is none.
func (c *MemCursors) Cursor(_ context.Context, instance normalize.InstanceName, key string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[string(instance)+"/"+key], nil
}

// SetCursor stores value under instance and key.
func (c *MemCursors) SetCursor(_ context.Context, instance normalize.InstanceName, key, value string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]string{}
	}
	c.m[string(instance)+"/"+key] = value
	return nil
}
