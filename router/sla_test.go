package router_test

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router"
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
	rules := router.Rules{Default: "desk", SLA: router.SLA{FirstResponse: map[normalize.ChannelKind]time.Duration{normalize.KindLoopback: 100 * time.Millisecond}}}
	f := newFixtureRules(t, router.Options{PollInterval: 20 * time.Millisecond}, rules, true)
	require.NoError(t, f.r.Deliver(f.ctx, inbound("p", 1)))

	var conv normalize.ConversationID
	require.Eventually(t, func() bool {
		f.hd.mu.Lock()
		defer f.hd.mu.Unlock()
		for id, msgs := range f.hd.tickets {
			conv = id
			return len(msgs) == 2
		}
		return false
	}, 5*time.Second, 5*time.Millisecond, "the player's message, then the breach")
	msgs, err := f.st.Messages(f.ctx, conv, 0, 10)
	require.NoError(t, err)
	require.Len(t, msgs, 2)
	u := msgs[1].Message
	require.Equal(t, normalize.KindSystem, u.Kind)
	require.NotNil(t, u.Update)
	require.Equal(t, []normalize.Field{normalize.FieldSLA}, u.Update.Changed)
	require.Equal(t, normalize.SLABreached, u.Update.SLA.State())
	require.Equal(t, 100*time.Millisecond, u.Update.SLA.DueAt.Sub(u.Update.SLA.AwaitingSince))
	require.Equal(t, 1.0, mustCounter(t, f, "gateway_sla_breaches_total"))

	time.Sleep(200 * time.Millisecond) // several more watch rounds
	f.hd.mu.Lock()
	require.Len(t, f.hd.tickets[conv], 2, "a breach is reported once")
	f.hd.mu.Unlock()
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
	marks atomic.Int32
}

func (s *failingSLAStore) NextSLADue(context.Context) (time.Time, error) {
	return time.Now().Add(-time.Minute), nil
}

func (s *failingSLAStore) MarkSLABreaches(context.Context, int) ([]normalize.Conversation, error) {
	s.marks.Add(1)
	return nil, errors.New("disk full")
}

// A store that keeps failing is retried once a round, not in a tight loop.
func TestSLAWatchWaitsAfterAnError(t *testing.T) {
	f := newFixtureRun(t, router.Options{}, false)
	st := &failingSLAStore{Store: f.st}
	r := router.New(st, nil, nil, router.Rules{Default: "desk"}, router.Options{PollInterval: 50 * time.Millisecond},
		prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(f.ctx)
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx) }()
	time.Sleep(300 * time.Millisecond)
	cancel()
	<-done
	require.Positive(t, st.marks.Load())
	require.LessOrEqual(t, st.marks.Load(), int32(10), "about one attempt per 50 ms round")
}
