package router_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
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

// forgetDesk is a helpdesk that keeps conversations in the gateway's care, as the inbox does:
// it records what it was told to forget, and fails or hangs on demand.
type forgetDesk struct {
	*memHelpdesk
	mu        sync.Mutex
	calls     [][]normalize.ConversationID
	forgotten map[normalize.ConversationID]bool
	fail      func(call int) error // called with the count of Forget calls so far
	hang      bool                 // Forget waits for its context to end
}

var _ connectors.Forgetter = (*forgetDesk)(nil)

func newForgetDesk() *forgetDesk {
	return &forgetDesk{memHelpdesk: &memHelpdesk{tickets: map[normalize.ConversationID][]normalize.MessageID{}},
		forgotten: map[normalize.ConversationID]bool{}}
}

func (d *forgetDesk) Forget(ctx context.Context, convs []normalize.ConversationID) error {
	d.mu.Lock()
	d.calls = append(d.calls, slices.Clone(convs))
	n, fail, hang := len(d.calls), d.fail, d.hang
	d.mu.Unlock()
	if hang {
		<-ctx.Done()
		return ctx.Err()
	}
	if fail != nil {
		if err := fail(n); err != nil {
			return err
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, c := range convs {
		d.forgotten[c] = true
	}
	return nil
}

func (d *forgetDesk) state() (calls [][]normalize.ConversationID, forgotten []normalize.ConversationID) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for c := range d.forgotten {
		forgotten = append(forgotten, c)
	}
	return slices.Clone(d.calls), forgotten
}

// closeConversations opens n conversations on "desk", closes them a second apart and returns
// their IDs, oldest first.
func (f *fixture) closeConversations(t *testing.T, n int) []normalize.ConversationID {
	var ids []normalize.ConversationID
	for i := range n {
		addr := string(rune('a' + i))
		require.NoError(t, f.r.Deliver(f.ctx, inbound(addr, 0)))
		f.advance(time.Second)
		c, err := f.st.ConversationAt(f.ctx, "chat", normalize.Address(addr))
		require.NoError(t, err)
		require.NoError(t, f.r.Deliver(f.ctx, normalize.Message{Direction: normalize.Outbound, Source: "desk", ExternalID: normalize.ExternalID("close-" + addr),
			Conversation: c.ID, Kind: normalize.KindSystem, Status: normalize.StatusClosed, Author: normalize.Author{Role: normalize.RoleAgent}}))
		f.advance(time.Second)
		ids = append(ids, c.ID)
	}
	return ids
}

// TestRetentionForget: the conversations a pass deletes are handed to their helpdesk's
// Forget in batches, and their records dropped once it returned nil. A failure is logged,
// counted and handed over again at the next pass; a helpdesk that keeps nothing, or is no
// longer configured, is told nothing and its records go.
func TestRetentionForget(t *testing.T) {
	type want struct {
		calls     int      // Forget calls by the end of the first pass
		retried   int      // and by the end of the second
		forgotten bool     // all five forgotten in the end
		failures  float64  // gateway_retention_forget_failures_total
		logs      []string // lines the log must hold
	}
	tests := []struct {
		name      string
		helpdesks func(f *fixture, d *forgetDesk) map[normalize.InstanceName]connectors.Helpdesk
		fail      func(call int) error
		want      want
	}{
		{"forgotten in batches",
			func(_ *fixture, d *forgetDesk) map[normalize.InstanceName]connectors.Helpdesk {
				return map[normalize.InstanceName]connectors.Helpdesk{"desk": d}
			}, nil,
			want{calls: 3, retried: 3, forgotten: true, logs: []string{"retention: the helpdesk forgot deleted conversations"}}},
		{"a failure is tried again at the next pass",
			func(_ *fixture, d *forgetDesk) map[normalize.InstanceName]connectors.Helpdesk {
				return map[normalize.InstanceName]connectors.Helpdesk{"desk": d}
			},
			func(call int) error {
				if call == 2 {
					return errors.New("inbox database is locked")
				}
				return nil
			},
			want{calls: 3, retried: 4, forgotten: true, failures: 1,
				logs: []string{"retention: the helpdesk failed to forget deleted conversations", "inbox database is locked"}}},
		{"a helpdesk that keeps nothing is told nothing",
			func(f *fixture, _ *forgetDesk) map[normalize.InstanceName]connectors.Helpdesk { return f.helpdesks() }, nil,
			want{}},
		{"a helpdesk no longer configured is told nothing",
			func(*fixture, *forgetDesk) map[normalize.InstanceName]connectors.Helpdesk { return nil }, nil,
			want{logs: []string{"retention: deleted conversations of a helpdesk no longer configured"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFixture(t, router.Options{PollInterval: time.Minute})
				ids := f.closeConversations(t, 5)
				f.advance(31 * day)
				desk := newForgetDesk()
				desk.fail = tc.fail
				logs := &syncBuffer{}
				ret := router.NewRetention(f.st, nil, tc.helpdesks(f, desk),
					router.RetentionOptions{ClosedConversations: 30 * day, Batch: 2, Interval: time.Hour, Clock: f.clk},
					f.reg, slog.New(slog.NewTextHandler(logs, nil)))
				ctx, stop := context.WithCancel(f.ctx)
				done := make(chan struct{})
				go func() { defer close(done); ret.Run(ctx) }()
				defer func() { stop(); <-done }()

				f.advance(0)
				calls, _ := desk.state()
				require.Len(t, calls, tc.want.calls, "Forget calls in the first pass")
				for _, c := range calls {
					require.LessOrEqual(t, len(c), 2, "batches of at most Batch")
				}
				if tc.want.calls > 0 { // the failure series exist for helpdesks that forget
					require.Equal(t, tc.want.failures, sample(t, f.reg, "gateway_retention_forget_failures_total", "helpdesk", "desk"))
				}
				require.Equal(t, float64(f.clk.Now().Unix()), sample(t, f.reg, "gateway_retention_last_success_timestamp_seconds", "", ""),
					"a helpdesk's failure is its own, not the pass's")

				f.advance(time.Hour)
				calls, forgotten := desk.state()
				require.Len(t, calls, tc.want.retried, "Forget calls by the end of the next pass")
				due, err := f.st.DueForgets(f.ctx, 100)
				require.NoError(t, err)
				require.Empty(t, due, "every record is dropped in the end")
				if tc.want.forgotten {
					require.ElementsMatch(t, ids, forgotten)
					require.Equal(t, 5.0, sample(t, f.reg, "gateway_retention_deleted_total", "kind", "helpdesk_conversations"))
				} else {
					require.Empty(t, forgotten)
					require.Zero(t, sample(t, f.reg, "gateway_retention_deleted_total", "kind", "helpdesk_conversations"))
				}
				for _, line := range tc.want.logs {
					require.Contains(t, logs.String(), line)
				}
				if tc.want.failures > 0 {
					require.Equal(t, calls[1], calls[3], "the batch that failed is handed over again")
				}
			})
		})
	}
}

// TestRetentionForgetAfterStop: a gateway stopped while its helpdesk forgets (or killed right
// after the purge) leaves the records in the store, and the next start's first pass hands
// them over: the helpdesk forgets the conversations all the same.
func TestRetentionForgetAfterStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, router.Options{PollInterval: time.Minute})
		ids := f.closeConversations(t, 3)
		f.advance(31 * day)
		opts := router.RetentionOptions{ClosedConversations: 30 * day, Interval: time.Hour, Clock: f.clk}

		hanging := newForgetDesk()
		hanging.hang = true
		first := router.NewRetention(f.st, nil, map[normalize.InstanceName]connectors.Helpdesk{"desk": hanging}, opts,
			f.reg, slog.New(slog.DiscardHandler))
		ctx, stop := context.WithCancel(f.ctx)
		done := make(chan struct{})
		go func() { defer close(done); first.Run(ctx) }()
		f.advance(0)
		calls, _ := hanging.state()
		require.Len(t, calls, 1, "the helpdesk was handed the purged conversations")
		stop()
		<-done
		for _, id := range ids {
			_, err := f.st.Conversation(f.ctx, id)
			require.ErrorIs(t, err, connectors.ErrNotFound, "purged")
		}
		due, err := f.st.DueForgets(f.ctx, 100)
		require.NoError(t, err)
		require.Len(t, due, 3, "what the helpdesk never confirmed waits in the store")

		desk := newForgetDesk()
		next := router.NewRetention(f.st, nil, map[normalize.InstanceName]connectors.Helpdesk{"desk": desk}, opts,
			prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
		require.NoError(t, next.Pass(f.ctx))
		_, forgotten := desk.state()
		require.ElementsMatch(t, ids, forgotten)
		due, err = f.st.DueForgets(f.ctx, 100)
		require.NoError(t, err)
		require.Empty(t, due)
	})
}

// TestRetentionForgetEachHelpdeskAlone: records are handed to the helpdesk that holds them,
// and one helpdesk failing holds up no other.
func TestRetentionForgetEachHelpdeskAlone(t *testing.T) {
	st := &forgetStore{due: []store.Forget{
		{Helpdesk: "inbox-a", Conversation: "c1"}, {Helpdesk: "inbox-b", Conversation: "c2"},
		{Helpdesk: "webhook", Conversation: "c3"}, {Helpdesk: "inbox-a", Conversation: "c4"},
		{Helpdesk: "inbox-b", Conversation: "c5"},
	}}
	a, b := newForgetDesk(), newForgetDesk()
	b.fail = func(int) error { return errors.New("disk full") }
	reg := prometheus.NewRegistry()
	ret := router.NewRetention(st, nil, map[normalize.InstanceName]connectors.Helpdesk{"inbox-a": a, "inbox-b": b, "webhook": &memHelpdesk{}},
		router.RetentionOptions{Batch: 10}, reg, slog.New(slog.DiscardHandler))
	require.NoError(t, ret.Pass(t.Context()))

	aCalls, _ := a.state()
	bCalls, _ := b.state()
	require.Equal(t, [][]normalize.ConversationID{{"c1", "c4"}}, aCalls)
	require.Equal(t, [][]normalize.ConversationID{{"c2", "c5"}}, bCalls)
	require.ElementsMatch(t, []normalize.ConversationID{"c1", "c4", "c3"}, st.dropped, "forgotten, or nobody to tell")
	require.ElementsMatch(t, []normalize.ConversationID{"c2", "c5"}, st.delayed, "tried again later")
	require.Equal(t, 1.0, sample(t, reg, "gateway_retention_forget_failures_total", "helpdesk", "inbox-b"))
	require.Zero(t, sample(t, reg, "gateway_retention_forget_failures_total", "helpdesk", "inbox-a"))
}

// forgetStore is a RetentionStore holding only forget records (retention with no periods set
// asks for nothing else, but connectors' records, of which it has none): DueForgets hands out
// what is neither dropped nor delayed.
type forgetStore struct {
	router.RetentionStore
	due              []store.Forget
	dropped, delayed []normalize.ConversationID
}

func (s *forgetStore) DueForgets(_ context.Context, limit int) ([]store.Forget, error) {
	var out []store.Forget
	for _, f := range s.due {
		if !slices.Contains(s.dropped, f.Conversation) && !slices.Contains(s.delayed, f.Conversation) && len(out) < limit {
			out = append(out, f)
		}
	}
	return out, nil
}

func (s *forgetStore) ExpireRecords(context.Context, int) (int, error) { return 0, nil }

func (s *forgetStore) DropForgets(_ context.Context, recs []store.Forget) error {
	for _, f := range recs {
		s.dropped = append(s.dropped, f.Conversation)
	}
	return nil
}

func (s *forgetStore) DelayForgets(_ context.Context, recs []store.Forget, _ time.Time) error {
	for _, f := range recs {
		s.delayed = append(s.delayed, f.Conversation)
	}
	return nil
}
