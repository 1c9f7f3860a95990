package router_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
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

// At a steady rate no message waits for a claim: intake hands its lane to a worker, and a
// worker finishing a batch takes the messages that came meanwhile in its record of the batch
// (issue 16). The claim loop never finds a lane, and every message arrives once, in order.
func TestLanesGoFromIntakeAndCompletionToWorkersWithoutAClaim(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, router.Options{})
		open := holdPosts(f)
		defer open()
		taken := func(how string) float64 { return counterValue(t, f.reg, "gateway_lanes_taken_total", how) }

		require.NoError(t, f.r.Deliver(f.ctx, inbound("p", 1)))
		synctest.Wait() // the worker waits in Post with the opening message
		require.Equal(t, 1.0, taken("intake"), "intake hands the lane over")
		for i := 2; i <= 4; i++ {
			require.NoError(t, f.r.Deliver(f.ctx, inbound("p", i)))
		}
		open()
		synctest.Wait()

		conv, err := f.st.ConversationAt(f.ctx, "chat", "p")
		require.NoError(t, err)
		stored, err := f.st.Messages(f.ctx, conv.ID, 0, 10)
		require.NoError(t, err)
		var want []normalize.MessageID
		for _, m := range stored {
			want = append(want, m.Message.ID)
		}
		f.hd.mu.Lock()
		posted := f.hd.tickets[conv.ID]
		f.hd.mu.Unlock()
		require.Equal(t, want, posted, "each message once, in order")
		require.Equal(t, 1.0, taken("intake"))
		require.Equal(t, 1.0, taken("continue"), "the messages that came during the first post go on with the same worker, in one batch")
		require.Zero(t, taken("claim"), "no lane had to be claimed")
	})
}

// While a lane waits for a worker, a worker lets its own lane go after each batch instead of
// going on with it, so that lanes are served in the order they came due (issue 16: a
// PostgreSQL burst's p99 doubled while workers kept their busy lanes). It takes the lane due
// longest in the same record (store.CompleteClaim), without a claim of its own. One worker,
// batches of one: A's first message holds the worker, then B's message comes due, then A's
// second. B's must be posted before A's second, which going on with A would post first.
func TestStarvedWorkerLetsItsLaneGoToTheLaneDueFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, router.Options{Workers: 1, BatchSize: 1})
		open := holdPosts(f)
		defer open()

		require.NoError(t, f.r.Deliver(f.ctx, inbound("a", 1)))
		synctest.Wait() // the one worker waits in Post with A's first message
		require.NoError(t, f.r.Deliver(f.ctx, inbound("b", 1)))
		f.clk.Advance(time.Millisecond) // B came due before A's lane is released
		require.NoError(t, f.r.Deliver(f.ctx, inbound("a", 2)))
		open()
		synctest.Wait()

		f.hd.mu.Lock()
		defer f.hd.mu.Unlock()
		require.Equal(t, []string{"a #1", "b #1", "a #2"}, f.hd.posted)
		taken := func(how string) float64 { return counterValue(t, f.reg, "gateway_lanes_taken_total", how) }
		require.Equal(t, 2.0, taken("next"), "the worker's records took B, then A again")
		require.Zero(t, taken("claim"), "no claim of its own was needed")
	})
}

// holdPosts makes the helpdesk hold every Post until open is called, once Run has started.
func holdPosts(f *fixture) (open func()) {
	gate := make(chan struct{})
	var once sync.Once
	synctest.Wait() // Run has started
	f.hd.mu.Lock()
	f.hd.gate = gate
	f.hd.mu.Unlock()
	return func() { once.Do(func() { close(gate) }) }
}

// heldClaim holds the first Claim, after the store's transaction, until release is closed:
// a claim waiting for a group commit and its sync, made as long as the test needs.
type heldClaim struct {
	*store.Store
	claiming, release chan struct{}
	once              sync.Once
}

func (s *heldClaim) Claim(ctx context.Context, owner string, max store.Budget, batch int, lease time.Duration) ([]store.Lane, error) {
	lanes, err := s.Store.Claim(ctx, owner, max, batch, lease)
	held := false
	s.once.Do(func() { held = true })
	if held {
		close(s.claiming)
		<-s.release
	}
	return lanes, err
}

// The claim loop's transaction does not hold up intake (issue 16): a Deliver once waited for
// the dispatcher's mutex, which the claim loop held across its whole store transaction, and a
// burst's intake spent a quarter of its time there. The message then reaches the helpdesk
// once the claim is over.
func TestIntakeDoesNotWaitForTheClaimLoop(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "gw.db"), store.Options{})
	require.NoError(t, err)
	hd := &memHelpdesk{tickets: map[normalize.ConversationID][]normalize.MessageID{}}
	held := &heldClaim{Store: st, claiming: make(chan struct{}), release: make(chan struct{})}
	r := router.New(held, nil, map[normalize.InstanceName]connectors.Helpdesk{"desk": hd}, router.Rules{Default: "desk"},
		router.Options{Workers: 2}, prometheus.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	released := false
	t.Cleanup(func() {
		if !released {
			close(held.release)
		}
		cancel()
		<-done
		st.Close()
	})
	<-held.claiming

	delivered := make(chan error, 1)
	go func() { delivered <- r.Deliver(ctx, inbound("p", 1)) }()
	select {
	case err := <-delivered:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Deliver waited for the claim loop's transaction to end")
	}
	close(held.release)
	released = true
	require.Eventually(t, func() bool {
		hd.mu.Lock()
		defer hd.mu.Unlock()
		return hd.calls == 1
	}, 10*time.Second, 5*time.Millisecond, "the message reaches the helpdesk after the claim")
}
