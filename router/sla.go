package router

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/calendar"
	"github.com/casino-support/gateway/router/escalation"
	"github.com/casino-support/gateway/router/store"
)

// SLA is the response policy (docs/policy.md, "SLA"): how long a player may wait for an
// agent's first answer and for each answer after it, per channel type and VIP tier, counted
// in business hours when a calendar is set; what a clock near its breach and past it does;
// and how long a case flagged complex may stay unresolved before it goes to the senior group.
type SLA struct {
	// FirstResponse is the first-response target per channel type; a type without one runs
	// no clock.
	FirstResponse map[normalize.ChannelKind]time.Duration
	// VIP, when set and shorter, is the target for players with a VIP tier on any channel.
	VIP time.Duration
	// NextResponse and VIPNext are the same for the answers after an agent's first; a type
	// without one runs no clock for them.
	NextResponse map[normalize.ChannelKind]time.Duration
	VIPNext      time.Duration
	// Tiers set targets for players from a VIP tier on; the highest MinVIP at or below the
	// player's tier applies, in place of VIP and VIPNext.
	Tiers []SLATier
	// Classes name each channel type's class (chat, email, voice) for the metrics' labels.
	Classes map[normalize.ChannelKind]string
	// Hours, when set, counts the targets in its business hours; a routing rule's SLAHours
	// replaces it for the conversations the rule opens.
	Hours *calendar.Calendar
	// NearBreach is the near-breach point; zero marks none.
	NearBreach NearBreach
	// NearBreachMark and BreachMark are what the two points do to the conversation.
	NearBreachMark, BreachMark store.SLAMark
	// Complex is the escalation of complex cases; After 0 escalates none.
	Complex ComplexPolicy
}

// SLATier is the targets for players of at least MinVIP.
type SLATier struct {
	MinVIP        int
	FirstResponse map[normalize.ChannelKind]time.Duration
	NextResponse  map[normalize.ChannelKind]time.Duration
}

// NearBreach is when a clock is near its breach: after Fraction of the target, or Before
// the target runs out (counted like the target). A target no longer than Before has none.
type NearBreach struct {
	Fraction float64
	Before   time.Duration
}

// ComplexPolicy is how long a case flagged complex may stay unresolved (After, wall-clock
// time), and what its escalation does.
type ComplexPolicy struct {
	After time.Duration
	Mark  store.ComplexMark
}

// Target is the first-response target of a conversation on a channel of kind with a player
// of vipTier; 0 is none.
func (s SLA) Target(kind normalize.ChannelKind, vipTier int) time.Duration {
	t, _ := s.target(kind, vipTier, false)
	return t
}

// target is the first (next false) or next response target, and the tier's metrics label.
func (s SLA) target(kind normalize.ChannelKind, vipTier int, next bool) (time.Duration, string) {
	targets, vip := s.FirstResponse, s.VIP
	if next {
		targets, vip = s.NextResponse, s.VIPNext
	}
	if tier := s.tier(vipTier); tier != nil {
		t := tier.FirstResponse[kind]
		if next {
			t = tier.NextResponse[kind]
		}
		return t, tierLabel(tier.MinVIP)
	}
	t := targets[kind]
	if vipTier > 0 && vip > 0 && (t <= 0 || vip < t) {
		t = vip
	}
	if vipTier > 0 {
		return t, "vip"
	}
	return t, "standard"
}

// tier is the tier that applies to vipTier, nil when none does.
func (s SLA) tier(vipTier int) *SLATier {
	var best *SLATier
	for i := range s.Tiers {
		if t := &s.Tiers[i]; t.MinVIP <= vipTier && (best == nil || t.MinVIP > best.MinVIP) {
			best = t
		}
	}
	return best
}

// tierLabel names a configured tier in the metrics: bounded by the configuration.
func tierLabel(minVIP int) string { return "vip" + strconv.Itoa(minVIP) + "+" }

// Deadlines are the near-breach point and the due time of a response clock started at since
// on a channel of kind, for the first answer or (next) a later one, for a player of vipTier,
// counted in hours (all hours when nil); zero times for none.
func (s SLA) Deadlines(kind normalize.ChannelKind, hours *calendar.Calendar, since time.Time, next bool, vipTier int) (near, due time.Time) {
	target, _ := s.target(kind, vipTier, next)
	if target <= 0 {
		return time.Time{}, time.Time{}
	}
	add := func(d time.Duration) time.Time { return since.Add(d) }
	if hours != nil {
		add = func(d time.Duration) time.Time { return hours.Add(since, d) }
	}
	due = add(target)
	switch nb := s.NearBreach; {
	case nb.Fraction > 0:
		near = add(time.Duration(float64(target) * nb.Fraction))
	case nb.Before > 0 && nb.Before < target:
		near = add(target - nb.Before)
	}
	return near, due
}

// HandoffClock times the response clock that the hand-off of the FAQ bot named bot starts
// (store.Release): the rule of that bot's SLA hours, else the policy's. A bot's answers stop
// no clock, so the player's wait for a person counts from the hand-off (docs/policy.md).
func (rs Rules) HandoffClock(bot string) store.HandoffClock {
	hours := rs.SLA.Hours
	for _, r := range rs.List {
		if r.Bot == bot && bot != "" && r.SLAHours != nil {
			hours = r.SLAHours
			break
		}
	}
	sla := rs.SLA
	return func(kind normalize.ChannelKind, since time.Time, next bool, vipTier int) (time.Time, time.Time) {
		return sla.Deadlines(kind, hours, since, next, vipTier)
	}
}

// assessSLA completes a of message m with the SLA's clocks and the rule's complex flag.
func (r *Router) assessSLA(a store.Assessment, m normalize.Message, d Decision) store.Assessment {
	hours := r.rules.SLA.Hours
	if d.SLAHours != nil {
		hours = d.SLAHours
	}
	// The clock keeps the channel kind, not m: a copy of the whole message escaped to the heap
	// with it for every message taken in.
	kind := m.ChannelKind
	a.Clock = func(since time.Time, next bool, vipTier int) (time.Time, time.Time) {
		return r.rules.SLA.Deadlines(kind, hours, since, next, vipTier)
	}
	if d.Complex && r.rules.SLA.Complex.After > 0 {
		a.Complex = true
		a.Tags = append(a.Tags, store.TagComplex)
	}
	return a
}

// slaMetrics measure the response targets: attainment and response times, by response
// (first, next), channel class (chat, email, voice) and tier (standard, vip, vipN+): labels
// bounded by the configuration.
type slaMetrics struct {
	responses  *prometheus.CounterVec
	seconds    *prometheus.HistogramVec
	nearBreach *prometheus.CounterVec
	complex    prometheus.Counter
}

func newSLAMetrics(reg prometheus.Registerer) *slaMetrics {
	m := &slaMetrics{
		responses: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gateway_sla_responses_total",
			Help: "Agents' answers that stopped a response clock, by response (first, next), channel class, tier and result (met, breached)."},
			[]string{"response", "class", "tier", "result"}),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "gateway_sla_response_seconds",
			Help:    "Time from the player's oldest unanswered message to the agent's answer (wall-clock), by response (first, next) and channel class.",
			Buckets: []float64{15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 28800, 86400, 259200}}, []string{"response", "class"}),
		nearBreach: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gateway_sla_near_breaches_total",
			Help: "Response clocks that passed their near-breach point, by channel class."}, []string{"class"}),
		complex: prometheus.NewCounter(prometheus.CounterOpts{Name: "gateway_complex_escalations_total",
			Help: "Complex cases not resolved in time and sent to the senior group."}),
	}
	reg.MustRegister(m.responses, m.seconds, m.nearBreach, m.complex)
	return m
}

// class is kind's channel class for the metrics; "other" for a type the policy does not name.
func (s SLA) class(kind normalize.ChannelKind) string {
	if c, ok := s.Classes[kind]; ok {
		return c
	}
	return "other"
}

// observeAnswers counts the answers among accepted that stopped a response clock.
func (r *Router) observeAnswers(accepted []store.Accepted) {
	for _, a := range accepted {
		ans := a.Answered
		if a.Duplicate || ans == nil {
			continue
		}
		response := "first"
		if ans.Next {
			response = "next"
		}
		_, tier := r.rules.SLA.target(ans.ChannelKind, ans.VIPTier, ans.Next)
		result := "met"
		if ans.Breached {
			result = "breached"
		}
		class := r.rules.SLA.class(ans.ChannelKind)
		r.sla.responses.WithLabelValues(response, class, tier, result).Inc()
		r.sla.seconds.WithLabelValues(response, class).Observe(ans.At.Sub(ans.AwaitingSince).Seconds())
	}
}

// slaBatch bounds the stages marked in one transaction.
const slaBatch = 200

// markSLAStages marks one batch of each stage that is due and reports whether a batch was
// full (more may wait); err when the store failed.
func (r *Router) markSLAStages(ctx context.Context) (full bool, err error) {
	sla := r.rules.SLA
	marked := 0
	if sla.NearBreach != (NearBreach{}) {
		near, err := r.store.MarkSLA(ctx, store.StageNearBreach, r.withEscalation(sla.NearBreachMark, escalation.ReasonSLANearBreach), slaBatch)
		if err != nil {
			return false, fmt.Errorf("mark near-breaches: %w", err)
		}
		for _, c := range near {
			r.sla.nearBreach.WithLabelValues(sla.class(c.ChannelKind)).Inc()
			r.log.Warn("sla: response target near", "conv", c.ID, "channel", c.Channel, "helpdesk", c.Helpdesk,
				"next", c.SLA.Next, "awaiting_since", c.SLA.AwaitingSince, "due_at", c.SLA.DueAt)
			r.escalateUnstaged(ctx, c, escalation.ReasonSLANearBreach, r.clock.Now())
		}
		full, marked = len(near) == slaBatch, marked+len(near)
	}
	breached, err := r.store.MarkSLA(ctx, store.StageBreach, r.withEscalation(sla.BreachMark, escalation.ReasonSLABreach), slaBatch)
	if err != nil {
		return false, fmt.Errorf("mark breaches: %w", err)
	}
	for _, c := range breached {
		r.m.slaBreaches.WithLabelValues(string(c.Channel)).Inc()
		r.log.Warn("sla: response target missed", "conv", c.ID, "channel", c.Channel, "helpdesk", c.Helpdesk,
			"next", c.SLA.Next, "awaiting_since", c.SLA.AwaitingSince, "due_at", c.SLA.DueAt)
		r.escalateUnstaged(ctx, c, escalation.ReasonSLABreach, r.clock.Now())
	}
	full, marked = full || len(breached) == slaBatch, marked+len(breached)
	if sla.Complex.After > 0 {
		mark := sla.Complex.Mark
		mark.Records = r.stagedEscalation(escalation.ReasonComplex)
		escalated, err := r.store.MarkComplexEscalations(ctx, r.clock.Now().Add(-sla.Complex.After), mark, slaBatch)
		if err != nil {
			return false, fmt.Errorf("mark complex escalations: %w", err)
		}
		for _, c := range escalated {
			r.sla.complex.Inc()
			r.log.Warn("sla: complex case escalated", "conv", c.ID, "channel", c.Channel, "helpdesk", c.Helpdesk, "group", sla.Complex.Mark.Group)
			r.escalateUnstaged(ctx, c, escalation.ReasonComplex, r.clock.Now())
		}
		full, marked = full || len(escalated) == slaBatch, marked+len(escalated)
	}
	if marked > 0 {
		r.poke()
		if q, ok := r.opts.Escalations.(stagedEscalations); ok {
			q.Wake()
		}
	}
	return full, nil
}

// nextSLAStage is when the next stage is due: a clock's near-breach point or breach, or a
// complex case's escalation; the zero time when none is.
func (r *Router) nextSLAStage(ctx context.Context) (time.Time, error) {
	next, err := r.store.NextSLADue(ctx)
	if err != nil {
		return time.Time{}, err
	}
	if after := r.rules.SLA.Complex.After; after > 0 {
		flagged, err := r.store.NextComplexFlag(ctx)
		if err != nil {
			return time.Time{}, err
		}
		if due := flagged.Add(after); !flagged.IsZero() && (next.IsZero() || due.Before(next)) {
			next = due
		}
	}
	return next, nil
}

// watchSLA marks the SLA's stages as they come due until ctx ends: each becomes an Update in
// the conversation's helpdesk lane, so the ticket system learns of it in order with the
// messages, and a call of the escalation webhook. It reads the next due time at least every
// PollInterval, because intake starts new clocks, and writes only when a stage is due.
func (r *Router) watchSLA(ctx context.Context) {
	for ctx.Err() == nil {
		next, err := r.nextSLAStage(ctx)
		if err != nil && ctx.Err() == nil {
			r.log.Error("sla: read the next due time", "err", err)
		}
		if err == nil && !next.IsZero() && !next.After(r.clock.Now()) {
			full, merr := r.markSLAStages(ctx)
			switch {
			case merr != nil:
				if ctx.Err() == nil {
					r.log.Error("sla: mark", "err", merr)
				}
				// The due time is still past: wait a round instead of spinning on the error.
				next, err = time.Time{}, errors.New("marking failed")
			case full:
				continue
			default:
				next, err = r.nextSLAStage(ctx)
			}
		}
		d := r.opts.PollInterval
		if err == nil && !next.IsZero() {
			d = min(d, max(next.Sub(r.clock.Now()), time.Millisecond))
		}
		t := r.clock.NewTimer(d)
		select {
		case <-ctx.Done():
		case <-t.C():
		}
		t.Stop()
	}
}

// stagedEscalations is an Escalations whose calls the store can queue in the transaction
// that marks a stage (escalation.Queue is one): a crash between marking and queueing would
// otherwise lose the call, since the stage is marked once.
type stagedEscalations interface {
	Stage(e escalation.Escalation) (escalation.Staged, error)
	Wake()
}

// withEscalation is mark with the escalation of reason queued in its transaction, when the
// escalations can be.
func (r *Router) withEscalation(mark store.SLAMark, reason string) store.SLAMark {
	mark.Records = r.stagedEscalation(reason)
	return mark
}

// stagedEscalation writes the escalation of reason with each stage marked; nil when there
// are no escalations, or they cannot be staged (escalateUnstaged queues them after).
func (r *Router) stagedEscalation(reason string) store.StageRecords {
	q, ok := r.opts.Escalations.(stagedEscalations)
	if !ok {
		return nil
	}
	return func(c normalize.Conversation, at time.Time) ([]store.StageRecord, error) {
		st, err := q.Stage(stageEscalation(c, reason, at))
		if err != nil {
			return nil, err
		}
		return []store.StageRecord{{Instance: st.Instance, Key: st.Key, Value: st.Value, Unless: st.Done, Expires: st.Expires}}, nil
	}
}

// escalateUnstaged queues the escalation of reason about c, marked at at, after its mark,
// for escalations the store cannot queue with the mark.
func (r *Router) escalateUnstaged(ctx context.Context, c normalize.Conversation, reason string, at time.Time) {
	if _, ok := r.opts.Escalations.(stagedEscalations); ok || r.opts.Escalations == nil {
		return
	}
	e := stageEscalation(c, reason, at)
	if err := r.opts.Escalations.Enqueue(ctx, e); err != nil {
		r.log.Error("sla: queue the escalation", "conv", c.ID, "reason", reason, "err", err)
	}
}

// stageEscalation is the escalation of a stage of reason about c, marked at at. Its key names
// the clock run (the complex case's mark), so the same stage is the same call.
func stageEscalation(c normalize.Conversation, reason string, at time.Time) escalation.Escalation {
	key := fmt.Sprintf("%s-%s-%d", reason, c.ID, c.SLA.AwaitingSince.UnixMilli())
	if reason == escalation.ReasonComplex {
		key = fmt.Sprintf("%s-%s-%d", reason, c.ID, at.UnixMilli())
	}
	e := escalation.Escalation{Key: key, Reason: reason, Conversation: c.ID, Channel: c.Channel, Helpdesk: c.Helpdesk,
		Ticket: string(c.Ticket), Player: escalation.PlayerOf(c), Priority: c.Priority, Language: c.Language, At: at}
	if reason != escalation.ReasonComplex {
		e.DueAt = c.SLA.DueAt
	}
	return e
}
