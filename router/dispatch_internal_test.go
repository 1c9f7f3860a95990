package router

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/store"
)

// Lanes intake leased for this router after Run stopped get no worker: their leases are let
// go at once, so the lanes are due for whoever claims next (this process after a restart,
// or another replica) instead of waiting out the lease.
func TestLanesHandedOverAfterStopAreLetGo(t *testing.T) {
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "gw.db"), store.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	r := New(st, nil, nil, Rules{Default: "desk"}, Options{}, prometheus.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	d := newDispatcher(r, ctx)
	msg := normalize.Message{Direction: normalize.Inbound, Source: "chat", Channel: "chat", ChannelKind: normalize.KindLoopback,
		Address: "p1", ExternalID: "m1", Author: normalize.Author{Role: normalize.RolePlayer}, Text: "hello"}

	h := d.handoff([]normalize.Message{msg})
	require.Equal(t, store.Budget{Inbound: 1}, h.Max, "a free worker is set aside")
	_, lanes, err := st.IntakeHandoff(ctx, []normalize.Message{msg}, r.assess, h)
	require.NoError(t, err)
	require.Len(t, lanes, 1)
	d.stop() // Run ends between the intake and the hand-over
	d.handed(h, lanes)

	require.Empty(t, d.busy, "no worker starts after Run stopped")
	require.Equal(t, store.Budget{}, d.reserved, "the reservation is returned")
	claimed, err := st.Claim(ctx, "next", store.Budget{Inbound: 1}, 10, r.opts.Lease)
	require.NoError(t, err)
	require.Len(t, claimed, 1, "the lane is due again at once")
	require.Equal(t, lanes[0].Pending[0].Message.ID, claimed[0].Pending[0].Message.ID)
	require.Zero(t, d.handoff([]normalize.Message{msg}).Max, "nothing is set aside once stopped")
}

// An intake call of more than handoffMost messages (a burst's getUpdates answer) hands nothing
// over and sets no worker aside: the claim loop takes its lanes. Its lanes outnumbering the
// free workers still marks the lanes starved. A call of up to handoffMost is handed over.
func TestBurstIntakeHandsNothingOver(t *testing.T) {
	d := newTestDispatcher(t, 4)
	msgs := func(n int) []normalize.Message {
		out := make([]normalize.Message, n)
		for i := range out {
			out[i] = normalize.Message{Direction: normalize.Inbound}
		}
		return out
	}

	h := d.handoff(msgs(handoffMost))
	require.Equal(t, store.Budget{Inbound: 4}, h.Max, "every free worker is set aside")
	d.handed(h, nil)
	d.starved.Store(false)

	h = d.handoff(msgs(handoffMost + 1))
	require.Equal(t, store.Handoff{}, h)
	require.Equal(t, store.Budget{}, d.reserved, "no worker is set aside")
	require.True(t, d.starved.Load(), "more lanes than free workers")
}

// A worker whose record the store refused for a lost lease asks for its token again; when the
// claim that took the lane over is this router's and has not handed its lanes out yet (its
// transaction no longer runs under the dispatcher's mutex), the worker waits for it and gets
// the new token, instead of giving its delivery up as another worker's (and the lane being
// posted again).
func TestRefusedWorkerWaitsForTheClaimInFlight(t *testing.T) {
	d := newTestDispatcher(t, 2)
	k := laneKey{"c1", normalize.Inbound}
	held := d.newLease(1)
	d.busy[k] = held // a worker is on the lane, its lease lapsed during a slow delivery

	reserved := d.reserve()
	require.Equal(t, 1, reserved.Inbound, "the busy worker is not free")
	asked := make(chan int64, 1)
	go func() { asked <- held.settled() }()
	select {
	case token := <-asked:
		t.Fatalf("the worker read token %d while the claim was in flight", token)
	case <-time.After(50 * time.Millisecond):
	}
	// The claim's transaction took the lane over with token 2.
	d.claimed(reserved, []store.Lane{{Conversation: normalize.Conversation{ID: "c1"}, Direction: normalize.Inbound, Token: 2}})
	require.Equal(t, int64(2), <-asked)
	require.Equal(t, store.Budget{}, d.reserved, "the claim's reservation is returned")
	require.Contains(t, d.again, k, "the worker learns of the claim once it recorded its outcome")
}

// A worker whose record took another lane moves to it, unless this router's own worker is
// still on that lane (its lease lapsed), which then gets the new lease as from a claim, or Run
// stopped.
func TestWorkerMovesToTheLaneItsRecordTook(t *testing.T) {
	d := newTestDispatcher(t, 2)
	lane := func(conv normalize.ConversationID, token int64) store.Lane {
		return store.Lane{Conversation: normalize.Conversation{ID: conv}, Direction: normalize.Inbound, Token: token}
	}
	a, b := laneKey{"a", normalize.Inbound}, laneKey{"b", normalize.Inbound}
	d.busy[a] = d.newLease(1)

	d.mu.Lock()
	held := d.moveTo(a, store.Outcome{}, lane("b", 7))
	d.mu.Unlock()
	require.NotNil(t, held)
	require.Equal(t, int64(7), held.current())
	require.Equal(t, map[laneKey]*lease{b: held}, d.busy, "the worker is on b now, and a is free")

	other := d.newLease(2)
	d.busy[a] = other // another worker of this router is still on a, its lease lapsed
	d.mu.Lock()
	require.Nil(t, d.moveTo(b, store.Outcome{}, lane("a", 8)), "the worker on b ends")
	d.mu.Unlock()
	require.Equal(t, int64(8), other.current(), "a's worker presents the new lease")
	require.Contains(t, d.again, a, "and learns of the claim once it recorded its outcome")
	require.NotContains(t, d.busy, b)

	d.stop()
	d.busy[b] = d.newLease(3)
	d.mu.Lock()
	require.Nil(t, d.moveTo(b, store.Outcome{}, lane("c", 9)), "no worker goes on once Run stopped")
	d.mu.Unlock()
	require.NotContains(t, d.busy, laneKey{"c", normalize.Inbound})
}

// newTestDispatcher returns a dispatcher of a router with workers on a fresh store, not running.
func newTestDispatcher(t *testing.T, workers int) *dispatcher {
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "gw.db"), store.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	r := New(st, nil, nil, Rules{Default: "desk"}, Options{Workers: workers}, prometheus.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	return newDispatcher(r, ctx)
}
