package router_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router"
	"github.com/casino-support/gateway/router/store"
)

// memHelpdesk records posts per conversation and fails on demand.
type memHelpdesk struct {
	mu      sync.Mutex
	tickets map[normalize.ConversationID][]normalize.MessageID
	created int
	fail    func(n int) error // called with the count of Post calls so far
	calls   int
}

func (h *memHelpdesk) Run(ctx context.Context, _ connectors.Sink) error { <-ctx.Done(); return nil }

func (h *memHelpdesk) Post(_ context.Context, conv normalize.Conversation, msgs []connectors.Delivery) (normalize.Ref, []normalize.ExternalID, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls++
	if h.fail != nil {
		if err := h.fail(h.calls); err != nil {
			return conv.Ticket, nil, err
		}
	}
	ticket := conv.Ticket
	if ticket == "" {
		if _, ok := h.tickets[conv.ID]; ok {
			return "", nil, fmt.Errorf("second ticket for %s", conv.ID)
		}
		h.created++
		ticket = normalize.Ref("T-" + string(conv.ID))
		h.tickets[conv.ID] = nil
	}
	var ids []normalize.ExternalID
	for _, m := range msgs {
		h.tickets[conv.ID] = append(h.tickets[conv.ID], m.ID)
		ids = append(ids, normalize.ExternalID("hd-"+string(m.ID)))
	}
	return ticket, ids, nil
}

type memChannel struct {
	mu   sync.Mutex
	sent map[normalize.Address][]string
}

func (c *memChannel) Run(ctx context.Context, _ connectors.Sink) error { <-ctx.Done(); return nil }

func (c *memChannel) Send(_ context.Context, conv normalize.Conversation, m normalize.Message) (normalize.ExternalID, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent[conv.Address] = append(c.sent[conv.Address], m.Text)
	return normalize.ExternalID("ch-" + string(m.ID)), nil
}

type fixture struct {
	st  *store.Store
	r   *router.Router
	hd  *memHelpdesk
	ch  *memChannel
	ctx context.Context
	reg *prometheus.Registry
}

func newFixture(t testing.TB, opts router.Options) *fixture { return newFixtureRun(t, opts, true) }

func newFixtureRun(t testing.TB, opts router.Options, run bool) *fixture {
	t.Helper()
	return newFixtureRules(t, opts, router.Rules{Default: "desk"}, run)
}

func newFixtureRules(t testing.TB, opts router.Options, rules router.Rules, run bool) *fixture {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "gw.db"), store.Options{})
	require.NoError(t, err)
	f := &fixture{st: st, ctx: ctx, reg: prometheus.NewRegistry(),
		hd: &memHelpdesk{tickets: map[normalize.ConversationID][]normalize.MessageID{}},
		ch: &memChannel{sent: map[normalize.Address][]string{}}}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	f.r = router.New(st, map[normalize.InstanceName]connectors.Channel{"chat": f.ch},
		map[normalize.InstanceName]connectors.Helpdesk{"desk": f.hd}, rules, opts, f.reg, log)
	done := make(chan struct{})
	go func() {
		if run {
			f.r.Run(ctx)
		}
		close(done)
	}()
	t.Cleanup(func() { cancel(); <-done; st.Close() })
	return f
}

func inbound(addr string, i int) normalize.Message {
	return normalize.Message{Direction: normalize.Inbound, Source: "chat", Channel: "chat", ChannelKind: normalize.KindLoopback,
		Address: normalize.Address(addr), ExternalID: normalize.ExternalID(fmt.Sprintf("%s-%d", addr, i)),
		Author: normalize.Author{Role: normalize.RolePlayer}, Text: fmt.Sprintf("%s #%d", addr, i)}
}

func TestConcurrentIntakeDeliversInOrderWithOneTicket(t *testing.T) {
	f := newFixture(t, router.Options{BatchSize: 7})
	const convs, per = 20, 30
	var wg sync.WaitGroup
	for c := range convs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				require.NoError(t, f.r.Deliver(f.ctx, inbound(fmt.Sprintf("p%d", c), i)))
			}
		}()
	}
	wg.Wait()
	// Redelivery of everything is absorbed by dedup.
	for c := range convs {
		require.NoError(t, f.r.Deliver(f.ctx, inbound(fmt.Sprintf("p%d", c), 0), inbound(fmt.Sprintf("p%d", c), per-1)))
	}
	require.Eventually(t, func() bool {
		f.hd.mu.Lock()
		defer f.hd.mu.Unlock()
		n := 0
		for _, ids := range f.hd.tickets {
			n += len(ids)
		}
		return n == convs*per
	}, 10*time.Second, 10*time.Millisecond)
	f.hd.mu.Lock()
	defer f.hd.mu.Unlock()
	require.Equal(t, convs, f.hd.created)
	for conv, ids := range f.hd.tickets {
		msgs, err := f.st.Messages(f.ctx, conv, 0, 1000)
		require.NoError(t, err)
		require.Len(t, msgs, per)
		for i, m := range msgs {
			require.Equal(t, m.Message.ID, ids[i], "order of %s", conv)
		}
	}
}

func TestRetryAfterAndTransientErrorsThenDelivery(t *testing.T) {
	f := newFixture(t, router.Options{BackoffBase: 10 * time.Millisecond, BackoffMax: 50 * time.Millisecond, MaxAttempts: 10})
	f.hd.fail = func(n int) error {
		switch n {
		case 1:
			return errors.New("HTTP 500")
		case 2:
			return connectors.RetryAfter(200*time.Millisecond, errors.New("HTTP 429"))
		}
		return nil
	}
	start := time.Now()
	require.NoError(t, f.r.Deliver(f.ctx, inbound("p", 1)))
	require.Eventually(t, func() bool {
		f.hd.mu.Lock()
		defer f.hd.mu.Unlock()
		return f.hd.created == 1 && f.hd.calls == 3
	}, 5*time.Second, 5*time.Millisecond)
	require.GreaterOrEqual(t, time.Since(start), 200*time.Millisecond, "Retry-After was not honoured")
}

func TestPermanentFailureDeadLettersAndReplayDelivers(t *testing.T) {
	f := newFixture(t, router.Options{})
	var reject sync.Mutex
	rejecting := true
	f.hd.fail = func(int) error {
		reject.Lock()
		defer reject.Unlock()
		if rejecting {
			return connectors.Permanent(errors.New("HTTP 422 unprocessable"))
		}
		return nil
	}
	require.NoError(t, f.r.Deliver(f.ctx, inbound("p", 1)))
	require.Eventually(t, func() bool {
		dl, err := f.st.DeadLetters(f.ctx, 0, 10)
		return err == nil && len(dl) == 1
	}, 5*time.Second, 5*time.Millisecond)
	dl, _ := f.st.DeadLetters(f.ctx, 0, 10)
	require.Contains(t, dl[0].Error, "422")

	reject.Lock()
	rejecting = false
	reject.Unlock()
	n, err := f.st.Replay(f.ctx, "")
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Eventually(t, func() bool {
		f.hd.mu.Lock()
		defer f.hd.mu.Unlock()
		return f.hd.created == 1
	}, 5*time.Second, 5*time.Millisecond)
}

func TestMaxAttemptsDeadLettersHeadAndGoesOn(t *testing.T) {
	f := newFixture(t, router.Options{BackoffBase: time.Millisecond, BackoffMax: 2 * time.Millisecond, MaxAttempts: 3, BatchSize: 1})
	f.hd.fail = func(n int) error {
		if n <= 3 {
			return errors.New("HTTP 503")
		}
		return nil
	}
	require.NoError(t, f.r.Deliver(f.ctx, inbound("p", 1), inbound("p", 2)))
	require.Eventually(t, func() bool {
		f.hd.mu.Lock()
		defer f.hd.mu.Unlock()
		for _, ids := range f.hd.tickets {
			return len(ids) == 1
		}
		return false
	}, 5*time.Second, 5*time.Millisecond)
	dl, err := f.st.DeadLetters(f.ctx, 0, 10)
	require.NoError(t, err)
	require.Len(t, dl, 1)
	require.Equal(t, "p #1", dl[0].Message.Text)
	require.Contains(t, dl[0].Error, "gave up after 3 attempts")
}

func TestAgentReplyReachesChannelAndEchoIsSuppressed(t *testing.T) {
	f := newFixture(t, router.Options{})
	require.NoError(t, f.r.Deliver(f.ctx, inbound("p", 1)))
	var conv normalize.Conversation
	require.Eventually(t, func() bool {
		cs, err := f.st.Conversations(f.ctx, 10, store.ConversationsCursor{})
		if err != nil || len(cs) != 1 || cs[0].Ticket == "" {
			return false
		}
		conv = cs[0]
		return true
	}, 5*time.Second, 5*time.Millisecond)
	reply := normalize.Message{Direction: normalize.Outbound, Source: "desk", ExternalID: "r-1", Ticket: conv.Ticket,
		Author: normalize.Author{Role: normalize.RoleAgent}, Text: "hello from support"}
	require.NoError(t, f.r.Deliver(f.ctx, reply))
	require.NoError(t, f.r.Deliver(f.ctx, reply)) // webhook retried
	note := reply
	note.ExternalID, note.Kind, note.Text = "r-2", normalize.KindNote, "internal"
	require.NoError(t, f.r.Deliver(f.ctx, note))
	closed := reply
	closed.ExternalID, closed.Kind, closed.Text, closed.Status = "r-3", normalize.KindSystem, "", normalize.StatusClosed
	require.NoError(t, f.r.Deliver(f.ctx, closed))
	// The helpdesk reports the player's message the gateway posted: an echo, not a reply.
	msgs, err := f.st.Messages(f.ctx, conv.ID, 0, 10)
	require.NoError(t, err)
	echo := reply
	echo.ExternalID = normalize.ExternalID("hd-" + string(msgs[0].Message.ID))
	require.NoError(t, f.r.Deliver(f.ctx, echo))

	require.Eventually(t, func() bool {
		all, _ := f.st.Messages(f.ctx, conv.ID, 0, 10)
		for _, m := range all {
			if m.Message.State == normalize.StateQueued {
				return false
			}
		}
		return len(all) == 4
	}, 5*time.Second, 5*time.Millisecond)
	c, err := f.st.Conversation(f.ctx, conv.ID)
	require.NoError(t, err)
	require.Equal(t, normalize.StatusClosed, c.Status, "the helpdesk closed the conversation")
	f.ch.mu.Lock()
	defer f.ch.mu.Unlock()
	require.Equal(t, []string{"hello from support"}, f.ch.sent["p"], "notes and status changes never reach the player")
}

// claimAfterComplete holds each Complete of an inbound lane, after it committed, until the
// router's next Claim has seen that lane again (or a moment passed): the window in which a
// worker has released the lease but not yet returned, made wide enough to hit every time.
type claimAfterComplete struct {
	*store.Store
	mu      sync.Mutex
	waiting map[normalize.ConversationID]chan struct{}
}

func (s *claimAfterComplete) Claim(ctx context.Context, owner string, max, batch int, lease time.Duration) ([]store.Lane, error) {
	lanes, err := s.Store.Claim(ctx, owner, max, batch, lease)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range lanes {
		if ch, ok := s.waiting[l.Conversation.ID]; ok {
			close(ch)
			delete(s.waiting, l.Conversation.ID)
		}
	}
	return lanes, err
}

func (s *claimAfterComplete) Complete(ctx context.Context, o store.Outcome) error {
	seen := make(chan struct{})
	s.mu.Lock()
	s.waiting[o.Conversation] = seen
	s.mu.Unlock()
	if err := s.Store.Complete(ctx, o); err != nil {
		return err
	}
	select {
	case <-seen:
	case <-time.After(300 * time.Millisecond): // nothing left to claim
	}
	return nil
}

// A lane claimed again the moment its worker recorded the previous batch, before that worker
// returned, is delivered at once, not left leased and idle until the lease expires.
func TestLaneClaimedAgainRightAfterCompleteIsDelivered(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "gw.db"), store.Options{})
	require.NoError(t, err)
	wrapped := &claimAfterComplete{Store: st, waiting: map[normalize.ConversationID]chan struct{}{}}
	hd := &memHelpdesk{tickets: map[normalize.ConversationID][]normalize.MessageID{}}
	r := router.New(wrapped, nil, map[normalize.InstanceName]connectors.Helpdesk{"desk": hd}, router.Rules{Default: "desk"},
		router.Options{BatchSize: 1, Lease: time.Minute, PollInterval: 5 * time.Millisecond},
		prometheus.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	const n = 4
	for i := range n {
		require.NoError(t, r.Deliver(ctx, inbound("p", i)))
	}
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; st.Close() })

	require.Eventually(t, func() bool {
		hd.mu.Lock()
		defer hd.mu.Unlock()
		for _, ids := range hd.tickets {
			return len(ids) == n
		}
		return false
	}, 10*time.Second, 10*time.Millisecond, "every message delivered well within the one-minute lease")
}
