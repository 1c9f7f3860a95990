package hdkit

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
)

func TestMemoBounded(t *testing.T) {
	var m Memo[int, int]
	for i := range MaxMemo + 1 {
		m.Put(i, i)
	}
	_, old := m.Get(0)
	require.False(t, old, "a full memo starts over")
	v, ok := m.Get(MaxMemo)
	require.True(t, ok)
	require.Equal(t, MaxMemo, v)
	m.Delete(MaxMemo)
	_, ok = m.Get(MaxMemo)
	require.False(t, ok)
}

func TestStripesSerialiseOneKey(t *testing.T) {
	var s Stripes
	var wg sync.WaitGroup
	inside, most := 0, 0
	var mu sync.Mutex
	for range 20 {
		wg.Go(func() {
			unlock := s.Lock("conv-1")
			defer unlock()
			mu.Lock()
			inside++
			most = max(most, inside)
			mu.Unlock()
			time.Sleep(time.Millisecond)
			mu.Lock()
			inside--
			mu.Unlock()
		})
	}
	wg.Wait()
	require.Equal(t, 1, most, "posts of one key take turns")
	unlock := s.LockID(42)
	unlock()
}

func TestMergeCancelEndsWithRun(t *testing.T) {
	run, stop := context.WithCancelCause(context.Background())
	ctx, cancel := MergeCancel(context.Background(), run)
	defer cancel()
	stop(errors.New("shutdown"))
	<-ctx.Done()
	require.EqualError(t, context.Cause(ctx), "shutdown")
}

type memStore struct{ m map[string]string }

func (s *memStore) Cursor(_ context.Context, _ normalize.InstanceName, key string) (string, error) {
	return s.m[key], nil
}

func (s *memStore) SetCursor(_ context.Context, _ normalize.InstanceName, key, v string) error {
	s.m[key] = v
	return nil
}

func TestCursorKeptInTheStore(t *testing.T) {
	store := &memStore{m: map[string]string{"k": "before"}}
	c := &Cursor{Store: store, Instance: "hd", Key: "k"}
	v, err := c.Load(t.Context())
	require.NoError(t, err)
	require.Equal(t, "before", v)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	require.NoError(t, c.Save(ctx, "after"), "saved though the poll's context ended")
	require.Equal(t, "after", store.m["k"])
	restarted := &Cursor{Store: store, Instance: "hd", Key: "k"}
	v, err = restarted.Load(t.Context())
	require.NoError(t, err)
	require.Equal(t, "after", v)
}
