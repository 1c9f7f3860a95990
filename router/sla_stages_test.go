package router_test

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router"
	"github.com/casino-support/gateway/router/calendar"
	"github.com/casino-support/gateway/router/escalation"
	"github.com/casino-support/gateway/router/store"
)

func TestSLADeadlines(t *testing.T) {
	office, err := calendar.New("Europe/Bucharest", []string{"mon-fri 09:00-18:00"}, []string{"2026-12-25"})
	require.NoError(t, err)
	chat, email := normalize.ChannelKind("telegram"), normalize.ChannelKind("email")
	sla := router.SLA{
		FirstResponse: map[normalize.ChannelKind]time.Duration{chat: 10 * time.Minute, email: 4 * time.Hour},
		NextResponse:  map[normalize.ChannelKind]time.Duration{chat: 20 * time.Minute},
		VIP:           5 * time.Minute,
		Tiers: []router.SLATier{{MinVIP: 3, FirstResponse: map[normalize.ChannelKind]time.Duration{chat: time.Minute},
			NextResponse: map[normalize.ChannelKind]time.Duration{chat: 2 * time.Minute}}},
		NearBreach: router.NearBreach{Fraction: 0.8},
	}
	before := sla
	before.NearBreach = router.NearBreach{Before: 30 * time.Minute}
	utc := func(s string) time.Time {
		ts, err := time.Parse(time.RFC3339, s)
		require.NoError(t, err)
		return ts
	}
	tests := []struct {
		name      string
		sla       router.SLA
		kind      normalize.ChannelKind
		hours     *calendar.Calendar
		since     string
		next      bool
		vip       int
		near, due string // "" for none
	}{
		{"first response", sla, chat, nil, "2026-01-07T08:00:00Z", false, 0, "2026-01-07T08:08:00Z", "2026-01-07T08:10:00Z"},
		{"next response", sla, chat, nil, "2026-01-07T08:00:00Z", true, 0, "2026-01-07T08:16:00Z", "2026-01-07T08:20:00Z"},
		{"no next-response target", sla, email, nil, "2026-01-07T08:00:00Z", true, 0, "", ""},
		{"VIP target", sla, chat, nil, "2026-01-07T08:00:00Z", false, 1, "2026-01-07T08:04:00Z", "2026-01-07T08:05:00Z"},
		{"a tier's target", sla, chat, nil, "2026-01-07T08:00:00Z", false, 4, "2026-01-07T08:00:48Z", "2026-01-07T08:01:00Z"},
		{"a tier's next target", sla, chat, nil, "2026-01-07T08:00:00Z", true, 3, "2026-01-07T08:01:36Z", "2026-01-07T08:02:00Z"},
		{"near-breach before the due time", before, email, nil, "2026-01-07T08:00:00Z", false, 0, "2026-01-07T11:30:00Z", "2026-01-07T12:00:00Z"},
		{"a target shorter than the near-breach span has none", before, chat, nil, "2026-01-07T08:00:00Z", false, 0, "", "2026-01-07T08:10:00Z"},
		// 17:00 EET Wednesday, 4 business hours: 1 on Wednesday, 3 on Thursday from 09:00.
		{"business hours over the night", sla, email, office, "2026-01-07T15:00:00Z", false, 0, "2026-01-08T09:12:00Z", "2026-01-08T10:00:00Z"},
		// Friday 16:00 EET before the spring change: 2h Friday, 2h Monday from 09:00 EEST.
		{"business hours over the DST weekend", sla, email, office, "2026-03-27T14:00:00Z", false, 0, "2026-03-30T07:12:00Z", "2026-03-30T08:00:00Z"},
		{"written on a holiday", sla, chat, office, "2026-12-25T10:00:00Z", false, 0, "2026-12-28T07:08:00Z", "2026-12-28T07:10:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			near, due := tt.sla.Deadlines(tt.kind, tt.hours, utc(tt.since), tt.next, tt.vip)
			want := func(s string) time.Time {
				if s == "" {
					return time.Time{}
				}
				return utc(s)
			}
			require.Equal(t, want(tt.near), near.UTC(), "near-breach")
			require.Equal(t, want(tt.due), due.UTC(), "due")
		})
	}
}

func agentReply(conv normalize.ConversationID, id string) normalize.Message {
	return normalize.Message{Direction: normalize.Outbound, Source: "desk", Conversation: conv, ExternalID: normalize.ExternalID(id),
		Author: normalize.Author{Role: normalize.RoleAgent}, Text: id}
}

// metricValue sums the samples of a counter or the counts of a histogram whose labels
// include want.
func metricValue(t *testing.T, reg *prometheus.Registry, name string, want map[string]string) float64 {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	sum := 0.0
	for _, mf := range families {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if labels[k] != v {
					continue next
				}
			}
			if h := m.GetHistogram(); h != nil {
				sum += float64(h.GetSampleCount())
			} else {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

// A player left waiting: the near-breach and the breach each raise the priority, tag the
// conversation, reach the helpdesk and call the escalation webhook once; the late answer
// counts as breached, the next response in time as met.
func TestSLAStagesThroughTheRouter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const target, poll = 100 * time.Millisecond, 20 * time.Millisecond
		esc := &queuedEscalations{}
		rules := router.Rules{Default: "desk", SLA: router.SLA{
			FirstResponse:  map[normalize.ChannelKind]time.Duration{normalize.KindLoopback: target},
			NextResponse:   map[normalize.ChannelKind]time.Duration{normalize.KindLoopback: 2 * target},
			Classes:        map[normalize.ChannelKind]string{normalize.KindLoopback: "chat"},
			NearBreach:     router.NearBreach{Fraction: 0.5},
			NearBreachMark: store.SLAMark{Priority: normalize.PriorityHigh, Tags: []string{"sla-near-breach"}},
			BreachMark:     store.SLAMark{Priority: normalize.PriorityUrgent, Tags: []string{"sla-breached"}},
		}}
		f := newFixtureRules(t, router.Options{PollInterval: poll, Escalations: esc}, rules, true)
		require.NoError(t, f.r.Deliver(f.ctx, inbound("p", 1)))
		conv, err := f.st.ConversationAt(f.ctx, "chat", "p")
		require.NoError(t, err)

		f.advance(target/2 - time.Millisecond)
		require.Empty(t, esc.all())
		f.advance(time.Millisecond)
		c, err := f.st.Conversation(f.ctx, conv.ID)
		require.NoError(t, err)
		require.Equal(t, normalize.SLANearBreach, c.SLA.State())
		require.Equal(t, normalize.PriorityHigh, c.Priority)
		require.Contains(t, c.Tags, "sla-near-breach")
		f.advance(target / 2)
		for range 10 {
			f.advance(poll)
		}
		c, err = f.st.Conversation(f.ctx, conv.ID)
		require.NoError(t, err)
		require.Equal(t, normalize.SLABreached, c.SLA.State())
		require.Equal(t, normalize.PriorityUrgent, c.Priority)
		require.Equal(t, []string{"sla-near-breach", "sla-breached"}, c.Tags)
		got := esc.all()
		require.Len(t, got, 2, "one call per stage")
		require.Equal(t, escalation.ReasonSLANearBreach, got[0].Reason)
		require.Equal(t, escalation.ReasonSLABreach, got[1].Reason)
		require.Equal(t, 1.0, metricValue(t, f.reg, "gateway_sla_near_breaches_total", map[string]string{"class": "chat"}))
		require.Equal(t, 1.0, mustCounter(t, f, "gateway_sla_breaches_total"))
		msgs, err := f.st.Messages(f.ctx, conv.ID, 0, 10)
		require.NoError(t, err)
		require.Len(t, msgs, 3, "the player's message and one Update per stage")

		require.NoError(t, f.r.Deliver(f.ctx, agentReply(conv.ID, "r1")))
		require.Equal(t, 1.0, metricValue(t, f.reg, "gateway_sla_responses_total",
			map[string]string{"response": "first", "class": "chat", "tier": "standard", "result": "breached"}))

		require.NoError(t, f.r.Deliver(f.ctx, inbound("p", 2)))
		f.advance(target / 2)
		require.NoError(t, f.r.Deliver(f.ctx, agentReply(conv.ID, "r2")))
		require.Equal(t, 1.0, metricValue(t, f.reg, "gateway_sla_responses_total",
			map[string]string{"response": "next", "class": "chat", "tier": "standard", "result": "met"}))
		require.Equal(t, 2.0, metricValue(t, f.reg, "gateway_sla_response_seconds", map[string]string{"class": "chat"}))
		for range 20 {
			f.advance(poll)
		}
		require.Len(t, esc.all(), 2, "an answered clock reaches no stage")
	})
}

// A case a rule flags complex (or an agent does) goes to the senior group once its hour is
// out without being resolved; a case closed in time does not.
func TestComplexCaseEscalates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const poll = time.Second
		esc := &queuedEscalations{}
		rules := router.Rules{Default: "desk",
			List: []router.Rule{{Name: "chargebacks", Keywords: []string{"chargeback"}, Helpdesk: "desk", Group: "payments", Complex: true}},
			SLA: router.SLA{Complex: router.ComplexPolicy{After: time.Hour,
				Mark: store.ComplexMark{Group: "senior", Priority: normalize.PriorityUrgent, Tags: []string{"complex-escalated"}}}}}
		f := newFixtureRules(t, router.Options{PollInterval: poll, Escalations: esc}, rules, true)
		flagged := inbound("p", 1)
		flagged.Text = "I filed a chargeback"
		require.NoError(t, f.r.Deliver(f.ctx, flagged, inbound("q", 1)))
		p, err := f.st.ConversationAt(f.ctx, "chat", "p")
		require.NoError(t, err)
		require.Equal(t, []string{"group:payments", store.TagComplex}, p.Tags)
		q, err := f.st.ConversationAt(f.ctx, "chat", "q")
		require.NoError(t, err)
		byAgent := normalize.Message{Direction: normalize.Outbound, Source: "desk", Conversation: q.ID, ExternalID: "flag-q",
			Kind: normalize.KindSystem, Author: normalize.Author{Role: normalize.RoleAgent}, Complex: true}
		require.NoError(t, f.r.Deliver(f.ctx, byAgent))
		f.advance(30 * time.Minute)
		closing := normalize.Message{Direction: normalize.Outbound, Source: "desk", Conversation: q.ID, ExternalID: "close-q",
			Kind: normalize.KindSystem, Author: normalize.Author{Role: normalize.RoleAgent}, Status: normalize.StatusClosed}
		require.NoError(t, f.r.Deliver(f.ctx, closing))

		f.advance(30*time.Minute - time.Millisecond)
		require.Empty(t, esc.all())
		f.advance(time.Millisecond)
		for range 5 {
			f.advance(poll)
		}
		got := esc.all()
		require.Len(t, got, 1, "the resolved case is not escalated")
		require.Equal(t, escalation.ReasonComplex, got[0].Reason)
		require.Equal(t, p.ID, got[0].Conversation)
		p, err = f.st.Conversation(f.ctx, p.ID)
		require.NoError(t, err)
		require.Equal(t, normalize.PriorityUrgent, p.Priority)
		require.Equal(t, []string{store.TagComplex, "complex-escalated", "group:senior"}, p.Tags)
		require.Equal(t, 1.0, metricValue(t, f.reg, "gateway_complex_escalations_total", nil))
	})
}

// With the real escalation queue, the router has the store write each stage's escalation in
// the marking's transaction (router/store's TestSLAStageEscalationSurvivesACrash shows what
// that saves): the near-breach, breach and complex calls are queued by the time the stages
// are marked, under the keys the stages always had.
func TestSLAStageEscalationsQueuedWithTheMark(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const target, poll = 100 * time.Millisecond, 20 * time.Millisecond
		// Stage needs no records: the store writes what it gives.
		q := escalation.New(nil, "http://127.0.0.1:1", []byte("escalation-secret-0123456789"), escalation.Options{}, slog.New(slog.DiscardHandler))
		rules := router.Rules{Default: "desk",
			List: []router.Rule{{Name: "chargebacks", Keywords: []string{"chargeback"}, Helpdesk: "desk", Complex: true}},
			SLA: router.SLA{
				FirstResponse: map[normalize.ChannelKind]time.Duration{normalize.KindLoopback: target},
				NearBreach:    router.NearBreach{Fraction: 0.5},
				Complex:       router.ComplexPolicy{After: 3 * target, Mark: store.ComplexMark{Group: "senior"}},
			}}
		f := newFixtureRules(t, router.Options{PollInterval: poll, Escalations: q}, rules, true)
		msg := inbound("p", 1)
		msg.Text = "a chargeback"
		require.NoError(t, f.r.Deliver(f.ctx, msg))
		conv, err := f.st.ConversationAt(f.ctx, "chat", "p")
		require.NoError(t, err)
		for range 20 {
			f.advance(poll)
		}
		recs, err := f.st.ListRecords(f.ctx, "escalation", "q/", "", 10)
		require.NoError(t, err)
		var keys []string
		for _, r := range recs {
			keys = append(keys, r.Key)
		}
		since := conv.SLA.AwaitingSince.UnixMilli()
		require.Len(t, keys, 3)
		require.Contains(t, keys, fmt.Sprintf("q/sla_near_breach-%s-%d", conv.ID, since))
		require.Contains(t, keys, fmt.Sprintf("q/sla_breach-%s-%d", conv.ID, since))
		require.Contains(t, strings.Join(keys, " "), "q/complex-"+string(conv.ID)+"-")
	})
}

// A hand-off's clock is timed by the bot's rule: its SLA hours when it has them, else the
// policy's; a bot no rule names (removed from the configuration) takes the policy's.
func TestHandoffClock(t *testing.T) {
	office, err := calendar.New("Europe/Bucharest", []string{"mon-fri 09:00-18:00"}, nil)
	require.NoError(t, err)
	london, err := calendar.New("Europe/London", []string{"mon-sun 08:00-22:00"}, nil)
	require.NoError(t, err)
	chat := normalize.ChannelKind("telegram")
	rules := router.Rules{Default: "desk",
		List: []router.Rule{{Name: "faq", Helpdesk: "desk", Bot: "faq"}, {Name: "uk", Helpdesk: "desk", Bot: "uk", SLAHours: london}},
		SLA:  router.SLA{FirstResponse: map[normalize.ChannelKind]time.Duration{chat: time.Hour}, Hours: office}}
	// Saturday 2026-12-05 12:00 UTC: Bucharest is closed until Monday 09:00 (07:00 UTC);
	// London is open.
	since := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		bot string
		due time.Time
	}{
		{"faq", time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)},
		{"uk", time.Date(2026, 12, 5, 13, 0, 0, 0, time.UTC)},
		{"", time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.bot, func(t *testing.T) {
			_, due := rules.HandoffClock(tt.bot)(chat, since, false, 0)
			require.True(t, tt.due.Equal(due), "due %s, want %s", due, tt.due)
		})
	}
}
