package email_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

// memCursors is connectors.Cursors and connectors.Records in memory: the gateway's store
// as far as the channel uses it.
type memCursors struct {
	mu      sync.Mutex
	m       map[string]string
	records map[string]connectors.Record // by instance/key
}

var (
	_ connectors.Cursors = (*memCursors)(nil)
	_ connectors.Records = (*memCursors)(nil)
)

func (c *memCursors) PutRecord(_ context.Context, instance normalize.InstanceName, key, value string, expires time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.records == nil {
		c.records = map[string]connectors.Record{}
	}
	c.records[string(instance)+"/"+key] = connectors.Record{Key: key, Value: value, Expires: expires}
	return nil
}

func (c *memCursors) Record(_ context.Context, instance normalize.InstanceName, key string) (string, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.records[string(instance)+"/"+key]
	if !ok || !time.Now().Before(r.Expires) {
		return "", false, nil
	}
	return r.Value, true, nil
}

func (c *memCursors) DeleteRecord(_ context.Context, instance normalize.InstanceName, key string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.records, string(instance)+"/"+key)
	return nil
}

func (c *memCursors) ListRecords(_ context.Context, instance normalize.InstanceName, prefix, after string, limit int) ([]connectors.Record, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []connectors.Record
	for k, r := range c.records {
		if strings.HasPrefix(k, string(instance)+"/"+prefix) && r.Key > after && time.Now().Before(r.Expires) {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b connectors.Record) int { return strings.Compare(a.Key, b.Key) })
	return out[:min(limit, len(out))], nil
}

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
