package router_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router"
	"github.com/casino-support/gateway/router/dutyofcare"
	"github.com/casino-support/gateway/router/escalation"
)

// queuedEscalations records what the router queues, keeping the first of each key as the
// real queue does.
type queuedEscalations struct {
	mu    sync.Mutex
	calls int
	byKey map[string]escalation.Escalation
	order []string
}

func (q *queuedEscalations) Enqueue(_ context.Context, e escalation.Escalation) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.calls++
	if q.byKey == nil {
		q.byKey = map[string]escalation.Escalation{}
	}
	if _, ok := q.byKey[e.Key]; !ok {
		q.byKey[e.Key] = e
		q.order = append(q.order, e.Key)
	}
	return nil
}

func (q *queuedEscalations) all() []escalation.Escalation {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []escalation.Escalation
	for _, k := range q.order {
		out = append(out, q.byKey[k])
	}
	return out
}

func TestDutyOfCareUrgentTaggedAndEscalated(t *testing.T) {
	m, err := dutyofcare.New(dutyofcare.Builtin())
	require.NoError(t, err)
	tests := []struct {
		name, text string
		harm       bool
	}{
		{"russian self-exclusion", "Прошу оформить самоисключение, заблокируйте мой аккаунт", true},
		{"english losing control", "I can't stop playing slots", true},
		{"english laughter", "I can't stop laughing", false},
		{"routine", "Where is my withdrawal?", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			esc := &queuedEscalations{}
			f := newFixture(t, router.Options{DutyOfCare: m, Escalations: esc})
			msg := inbound("p1", 1)
			msg.Text = tt.text
			require.NoError(t, f.r.Deliver(f.ctx, msg))
			conv, err := f.st.ConversationAt(f.ctx, "chat", "p1")
			require.NoError(t, err)
			if !tt.harm {
				require.Equal(t, normalize.PriorityNormal, conv.Priority)
				require.NotContains(t, conv.Tags, router.TagResponsibleGambling)
				require.Empty(t, esc.all())
				return
			}
			require.Equal(t, normalize.PriorityUrgent, conv.Priority)
			require.Contains(t, conv.Tags, router.TagResponsibleGambling)
			got := esc.all()
			require.Len(t, got, 1)
			e := got[0]
			require.Equal(t, escalation.ReasonDutyOfCare, e.Reason)
			require.Equal(t, conv.ID, e.Conversation)
			require.Equal(t, normalize.PriorityUrgent, e.Priority)
			require.Equal(t, dutyofcare.BuiltinVersion, e.ListVersion)
			require.NotEmpty(t, e.PhraseID)
			require.Equal(t, "p1", e.Player.Address)

			// The channel delivers the message again (no acknowledgement reached it): the
			// escalation is queued again under the same key, so never lost and never doubled.
			require.NoError(t, f.r.Deliver(f.ctx, msg))
			require.Len(t, esc.all(), 1)
			require.Equal(t, 2, esc.calls)

			// A later ordinary message keeps the conversation urgent and tagged.
			next := inbound("p1", 2)
			require.NoError(t, f.r.Deliver(f.ctx, next))
			conv, err = f.st.Conversation(f.ctx, conv.ID)
			require.NoError(t, err)
			require.Equal(t, normalize.PriorityUrgent, conv.Priority)
			require.Contains(t, conv.Tags, router.TagResponsibleGambling)
			require.Len(t, esc.all(), 1)
		})
	}
}

// A missed first-response target queues one sla_breach escalation.
func TestSLABreachEscalates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const target, poll = 100 * time.Millisecond, 20 * time.Millisecond
		esc := &queuedEscalations{}
		rules := router.Rules{Default: "desk", SLA: router.SLA{FirstResponse: map[normalize.ChannelKind]time.Duration{normalize.KindLoopback: target}}}
		f := newFixtureRules(t, router.Options{PollInterval: poll, Escalations: esc}, rules, true)
		require.NoError(t, f.r.Deliver(f.ctx, inbound("p", 1)))
		f.advance(target - time.Millisecond)
		require.Empty(t, esc.all())
		f.advance(time.Millisecond)
		for range 5 {
			f.advance(poll)
		}
		got := esc.all()
		require.Len(t, got, 1)
		require.Equal(t, escalation.ReasonSLABreach, got[0].Reason)
		require.Equal(t, "desk", string(got[0].Helpdesk))
		require.False(t, got[0].DueAt.IsZero())
	})
}
