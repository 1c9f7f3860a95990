package router_test

import (
	"context"
	"errors"
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
	"github.com/casino-support/gateway/router/clock"
	"github.com/casino-support/gateway/router/store"
)

// claimBeforeComplete holds each Complete that releases a lane, before it records anything,
// until the router's next Claim has returned (or a moment passed): the window between a
// worker's end and its record, made wide enough to hit every time.
type claimBeforeComplete struct {
	*store.Store
	mu      sync.Mutex
	claimed chan struct{}
}

func (s *claimBeforeComplete) Claim(ctx context.Context, owner string, max store.Budget, batch int, lease time.Duration) ([]store.Lane, error) {
	lanes, err := s.Store.Claim(ctx, owner, max, batch, lease)
	s.mu.Lock()
	if s.claimed != nil {
		close(s.claimed)
		s.claimed = nil
	}
	s.mu.Unlock()
	return lanes, err
}

func (s *claimBeforeComplete) Complete(ctx context.Context, o store.Outcome) error {
	if !o.Keep {
		claimed := make(chan struct{})
		s.mu.Lock()
		s.claimed = claimed
		s.mu.Unlock()
		select {
		case <-claimed:
		case <-time.After(300 * time.Millisecond): // no claim came (in a bubble: all idle)
		}
	}
	return s.Store.Complete(ctx, o)
}

// A delivery that outlasts its lease is still its worker's until the worker recorded it: a
// claim in between, which finds the lease lapsed, must not start a second worker that posts
// the same messages again (here: opens a second ticket).
func TestLapsedLaneIsNotDeliveredAgainBeforeItsWorkerRecordedIt(t *testing.T) {
	// In a bubble the hold in Complete takes no real time.
	synctest.Test(t, func(t *testing.T) {
		const lease = time.Minute
		ctx, cancel := context.WithCancel(context.Background())
		clk := newClock()
		st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "gw.db"), store.Options{Now: clk.Now})
		require.NoError(t, err)
		t.Cleanup(func() { st.Close() })
		hd := &memHelpdesk{tickets: map[normalize.ConversationID][]normalize.MessageID{}}
		hd.fail = func(n int) error {
			if n == 1 {
				clk.Advance(2 * lease) // the first post takes longer than the lease
			}
			return nil
		}
		r := router.New(&claimBeforeComplete{Store: st}, nil, map[normalize.InstanceName]connectors.Helpdesk{"desk": hd},
			router.Rules{Default: "desk"}, router.Options{Workers: 1, Lease: lease, PollInterval: 5 * time.Millisecond, Clock: clk},
			prometheus.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)))
		require.NoError(t, r.Deliver(ctx, inbound("p", 1)))
		done := make(chan struct{})
		go func() { r.Run(ctx); close(done) }()
		t.Cleanup(func() { cancel(); <-done }) // when a check below fails

		require.Eventually(t, func() bool {
			s, err := st.Stats(ctx)
			return err == nil && s.Queued[normalize.Inbound] == 0
		}, 10*time.Second, 5*time.Millisecond)
		cancel()
		<-done // every worker has returned
		hd.mu.Lock()
		defer hd.mu.Unlock()
		require.Equal(t, 1, hd.calls, "the opening message was posted again while its first post was being recorded")
		require.Equal(t, 1, hd.created)
	})
}

// failingClaimStore has a lane overdue and cannot claim it (disk full, an unreadable row).
type failingClaimStore struct {
	*store.Store
	clk    clock.Clock
	claims chan struct{}
}

func (s *failingClaimStore) NextDue(context.Context, ...normalize.Direction) (time.Time, error) {
	return s.clk.Now().Add(-time.Minute), nil
}

func (s *failingClaimStore) Claim(context.Context, string, store.Budget, int, time.Duration) ([]store.Lane, error) {
	select {
	case s.claims <- struct{}{}:
	default:
	}
	return nil, errors.New("disk full")
}

// A claim that fails is tried again after a round, not in a tight loop that floods the log
// and the writer while the due time stays past.
func TestClaimErrorWaitsARound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const poll = time.Hour
		clk := newClock()
		st, err := store.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "gw.db"), store.Options{Now: clk.Now})
		require.NoError(t, err)
		t.Cleanup(func() { st.Close() })
		fs := &failingClaimStore{Store: st, clk: clk, claims: make(chan struct{}, 1)}
		r := router.New(fs, nil, nil, router.Rules{Default: "desk"}, router.Options{PollInterval: poll, Clock: clk},
			prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { r.Run(ctx); close(done) }()
		t.Cleanup(func() { cancel(); <-done })

		<-fs.claims
		synctest.Wait()
		select {
		case <-fs.claims:
			t.Fatal("Claim() retried at once after an error")
		default:
		}
		clk.Advance(poll - time.Millisecond)
		synctest.Wait()
		select {
		case <-fs.claims:
			t.Fatal("Claim() retried before a round passed")
		default:
		}
		clk.Advance(time.Millisecond)
		synctest.Wait()
		select {
		case <-fs.claims:
		default:
			t.Fatal("Claim() not retried after a round")
		}
	})
}
