package rt

import (
	"context"
	"sync"
)

// memoSize bounds each memo: a gateway runs for months and meets new tickets every minute.
const memoSize = 10000

// memo remembers looked-up values by key. When full it forgets everything: memory stays
// bounded at the cost of some look-ups again, and nothing it holds is ever wrong for long
// enough to matter (requestors and user names rarely change).
type memo[K comparable, V any] struct {
	mu sync.Mutex
	m  map[K]V
}

// note remembers v for k unless something is remembered already.
func (c *memo[K, V]) note(k K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[k]; ok {
		return
	}
	if c.m == nil || len(c.m) >= memoSize {
		c.m = map[K]V{}
	}
	c.m[k] = v
}

// get returns the value of k, looking it up with load when it is not remembered.
func (c *memo[K, V]) get(ctx context.Context, k K, load func(context.Context, K) (V, error)) (V, error) {
	c.mu.Lock()
	v, ok := c.m[k]
	c.mu.Unlock()
	if ok {
		return v, nil
	}
	v, err := load(ctx, k)
	if err != nil {
		return v, err
	}
	c.note(k, v)
	return v, nil
}
