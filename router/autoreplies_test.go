package router_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router"
	"github.com/casino-support/gateway/router/autoreply"
	"github.com/casino-support/gateway/router/calendar"
	"github.com/casino-support/gateway/router/clock"
	"github.com/casino-support/gateway/router/store"
)

// newAutoReplyFixture is newFixture with auto-replies on the fixture's store, at clock start.
func newAutoReplyFixture(t *testing.T, start time.Time, opts autoreply.Options, ropts router.Options) *fixture {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	clk := clock.NewFake(start)
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "gw.db"), store.Options{Now: clk.Now})
	require.NoError(t, err)
	f := &fixture{st: st, ctx: ctx, reg: prometheus.NewRegistry(), clk: clk,
		hd: &memHelpdesk{tickets: map[normalize.ConversationID][]normalize.MessageID{}},
		ch: &memChannel{sent: map[normalize.Address][]string{}}}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	replies, err := autoreply.New(st, opts, f.reg, log)
	require.NoError(t, err)
	ropts.Clock, ropts.AutoReplies = clk, replies
	f.r = router.New(st, map[normalize.InstanceName]connectors.Channel{"chat": f.ch},
		map[normalize.InstanceName]connectors.Helpdesk{"desk": f.hd}, router.Rules{Default: "desk"}, ropts, f.reg, log)
	done := make(chan struct{})
	go func() { f.r.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; st.Close() })
	return f
}

// sentTo is what the channel sent to addr.
func (f *fixture) sentTo(addr string) []string {
	f.ch.mu.Lock()
	defer f.ch.mu.Unlock()
	return append([]string(nil), f.ch.sent[normalize.Address(addr)]...)
}

func romanian(addr string, i int) normalize.Message {
	m := inbound(addr, i)
	m.Author.Language = "ro"
	return m
}

var ackAll = autoreply.Options{Rules: []autoreply.Rule{{Acknowledgement: true}}, Wait: 30 * time.Second}

// TestOneAcknowledgementPerConversation: whatever the helpdesk's failures, the messages
// redelivered and the messages that follow, a conversation gets one acknowledgement, in its
// language, with the ticket reference, once the ticket exists.
func TestOneAcknowledgementPerConversation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newAutoReplyFixture(t, time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC), ackAll,
			router.Options{BackoffBase: 10 * time.Millisecond, BackoffMax: 20 * time.Millisecond})
		f.hd.fail = func(n int) error {
			if n <= 2 {
				return errors.New("HTTP 502")
			}
			return nil
		}
		require.NoError(t, f.r.Deliver(f.ctx, romanian("ana", 1), romanian("ana", 2)))
		synctest.Wait()
		require.Empty(t, f.sentTo("ana"), "no acknowledgement before the ticket")
		f.advance(20 * time.Millisecond)
		f.advance(20 * time.Millisecond)
		sent := f.sentTo("ana")
		require.Len(t, sent, 1)
		conv, err := f.st.ConversationAt(f.ctx, "chat", "ana")
		require.NoError(t, err)
		require.Equal(t, strings.ReplaceAll(autoreply.Builtin["ro"].AcknowledgementTicket, "{ticket}", string(conv.Ticket)), sent[0])

		// More messages, the first ones again, and the wait running out: nothing more.
		require.NoError(t, f.r.Deliver(f.ctx, romanian("ana", 1), romanian("ana", 3)))
		f.advance(time.Minute)
		require.Equal(t, sent, f.sentTo("ana"))
		require.Equal(t, 1.0, counterValue(t, f.reg, "gateway_autoreplies_total", "acknowledgement"))

		// The acknowledgement stops no first-response clock: the player still waits for a person.
		conv, err = f.st.Conversation(f.ctx, conv.ID)
		require.NoError(t, err)
		require.False(t, conv.SLA.AwaitingSince.IsZero())
	})
}

// TestAcknowledgementWithoutTicketAfterTheWait: a helpdesk that cannot take the messages
// leaves the player acknowledged without a reference once the wait is over, and the ticket
// that comes later brings no second acknowledgement.
func TestAcknowledgementWithoutTicketAfterTheWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newAutoReplyFixture(t, time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC), ackAll,
			router.Options{BackoffBase: 40 * time.Second, BackoffMax: 40 * time.Second})
		down := true
		f.hd.fail = func(int) error {
			if down {
				return errors.New("HTTP 503")
			}
			return nil
		}
		require.NoError(t, f.r.Deliver(f.ctx, inbound("bob", 1)))
		f.advance(29 * time.Second)
		require.Empty(t, f.sentTo("bob"))
		f.advance(2 * time.Second)
		require.Equal(t, []string{autoreply.Builtin["en"].Acknowledgement}, f.sentTo("bob"))
		f.hd.mu.Lock()
		down = false
		f.hd.mu.Unlock()
		f.advance(time.Minute)
		f.hd.mu.Lock()
		created := f.hd.created
		f.hd.mu.Unlock()
		require.Equal(t, 1, created, "the ticket came")
		require.Equal(t, []string{autoreply.Builtin["en"].Acknowledgement}, f.sentTo("bob"))
	})
}

// TestNoAutoReplyWithoutARule: a conversation no rule matches gets nothing.
func TestNoAutoReplyWithoutARule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newAutoReplyFixture(t, time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC),
			autoreply.Options{Rules: []autoreply.Rule{{Kinds: []normalize.ChannelKind{normalize.KindEmail}, Acknowledgement: true}}}, router.Options{})
		require.NoError(t, f.r.Deliver(f.ctx, inbound("cleo", 1)))
		f.advance(time.Minute)
		require.Empty(t, f.sentTo("cleo"))
	})
}

// TestOutOfHoursNoticeOncePerClosedPeriod: the messages of one closed weekend share one
// notice, which names Monday's opening in the player's language; a message in business hours
// gets none; the evening after gets its own.
func TestOutOfHoursNoticeOncePerClosedPeriod(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hours, err := calendar.New("Europe/Bucharest", []string{"mon-fri 09:00-18:00"}, nil)
		require.NoError(t, err)
		// Saturday 5 December 2026, noon in Bucharest (UTC+2).
		f := newAutoReplyFixture(t, time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC),
			autoreply.Options{Rules: []autoreply.Rule{{OutOfHours: true, Hours: hours}}}, router.Options{})
		written := func(addr string, i int) normalize.Message {
			m := romanian(addr, i)
			m.SentAt = f.clk.Now()
			return m
		}
		require.NoError(t, f.r.Deliver(f.ctx, written("dana", 1), written("dana", 2)))
		f.advance(6 * time.Hour)
		require.NoError(t, f.r.Deliver(f.ctx, written("dana", 3)))
		require.NoError(t, f.r.Deliver(f.ctx, written("dana", 1))) // redelivered
		synctest.Wait()
		sent := f.sentTo("dana")
		require.Len(t, sent, 1)
		require.Equal(t, strings.ReplaceAll(autoreply.Builtin["ro"].OutOfHours, "{opens}", "luni, 7 decembrie, ora 09:00 (UTC+2)"), sent[0])

		f.advance(46 * time.Hour) // Monday 16:00 local
		require.NoError(t, f.r.Deliver(f.ctx, written("dana", 4)))
		synctest.Wait()
		require.Len(t, f.sentTo("dana"), 1, "in business hours: no notice")
		f.advance(5 * time.Hour) // Monday 21:00 local
		require.NoError(t, f.r.Deliver(f.ctx, written("dana", 5)))
		synctest.Wait()
		sent = f.sentTo("dana")
		require.Len(t, sent, 2)
		require.Contains(t, sent[1], "marți, 8 decembrie, ora 09:00")
		require.Equal(t, 2.0, counterValue(t, f.reg, "gateway_autoreplies_total", "out_of_hours"))
	})
}

// TestOneAcknowledgementAcrossReplicas: two routers on one database take the messages of the
// same conversations at once, alternately, and deliver them together; each conversation is
// acknowledged once.
func TestOneAcknowledgementAcrossReplicas(t *testing.T) {
	for name, open := range replicaStores {
		t.Run(name, func(t *testing.T) {
			const convs, per = 10, 6
			stA, stB := open(t, time.Now)
			hd := &memHelpdesk{tickets: map[normalize.ConversationID][]normalize.MessageID{}}
			hd.fail = func(n int) error {
				if n%3 == 0 {
					return errors.New("HTTP 502") // retries, on either replica
				}
				return nil
			}
			ch := &memChannel{sent: map[normalize.Address][]string{}}
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			opts := router.Options{Workers: 4, BatchSize: 2, PollInterval: 20 * time.Millisecond,
				BackoffBase: 10 * time.Millisecond, BackoffMax: 20 * time.Millisecond}
			var replicas []*router.Router
			for _, st := range []*store.Store{stA, stB} {
				replies, err := autoreply.New(st, ackAll, nil, log)
				require.NoError(t, err)
				o := opts
				o.AutoReplies = replies
				replicas = append(replicas, router.New(st, map[normalize.InstanceName]connectors.Channel{"chat": ch},
					map[normalize.InstanceName]connectors.Helpdesk{"desk": hd}, router.Rules{Default: "desk"}, o, prometheus.NewRegistry(), log))
			}
			ctx, cancel := context.WithCancel(t.Context())
			var running sync.WaitGroup
			t.Cleanup(func() { cancel(); running.Wait() })
			for _, r := range replicas {
				running.Go(func() { r.Run(ctx) })
			}
			var senders sync.WaitGroup
			for c := range convs {
				senders.Go(func() {
					for i := range per {
						m := inbound(fmt.Sprintf("p%d", c), i)
						require.NoError(t, replicas[i%2].Deliver(ctx, m))
						require.NoError(t, replicas[(i+1)%2].Deliver(ctx, m)) // and again at the other
					}
				})
			}
			senders.Wait()
			acked := func() int {
				ch.mu.Lock()
				defer ch.mu.Unlock()
				n := 0
				for _, texts := range ch.sent {
					n += len(texts)
				}
				return n
			}
			require.Eventually(t, func() bool { return acked() >= convs }, 60*time.Second, 10*time.Millisecond)
			// Both replicas' watchers look at the waiting records a while longer.
			time.Sleep(200 * time.Millisecond)
			ch.mu.Lock()
			defer ch.mu.Unlock()
			require.Len(t, ch.sent, convs)
			for addr, texts := range ch.sent {
				require.Len(t, texts, 1, "one acknowledgement to %s", addr)
				require.Contains(t, texts[0], "T-c", "with the ticket reference")
			}
		})
	}
}

// counterValue is the value of the series of name whose first label has value label.
func counterValue(t *testing.T, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetValue() == label {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// flakyAutoReplies is a store that refuses to store the first auto-reply of each kind in
// fail, as a store that fails at the wrong moment, or a replica that crashes before it
// stores one, would.
type flakyAutoReplies struct {
	*store.Store
	mu   sync.Mutex
	fail map[string]bool
}

func (s *flakyAutoReplies) Intake(ctx context.Context, msgs []normalize.Message, assess store.Assess) ([]store.Accepted, error) {
	s.mu.Lock()
	refuse := len(msgs) > 0 && s.fail[autoreply.Kind(msgs[0])]
	if refuse {
		delete(s.fail, autoreply.Kind(msgs[0]))
	}
	s.mu.Unlock()
	if refuse {
		return nil, errors.New("store: connection reset")
	}
	return s.Store.Intake(ctx, msgs, assess)
}

// TestAutoRepliesSurviveAFailedStore: an acknowledgement that could not be stored when the
// ticket came is stored by the watcher after the wait, still with the reference; an
// out-of-hours notice that could not be stored fails the delivery, and the channel's
// redelivery stores it, once.
func TestAutoRepliesSurviveAFailedStore(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hours, err := calendar.New("UTC", []string{"mon-fri 09:00-17:00"}, nil)
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		clk := clock.NewFake(time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)) // a Saturday
		st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "gw.db"), store.Options{Now: clk.Now})
		require.NoError(t, err)
		flaky := &flakyAutoReplies{Store: st, fail: map[string]bool{autoreply.KindAcknowledgement: true, autoreply.KindOutOfHours: true}}
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		replies, err := autoreply.New(st, autoreply.Options{Wait: 30 * time.Second,
			Rules: []autoreply.Rule{{Acknowledgement: true, OutOfHours: true, Hours: hours}}}, nil, log)
		require.NoError(t, err)
		hd := &memHelpdesk{tickets: map[normalize.ConversationID][]normalize.MessageID{}}
		ch := &memChannel{sent: map[normalize.Address][]string{}}
		r := router.New(flaky, map[normalize.InstanceName]connectors.Channel{"chat": ch},
			map[normalize.InstanceName]connectors.Helpdesk{"desk": hd}, router.Rules{Default: "desk"},
			router.Options{Clock: clk, AutoReplies: replies}, prometheus.NewRegistry(), log)
		done := make(chan struct{})
		go func() { r.Run(ctx); close(done) }()
		t.Cleanup(func() { cancel(); <-done; st.Close() })
		sent := func() []string {
			ch.mu.Lock()
			defer ch.mu.Unlock()
			return append([]string(nil), ch.sent["eve"]...)
		}

		m := inbound("eve", 1)
		m.SentAt = clk.Now()
		require.Error(t, r.Deliver(ctx, m), "the notice could not be stored: the channel keeps the message")
		require.NoError(t, r.Deliver(ctx, m), "the redelivery stores it")
		synctest.Wait()
		// The ticket came meanwhile; its acknowledgement was refused once.
		conv, err := st.ConversationAt(ctx, "chat", "eve")
		require.NoError(t, err)
		require.NotEmpty(t, conv.Ticket)
		require.Len(t, sent(), 1, "the notice only, so far")
		require.Contains(t, sent()[0], "Monday 7 December, 09:00 (UTC)")

		synctest.Wait()
		clk.Advance(31 * time.Second)
		synctest.Wait()
		clk.Advance(time.Second) // the watcher's next look
		synctest.Wait()
		want := strings.ReplaceAll(autoreply.Builtin["en"].AcknowledgementTicket, "{ticket}", string(conv.Ticket))
		require.Equal(t, want, sent()[1])
		clk.Advance(time.Hour)
		synctest.Wait()
		require.Len(t, sent(), 2)
	})
}
