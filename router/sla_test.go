package router_test

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router"
	"github.com/casino-support/gateway/router/clock"
	"github.com/casino-support/gateway/router/store"
)

func TestSLATarget(t *testing.T) {
	sla := router.SLA{FirstResponse: map[normalize.ChannelKind]time.Duration{
		normalize.KindWebchat: 5 * time.Minute, normalize.KindEmail: 2 * time.Hour}, VIP: 3 * time.Minute}
	tests := []struct {
		name string
		kind normalize.ChannelKind
		vip  int
		want time.Duration
	}{
		{"chat", normalize.KindWebchat, 0, 5 * time.Minute},
		{"email", normalize.KindEmail, 0, 2 * time.Hour},
		{"VIP shortens", normalize.KindEmail, 2, 3 * time.Minute},
		{"VIP never lengthens", normalize.KindWebchat, 1, 3 * time.Minute},
		{"kind without target", normalize.KindVoice, 0, 0},
		{"VIP target applies where the kind has none", normalize.KindVoice, 1, 3 * time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, sla.Target(tc.kind, tc.vip))
		})
	}
	require.Equal(t, time.Minute, router.SLA{FirstResponse: map[normalize.ChannelKind]time.Duration{normalize.KindWebchat: time.Minute},
		VIP: 5 * time.Minute}.Target(normalize.KindWebchat, 3), "a longer VIP target does not apply")
}

// A player left waiting past the target: the helpdesk gets an Update saying so, after the
// player's message and only once, and the breach is counted.
func TestSLABreachReachesHelpdesk(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const target, poll = 100 * time.Millisecond, 20 * time.Millisecond
		rules := router.Rules{Default: "desk", SLA: router.SLA{FirstResponse: map[normalize.ChannelKind]time.Duration{normalize.KindLoopback: target}}}
		f := newFixtureRules(t, router.Options{PollInterval: poll}, rules, true)
		require.NoError(t, f.r.Deliver(f.ctx, inbound("p", 1)))
		posted := func() (normalize.ConversationID, int) {
			f.hd.mu.Lock()
			defer f.hd.mu.Unlock()
			for id, msgs := range f.hd.tickets {
				return id, len(msgs)
			}
			return "", 0
		}

		f.advance(target - time.Millisecond)
		_, n := posted()
		require.Equal(t, 1, n, "the player's message, and no breach before the target")
		f.advance(time.Millisecond)
		conv, n := posted()
		require.Equal(t, 2, n, "the player's message, then the breach")
		msgs, err := f.st.Messages(f.ctx, conv, 0, 10)
		require.NoError(t, err)
		require.Len(t, msgs, 2)
		u := msgs[1].Message
		require.Equal(t, normalize.KindSystem, u.Kind)
		require.NotNil(t, u.Update)
		require.Equal(t, []normalize.Field{normalize.FieldSLA}, u.Update.Changed)
		require.Equal(t, normalize.SLABreached, u.Update.SLA.State())
		require.Equal(t, target, u.Update.SLA.DueAt.Sub(u.Update.SLA.AwaitingSince))
		require.Equal(t, 1.0, mustCounter(t, f, "gateway_sla_breaches_total"))

		for range 10 { // several more watch rounds
			f.advance(poll)
		}
		_, n = posted()
		require.Equal(t, 2, n, "a breach is reported once")
		require.Equal(t, 1.0, mustCounter(t, f, "gateway_sla_breaches_total"))
	})
}

func mustCounter(t *testing.T, f *fixture, name string) float64 {
	t.Helper()
	families, err := f.reg.Gather()
	require.NoError(t, err)
	for _, mf := range families {
		if mf.GetName() == name {
			sum := 0.0
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
			return sum
		}
	}
	t.Fatalf("metric %s not found", name)
	return 0
}

// failingSLAStore is a store whose clocks are all overdue and whose marking always fails.
type failingSLAStore struct {
	*store.Store
	clk   clock.Clock
	marks atomic.Int32
}

func (s *failingSLAStore) NextSLADue(context.Context) (time.Time, error) {
	return s.clk.Now().Add(-time.Minute), nil
}

func (s *failingSLAStore) MarkSLA(context.Context, store.SLAStage, store.SLAMark, int) ([]normalize.Conversation, error) {
	s.marks.Add(1)
	return nil, errors.New("disk full")
}

// A store that keeps failing is retried once a round, not in a tight loop.
func TestSLAWatchWaitsAfterAnError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const poll = 50 * time.Millisecond
		f := newFixtureRun(t, router.Options{}, false)
		st := &failingSLAStore{Store: f.st, clk: f.clk}
		r := router.New(st, nil, nil, router.Rules{Default: "desk"}, router.Options{PollInterval: poll, Clock: f.clk},
			prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
		ctx, cancel := context.WithCancel(f.ctx)
		done := make(chan struct{})
		go func() { defer close(done); r.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })

		synctest.Wait()
		require.Equal(t, int32(1), st.marks.Load(), "one attempt, then a wait")
		for round := range int32(5) {
			f.advance(poll - time.Millisecond)
			require.Equal(t, 1+round, st.marks.Load(), "no attempt before the round is over")
			f.advance(time.Millisecond)
			require.Equal(t, 2+round, st.marks.Load(), "one attempt per round")
		}
	})
}
