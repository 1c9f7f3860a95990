package email_test

import (
	"context"
	"sync"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

// memCursors is connectors.Cursors in memory.
type memCursors struct {
	mu sync.Mutex
	m  map[string]string
}

var _ connectors.Cursors = (*memCursors)(nil)

func (c *memCursors) Cursor(_ context.Context, instance normalize.InstanceName, key string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[string(instance)+"/"+key], nil
}

func (c *memCursors) SetCursor(_ context.Context, instance normalize.InstanceName, key, value string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]string{}
	}
	c.m[string(instance)+"/"+key] = value
	return nil
}

// forget sets the cursor at key to a UIDVALIDITY no mailbox has, as after a rebuilt mailbox.
func (c *memCursors) forget(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]string{}
	}
	c.m[key] = "v1 1 0 999"
}
