package router_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router"
	"github.com/casino-support/gateway/router/store"
)

// scriptedHelpdesk accepts, on its nth Post, the first accept(n) messages of the batch and
// fails the rest with a transient error (-1 accepts them all).
type scriptedHelpdesk struct {
	mu     sync.Mutex
	accept func(n int) int
	calls  int
	posted []normalize.MessageID
}

func (h *scriptedHelpdesk) Run(ctx context.Context, _ connectors.Sink) error {
	<-ctx.Done()
	return nil
}

func (h *scriptedHelpdesk) Post(_ context.Context, conv normalize.Conversation, msgs []connectors.Delivery) (normalize.Ref, []normalize.ExternalID, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls++
	n := h.accept(h.calls)
	if n < 0 || n > len(msgs) {
		n = len(msgs)
	}
	var ids []normalize.ExternalID
	for _, m := range msgs[:n] {
		h.posted = append(h.posted, m.ID)
		ids = append(ids, normalize.ExternalID("hd-"+string(m.ID)))
	}
	var err error
	if n < len(msgs) {
		err = errors.New("HTTP 503")
	}
	return normalize.Ref("T-" + string(conv.ID)), ids, err
}

// A lane's failure count belongs to its head message. When an attempt delivers the head and
// fails on a later message, that message has failed once, however often the head failed
// before: it must neither be dead-lettered early nor inherit the head's back-off.
func TestFailureAfterPartialDeliveryCountsForTheNewHeadOnly(t *testing.T) {
	tests := []struct {
		name   string
		accept []int // per Post after the opening one: how many of the batch [m1, m2] it takes
	}{
		{"m2 fails once after the head failed twice", []int{0, 0, 1, -1}},
		{"m2 fails twice after the head failed twice", []int{0, 0, 1, 0, -1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const backoffMax = 2 * time.Millisecond
				f := newFixtureRun(t, router.Options{}, false)
				hd := &scriptedHelpdesk{accept: func(n int) int {
					if n == 1 || n-2 >= len(tc.accept) {
						return -1 // the opening message, and anything after the script
					}
					return tc.accept[n-2]
				}}
				r := router.New(f.st, nil, map[normalize.InstanceName]connectors.Helpdesk{"desk": hd}, router.Rules{Default: "desk"},
					router.Options{MaxAttempts: 3, BackoffBase: time.Millisecond, BackoffMax: backoffMax, PollInterval: 5 * time.Millisecond,
						Clock: f.clk},
					prometheus.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)))
				ctx, cancel := context.WithCancel(f.ctx)
				done := make(chan struct{})
				go func() { r.Run(ctx); close(done) }()
				t.Cleanup(func() { cancel(); <-done })

				require.NoError(t, r.Deliver(ctx, inbound("p", 0)))
				synctest.Wait()
				cs, err := f.st.Conversations(ctx, 1, store.ConversationsCursor{})
				require.NoError(t, err)
				require.Len(t, cs, 1)
				require.NotEmpty(t, cs[0].Ticket, "the opening message was posted")
				require.NoError(t, r.Deliver(ctx, inbound("p", 1), inbound("p", 2)))

				// Each failed attempt of the script is retried after a back-off of at most backoffMax.
				for range tc.accept {
					f.advance(backoffMax)
				}
				st, err := f.st.Stats(ctx)
				require.NoError(t, err)
				require.Zero(t, st.Queued[normalize.Inbound])
				dead, err := f.st.DeadLetters(ctx, 0, 10)
				require.NoError(t, err)
				require.Empty(t, dead, "m2 failed fewer than MaxAttempts times")
				hd.mu.Lock()
				defer hd.mu.Unlock()
				require.Len(t, hd.posted, 3)
				require.Equal(t, 1+len(tc.accept), hd.calls)
			})
		})
	}
}
