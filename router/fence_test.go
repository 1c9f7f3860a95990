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

// stuckHelpdesk is a helpdesk whose first Post hangs, whatever its context says, until
// unstuck, and then answers with outcome.
type stuckHelpdesk struct {
	entered, release chan struct{}
	outcome          func(msgs []connectors.Delivery) (normalize.Ref, []normalize.ExternalID, error)
	enter, unstuck   sync.Once
}

func newStuckHelpdesk(outcome func(msgs []connectors.Delivery) (normalize.Ref, []normalize.ExternalID, error)) *stuckHelpdesk {
	return &stuckHelpdesk{entered: make(chan struct{}), release: make(chan struct{}), outcome: outcome}
}

// unstick lets the post return; a test's cleanup calls it too, or a test that failed while
// the post hangs would wait for it forever.
func (h *stuckHelpdesk) unstick() { h.unstuck.Do(func() { close(h.release) }) }

func (h *stuckHelpdesk) Run(ctx context.Context, _ connectors.Sink) error { <-ctx.Done(); return nil }

func (h *stuckHelpdesk) Post(_ context.Context, _ normalize.Conversation, msgs []connectors.Delivery) (normalize.Ref, []normalize.ExternalID, error) {
	h.enter.Do(func() { close(h.entered) })
	<-h.release
	return h.outcome(msgs)
}

// pausedRenewals stands for a replica paused past its lease (a long stop of the process, a
// partition): its renewals never reach the database, and it does not know.
type pausedRenewals struct{ router.Store }

func (pausedRenewals) Renew(context.Context, normalize.ConversationID, normalize.Direction, int64, time.Duration) error {
	return nil
}

// TestLapsedWorkerCannotOverwriteOrDeadLetter: two replicas share the database. Replica A's
// worker is stuck in a post past its lease, replica B claims the lane and delivers it; when
// A's post returns at last, its record (a dead letter, or other target IDs) is refused and
// counted, and the message stays as B delivered it, on both dialects (replicaStores).
func TestLapsedWorkerCannotOverwriteOrDeadLetter(t *testing.T) {
	outcomes := map[string]func(msgs []connectors.Delivery) (normalize.Ref, []normalize.ExternalID, error){
		"dead-letter": func([]connectors.Delivery) (normalize.Ref, []normalize.ExternalID, error) {
			return "", nil, connectors.Permanent(errRejected)
		},
		"overwrite": func(msgs []connectors.Delivery) (normalize.Ref, []normalize.ExternalID, error) {
			return "T-stale", []normalize.ExternalID{normalize.ExternalID("stale-" + string(msgs[0].Message.ID))}, nil
		},
	}
	for dialect, open := range replicaStores {
		for name, outcome := range outcomes {
			t.Run(dialect+"/"+name, func(t *testing.T) {
				const lease = time.Minute
				clk := newClock()
				stA, stB := open(t, clk.Now)
				log := slog.New(slog.NewTextHandler(io.Discard, nil))
				opts := router.Options{Workers: 1, Lease: lease, PollInterval: time.Second, Clock: clk}
				stuck := newStuckHelpdesk(outcome)
				regA := prometheus.NewRegistry()
				a := router.New(pausedRenewals{stA}, nil, map[normalize.InstanceName]connectors.Helpdesk{"desk": stuck},
					router.Rules{Default: "desk"}, opts, regA, log)
				hdB := &memHelpdesk{tickets: map[normalize.ConversationID][]normalize.MessageID{}}
				b := router.New(stB, nil, map[normalize.InstanceName]connectors.Helpdesk{"desk": hdB},
					router.Rules{Default: "desk"}, opts, prometheus.NewRegistry(), log)

				ctx, cancel := context.WithCancel(t.Context())
				var wg sync.WaitGroup
				t.Cleanup(func() { stuck.unstick(); cancel(); wg.Wait() })
				msg := inbound("p", 1)
				require.NoError(t, a.Deliver(ctx, msg))
				wg.Go(func() { a.Run(ctx) })
				waitFor(t, stuck.entered, "replica A's post")

				clk.Advance(lease + time.Second) // A's lease lapses while its post hangs
				wg.Go(func() { b.Run(ctx) })
				var conv normalize.ConversationID
				require.Eventually(t, func() bool {
					s, err := stB.Stats(ctx)
					hdB.mu.Lock()
					defer hdB.mu.Unlock()
					for c := range hdB.tickets {
						conv = c
					}
					return err == nil && s.Queued[normalize.Inbound] == 0 && hdB.calls == 1
				}, 60*time.Second, 10*time.Millisecond, "replica B delivers the lane once A's lease lapsed")

				stuck.unstick()
				require.Eventually(t, func() bool {
					return leaseLost(t, regA, "complete") == 1
				}, 60*time.Second, 10*time.Millisecond, "A's record must be refused and counted")

				dead, err := stB.DeadLetters(ctx, 0, 10)
				require.NoError(t, err)
				require.Empty(t, dead, "a worker whose lease lapsed dead-lettered a delivered message")
				msgs, err := stB.Messages(ctx, conv, 0, 10)
				require.NoError(t, err)
				require.Len(t, msgs, 1)
				require.Equal(t, normalize.StateSent, msgs[0].Message.State)
				require.Equal(t, normalize.ExternalID("hd-"+string(msgs[0].Message.ID)), msgs[0].TargetID,
					"the target ID is B's delivery's")
				c, err := stB.Conversation(ctx, conv)
				require.NoError(t, err)
				require.Equal(t, normalize.Ref("T-"+string(conv)), c.Ticket, "the ticket is B's")
			})
		}
	}
}

// TestRenewalKeepsALongDelivery: a delivery that takes several leases keeps its lane, its
// worker renewing the lease, so no other replica claims and posts it meanwhile. In a bubble,
// each step of the clock comes once the worker has renewed and set its next timer.
func TestRenewalKeepsALongDelivery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const lease = time.Minute
		clk := newClock()
		st, err := store.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "gw.db"), store.Options{Now: clk.Now})
		require.NoError(t, err)
		t.Cleanup(func() { st.Close() })
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		opts := router.Options{Workers: 1, Lease: lease, PollInterval: time.Second, Clock: clk}
		stuck := newStuckHelpdesk(func([]connectors.Delivery) (normalize.Ref, []normalize.ExternalID, error) {
			return "T-long", []normalize.ExternalID{"long-1"}, nil
		})
		reg := prometheus.NewRegistry()
		a := router.New(st, nil, map[normalize.InstanceName]connectors.Helpdesk{"desk": stuck}, router.Rules{Default: "desk"}, opts, reg, log)
		ctx, cancel := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		t.Cleanup(func() { stuck.unstick(); cancel(); wg.Wait() })
		require.NoError(t, a.Deliver(ctx, inbound("p", 1)))
		wg.Go(func() { a.Run(ctx) })
		<-stuck.entered

		for i := range 9 { // three leases, a renewal every third of one
			synctest.Wait()
			clk.Advance(lease / 3)
			synctest.Wait()
			due, err := st.NextDue(ctx)
			require.NoError(t, err)
			require.WithinDuration(t, clk.Now().Add(lease), due, time.Millisecond, "step %d: the lease is renewed", i)
			lanes, err := st.Claim(ctx, "replica-b", store.Budget{Inbound: 10, Outbound: 10}, 10, lease)
			require.NoError(t, err)
			require.Empty(t, lanes, "step %d: another replica claimed a lane whose delivery is under way", i)
		}
		stuck.unstick()
		synctest.Wait()
		s, err := st.Stats(ctx)
		require.NoError(t, err)
		require.Zero(t, s.Queued[normalize.Inbound], "the long delivery is recorded")
		require.Zero(t, leaseLost(t, reg, "complete")+leaseLost(t, reg, "renew"))
	})
}

// leaseLost reads gateway_lease_lost_total{op}; a series never counted reads 0.
func leaseLost(t *testing.T, reg *prometheus.Registry, op string) float64 {
	families, err := reg.Gather()
	if err != nil {
		t.Errorf("Gather(): %v", err)
		return 0
	}
	for _, mf := range families {
		if mf.GetName() != "gateway_lease_lost_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "op" && l.GetValue() == op {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(60 * time.Second):
		t.Fatalf("%s did not happen", what)
	}
}

var errRejected = errorString("rejected: 422")

type errorString string

func (e errorString) Error() string { return string(e) }
