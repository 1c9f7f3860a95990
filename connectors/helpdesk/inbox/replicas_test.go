package inbox

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
)

// busNotices is router/store/wake in one process: every subscriber hears every notice of its
// topic, the publisher's own included.
type busNotices struct {
	mu   sync.Mutex
	subs map[chan string]string // channel → topic
}

func (b *busNotices) Publish(ctx context.Context, topic, payload string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch, t := range b.subs {
		if t == topic {
			ch <- payload
		}
	}
	return nil
}

func (b *busNotices) Subscribe(topic string) (<-chan string, func()) {
	ch := make(chan string, 64)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.subs[ch] = topic
	return ch, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		delete(b.subs, ch)
	}
}

// lost plays the listener's reconnect: every subscriber hears the empty notice.
func (b *busNotices) lost() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		ch <- ""
	}
}

// TestListsHearChangesOfOtherReplicas: a player's message taken in by replica B, and a
// conversation forgotten there, reach the open lists of replica A, each once; after A's
// listener reconnected (the empty notice), A's lists refetch everything.
func TestListsHearChangesOfOtherReplicas(t *testing.T) {
	bus := &busNotices{subs: map[chan string]string{}}
	withBus := func(_ *Config, d *Deps) { d.Notices = bus }
	a, b := newFixture(t, withBus), newFixture(t, withBus)
	changes, ok := a.in.events.subscribe()
	require.True(t, ok)
	defer a.in.events.unsubscribe(changes)
	heard := func() normalize.ConversationID {
		t.Helper()
		select {
		case c := <-changes:
			return c
		case <-time.After(5 * time.Second):
			t.Fatal("the list on replica A heard nothing")
			return ""
		}
	}

	b.post(b.conv("c1", lena), playerMsg("m1", "my withdrawal", t0))
	require.Equal(t, normalize.ConversationID("c1"), heard())

	a.post(a.conv("c2", lena), playerMsg("m2", "and my bonus", t0))
	require.Equal(t, normalize.ConversationID("c2"), heard())
	select {
	case c := <-changes:
		t.Fatalf("heard %q twice: its own notice too", c)
	case <-time.After(200 * time.Millisecond):
	}

	require.NoError(t, b.in.Forget(t.Context(), []normalize.ConversationID{"c1", "c3"}))
	require.Equal(t, normalize.ConversationID(""), heard(), "several forgotten: every page refetches")

	bus.lost()
	require.Equal(t, normalize.ConversationID(""), heard())
}
