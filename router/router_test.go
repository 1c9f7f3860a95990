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

// memHelpdesk records posts per conversation and fails on demand.
type memHelpdesk struct {
	mu      sync.Mutex
	tickets map[normalize.ConversationID][]normalize.MessageID
	created int
	fail    func(n int) error // called with the count of Post calls so far
	calls   int
	// gate, when set, holds every Post until it is closed.
	gate chan struct{}
	// posted is the text of every message posted, in the order of the posts.
	posted []string
}

func (h *memHelpdesk) Run(ctx context.Context, _ connectors.Sink) error { <-ctx.Done(); return nil }

func (h *memHelpdesk) Post(_ context.Context, conv normalize.Conversation, msgs []connectors.Delivery) (normalize.Ref, []normalize.ExternalID, error) {
	h.mu.Lock()
	if gate := h.gate; gate != nil {
		h.mu.Unlock()
		<-gate
		h.mu.Lock()
	}
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
		h.posted = append(h.posted, m.Text)
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
	// clk is the store's and the router's clock; it moves only when a test advances it.
	clk *clock.Fake
}

// newClock returns a fake clock for a router and its store. Any start does; a fixed one
// keeps runs alike, and whole milliseconds are what the store keeps.
func newClock() *clock.Fake { return clock.NewFake(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)) }

// advance moves the clock by d once the router and the store are idle, and returns once they
// are idle again: whatever d made due has been done. It only works inside a synctest bubble,
// where "idle" is knowable; it is what lets a test wait out a timer without real time passing.
func (f *fixture) advance(d time.Duration) {
	synctest.Wait()
	f.clk.Advance(d)
	synctest.Wait()
}

func newFixture(t testing.TB, opts router.Options) *fixture { return newFixtureRun(t, opts, true) }

func newFixtureRun(t testing.TB, opts router.Options, run bool) *fixture {
	t.Helper()
	return newFixtureRules(t, opts, router.Rules{Default: "desk"}, run)
}

func newFixtureRules(t testing.TB, opts router.Options, rules router.Rules, run bool) *fixture {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	clk := newClock()
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "gw.db"), store.Options{Now: clk.Now})
	require.NoError(t, err)
	f := &fixture{st: st, ctx: ctx, reg: prometheus.NewRegistry(), clk: clk,
		hd: &memHelpdesk{tickets: map[normalize.ConversationID][]normalize.MessageID{}},
		ch: &memChannel{sent: map[normalize.Address][]string{}}}
	// Tests that never advance the clock make progress on wake-ups alone, as the router must.
	opts.Clock = clk
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
	synctest.Test(t, func(t *testing.T) {
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
		posts := func() (calls, created int) {
			f.hd.mu.Lock()
			defer f.hd.mu.Unlock()
			return f.hd.calls, f.hd.created
		}
		require.NoError(t, f.r.Deliver(f.ctx, inbound("p", 1)))
		synctest.Wait()
		calls, _ := posts()
		require.Equal(t, 1, calls, "the first attempt fails")
		f.advance(10 * time.Millisecond) // the first back-off is 5-10 ms
		calls, _ = posts()
		require.Equal(t, 2, calls, "retried after the back-off")
		f.advance(200*time.Millisecond - time.Millisecond)
		calls, _ = posts()
		require.Equal(t, 2, calls, "Retry-After was not honoured")
		f.advance(time.Millisecond)
		calls, created := posts()
		require.Equal(t, 3, calls, "retried once Retry-After passed")
		require.Equal(t, 1, created)
	})
}

func TestPermanentFailureDeadLettersAndReplayDelivers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const poll = time.Second
		f := newFixture(t, router.Options{PollInterval: poll})
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
		synctest.Wait()
		dl, err := f.st.DeadLetters(f.ctx, 0, 10)
		require.NoError(t, err)
		require.Len(t, dl, 1, "dead-lettered at the first attempt")
		require.Contains(t, dl[0].Error, "422")

		reject.Lock()
		rejecting = false
		reject.Unlock()
		n, err := f.st.Replay(f.ctx, "")
		require.NoError(t, err)
		require.Equal(t, 1, n)
		// A replay does not wake the router: the next poll finds it.
		f.advance(poll)
		f.hd.mu.Lock()
		defer f.hd.mu.Unlock()
		require.Equal(t, 1, f.hd.created)
	})
}

func TestMaxAttemptsDeadLettersHeadAndGoesOn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, router.Options{BackoffBase: time.Millisecond, BackoffMax: 2 * time.Millisecond, MaxAttempts: 3, BatchSize: 1})
		f.hd.fail = func(n int) error {
			if n <= 3 {
				return errors.New("HTTP 503")
			}
			return nil
		}
		require.NoError(t, f.r.Deliver(f.ctx, inbound("p", 1), inbound("p", 2)))
		for range 2 {
			f.advance(2 * time.Millisecond) // a back-off of at most BackoffMax
		}
		f.hd.mu.Lock()
		require.Equal(t, 4, f.hd.calls, "three failed attempts of the head, then the next message")
		require.Len(t, f.hd.tickets, 1)
		for _, ids := range f.hd.tickets {
			require.Len(t, ids, 1)
		}
		f.hd.mu.Unlock()
		dl, err := f.st.DeadLetters(f.ctx, 0, 10)
		require.NoError(t, err)
		require.Len(t, dl, 1)
		require.Equal(t, "p #1", dl[0].Message.Text)
		require.Contains(t, dl[0].Error, "gave up after 3 attempts")
	})
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

func (s *claimAfterComplete) Claim(ctx context.Context, owner string, max store.Budget, batch int, lease time.Duration) ([]store.Lane, error) {
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
	case <-time.After(300 * time.Millisecond): // nothing left to claim (in a bubble: all idle)
	}
	return nil
}

// A lane claimed again the moment its worker recorded the previous batch, before that worker
// returned, is delivered at once, not left leased and idle until the lease expires.
func TestLaneClaimedAgainRightAfterCompleteIsDelivered(t *testing.T) {
	// In a bubble a hold in Complete takes no real time; the clock the lease runs on never moves.
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		clk := newClock()
		st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "gw.db"), store.Options{Now: clk.Now})
		require.NoError(t, err)
		wrapped := &claimAfterComplete{Store: st, waiting: map[normalize.ConversationID]chan struct{}{}}
		hd := &memHelpdesk{tickets: map[normalize.ConversationID][]normalize.MessageID{}}
		r := router.New(wrapped, nil, map[normalize.InstanceName]connectors.Helpdesk{"desk": hd}, router.Rules{Default: "desk"},
			router.Options{BatchSize: 1, Lease: time.Minute, PollInterval: 5 * time.Millisecond, Clock: clk},
			prometheus.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)))
		const n = 4
		for i := range n {
			require.NoError(t, r.Deliver(ctx, inbound("p", i)))
		}
		done := make(chan struct{})
		go func() { r.Run(ctx); close(done) }()
		t.Cleanup(func() { cancel(); <-done; st.Close() })

		// Eventually's ticks let the bubble's time, not the clock, move on to end the holds.
		require.Eventually(t, func() bool {
			hd.mu.Lock()
			defer hd.mu.Unlock()
			for _, ids := range hd.tickets {
				return len(ids) == n
			}
			return false
		}, 10*time.Second, 10*time.Millisecond, "every message delivered while the one-minute lease holds")
	})
}
