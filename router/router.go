// Package router owns the path of every message between connectors: it implements
// connectors.Sink (durable intake with dedup), picks the helpdesk of new conversations, and
// runs the delivery workers that drain each conversation's outbox in order, with retries,
// back-off, Retry-After and dead letters.
package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/autoreply"
	"github.com/casino-support/gateway/router/clock"
	"github.com/casino-support/gateway/router/health"
	"github.com/casino-support/gateway/router/store"
)

// Store is what the router needs of the database; router/store implements it, and
// test/conformance checks every implementation.
type Store interface {
	Intake(ctx context.Context, msgs []normalize.Message, assess store.Assess) ([]store.Accepted, error)
	IntakeHandoff(ctx context.Context, msgs []normalize.Message, assess store.Assess, h store.Handoff) ([]store.Accepted, []store.Lane, error)
	Claim(ctx context.Context, owner string, max store.Budget, batch int, lease time.Duration) ([]store.Lane, error)
	Complete(ctx context.Context, o store.Outcome) error
	CompleteNext(ctx context.Context, o store.Outcome, batch int, lease time.Duration) (store.Lane, bool, error)
	CompleteClaim(ctx context.Context, o store.Outcome, batch int, lease time.Duration) (store.Lane, bool, error)
	Renew(ctx context.Context, conv normalize.ConversationID, dir normalize.Direction, token int64, lease time.Duration) error
	NextDue(ctx context.Context, dirs ...normalize.Direction) (time.Time, error)
	Stats(ctx context.Context) (store.Stats, error)
	Conversation(ctx context.Context, id normalize.ConversationID) (normalize.Conversation, error)
	MarkSLABreaches(ctx context.Context, limit int) ([]normalize.Conversation, error)
	NextSLADue(ctx context.Context) (time.Time, error)
	MarkSLA(ctx context.Context, stage store.SLAStage, mark store.SLAMark, limit int) ([]normalize.Conversation, error)
	MarkComplexEscalations(ctx context.Context, flaggedBefore time.Time, mark store.ComplexMark, limit int) ([]normalize.Conversation, error)
	NextComplexFlag(ctx context.Context) (time.Time, error)
	MarkState(ctx context.Context, id normalize.MessageID, state normalize.DeliveryState) error
	MarkFailed(ctx context.Context, channel normalize.InstanceName, id normalize.MessageID, reason string) (bool, error)
	SentReply(ctx context.Context, channel normalize.InstanceName, externalID normalize.ExternalID) (normalize.MessageID, error)
	ConversationAt(ctx context.Context, channel normalize.InstanceName, address normalize.Address) (normalize.Conversation, error)
}

// Health hears what the router learns of the connectors' health: what they report through
// the Sink (connectors.HealthSink), and deliveries whose credentials a remote refused, until
// a delivery to it succeeds again. router/health's Board implements it.
type Health interface {
	Report(name normalize.InstanceName, source health.Source, problem error)
}

// noHealth is the Health of a router given none.
type noHealth struct{}

func (noHealth) Report(normalize.InstanceName, health.Source, error) {}

// Options tune delivery.
type Options struct {
	// Workers deliver players' messages to the helpdesks, OutboundWorkers agents' replies to
	// the channels, each one conversation at a time. The two are apart so that a slow side
	// never holds the other's workers: replies waiting on a channel's rate limit, or a channel
	// that hangs, must not stop players' messages from reaching the agents, nor the reverse.
	Workers         int
	OutboundWorkers int
	MaxAttempts     int
	BackoffBase     time.Duration
	BackoffMax      time.Duration
	BatchSize       int
	Lease           time.Duration
	PollInterval    time.Duration // upper bound on waiting when nothing signals new work
	// DrainTimeout bounds how long Run lets in-flight deliveries finish after ctx ends.
	DrainTimeout time.Duration
	// Clock times every wait of the router (polls, back-off, Retry-After, SLA targets, the
	// drain) and the retry times it records; nil is the system clock. The store must read the
	// same clock, or the due times the router sets and the store's now drift apart.
	Clock clock.Clock
	// Health hears of connectors that do not work; nil hears nothing.
	Health Health
	// MaxText is the most characters of text a player's message keeps, by channel type;
	// longer text is cut with a note. Types not listed, and agents' replies, keep
	// DefaultMaxText, which is the package's DefaultMaxText when 0.
	MaxText        map[normalize.ChannelKind]int
	DefaultMaxText int
	// Languages chooses the language of each player's message (enrich.go); nil keeps the
	// channel's hint as it came.
	Languages Languages
	// Directory completes each player's message with the player directory's knowledge
	// (enrich.go); nil asks no directory.
	Directory Directory
	// DutyOfCare flags players' messages that signal gambling harm (care.go); nil flags none.
	DutyOfCare DutyOfCare
	// Escalations queues the escalation webhook's calls for duty of care and SLA breaches;
	// nil calls none.
	Escalations Escalations
	// AutoReplies acknowledges conversations and tells players writing outside business
	// hours when support opens (autoreplies.go); nil sends none.
	AutoReplies *autoreply.Replies
	// Bot answers the players of conversations a rule with a bot opened, before any helpdesk
	// sees them (router/faqbot); nil answers none.
	Bot Bot
}

// Bot is the FAQ bot as intake hands it the players' messages just stored (duplicates
// included: a redelivery lets it finish what a crash cut short); faqbot.Engine implements
// it. An error fails the delivery, so the channel delivers the messages again.
type Bot interface {
	Take(ctx context.Context, msgs []normalize.Message, accepted []store.Accepted) error
}

func (o *Options) defaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defd := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.Workers, 16)
	def(&o.OutboundWorkers, 8)
	def(&o.MaxAttempts, 12)
	def(&o.BatchSize, 50)
	def(&o.DefaultMaxText, DefaultMaxText)
	defd(&o.BackoffBase, time.Second)
	defd(&o.BackoffMax, 10*time.Minute)
	defd(&o.Lease, 2*time.Minute)
	defd(&o.PollInterval, time.Second)
	defd(&o.DrainTimeout, 30*time.Second)
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Health == nil {
		o.Health = noHealth{}
	}
}

// Router is the gateway's hub. It is a connectors.Sink.
type Router struct {
	store     Store
	channels  map[normalize.InstanceName]connectors.Channel
	helpdesks map[normalize.InstanceName]connectors.Helpdesk
	rules     Rules
	opts      Options
	log       *slog.Logger
	m         *metrics
	sla       *slaMetrics
	owner     string
	wake      chan struct{}
	clock     clock.Clock
	cleaner   *cleaner
	// disp runs the workers while Run runs; nil otherwise.
	disp atomic.Pointer[dispatcher]
}

var _ connectors.Sink = (*Router)(nil)

// New returns a router. channels and helpdesks are keyed by instance name.
func New(st Store, channels map[normalize.InstanceName]connectors.Channel, helpdesks map[normalize.InstanceName]connectors.Helpdesk,
	rules Rules, opts Options, reg prometheus.Registerer, log *slog.Logger) *Router {
	opts.defaults()
	return &Router{
		store: withCare(st, opts, log), channels: channels, helpdesks: helpdesks, rules: rules, opts: opts, log: log,
		m:       newMetrics(reg, st.Stats, log),
		sla:     newSLAMetrics(reg),
		owner:   "router-" + string(normalize.NewMessageID()),
		wake:    make(chan struct{}, 1),
		clock:   opts.Clock,
		cleaner: newCleaner(opts.MaxText, opts.DefaultMaxText, reg, log),
	}
}

// Deliver implements connectors.Sink.
func (r *Router) Deliver(ctx context.Context, msgs ...normalize.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	source := string(msgs[0].Source)
	// Cleaned here, where every channel's and helpdesk's messages pass, before anything stores
	// or shows them.
	msgs = r.cleaner.clean(msgs)
	r.enrich(ctx, msgs)
	if err := r.markReturning(ctx, msgs); err != nil {
		return fmt.Errorf("router: %w", err)
	}
	// The lanes this intake makes claimable go straight to workers, leased in its transaction:
	// no claim, and no poke, for them (dispatch.go).
	var h store.Handoff
	disp := r.disp.Load()
	if disp != nil {
		h = disp.handoff(msgs)
	}
	accepted, lanes, err := r.store.IntakeHandoff(ctx, msgs, r.assess, h)
	if disp != nil {
		disp.handed(h, lanes)
	}
	if err != nil {
		reason := "error"
		if connectors.IsPermanent(err) {
			reason = "invalid"
		}
		r.m.rejected.WithLabelValues(source, reason).Inc()
		return fmt.Errorf("router: intake from %s: %w", source, err)
	}
	r.observeAnswers(accepted)
	if err := r.outOfHours(ctx, msgs, accepted); err != nil {
		return fmt.Errorf("router: intake from %s: %w", source, err)
	}
	if r.opts.Bot != nil {
		if err := r.opts.Bot.Take(ctx, msgs, accepted); err != nil {
			return fmt.Errorf("router: intake from %s: %w", source, err)
		}
		defer r.poke() // the bot's answers are queued for the channel
	}
	handed := make(map[laneKey]bool, len(lanes))
	for _, l := range lanes {
		handed[laneKey{l.Conversation.ID, l.Direction}] = true
	}
	unhanded := false
	for i, a := range accepted {
		if a.Duplicate {
			r.m.duplicates.WithLabelValues(string(msgs[i].Source)).Inc()
			r.log.Debug("duplicate dropped", "source", msgs[i].Source, "external_id", msgs[i].ExternalID, "msg_id", a.ID)
			continue
		}
		unhanded = unhanded || !handed[laneKey{a.Conversation, msgs[i].Direction}]
		r.m.received.WithLabelValues(string(msgs[i].Source), string(msgs[i].Direction)).Inc()
		if a.Opened {
			r.log.Info("conversation opened", "conv", a.Conversation, "channel", msgs[i].Channel)
		}
	}
	if unhanded {
		r.poke() // a lane no worker took yet: the claim loop looks for it
	}
	return nil
}

func (r *Router) assess(m normalize.Message) store.Assessment {
	d := r.rules.Decide(Facts{Message: m, Now: r.clock.Now()})
	return r.assessSLA(store.Assessment{Helpdesk: d.Helpdesk, Priority: d.Priority, Tags: d.Tags, Assignee: d.Assignee, Hold: d.Bot,
		FirstResponse: r.rules.SLA.Target(m.ChannelKind, 0), VIPFirstResponse: r.rules.SLA.Target(m.ChannelKind, 1)}, m, d)
}

func (r *Router) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

type laneKey struct {
	conv normalize.ConversationID
	dir  normalize.Direction
}

// Run delivers queued messages until ctx ends, then lets in-flight deliveries finish for up to
// DrainTimeout before cancelling them (a cancelled delivery is retried after restart).
func (r *Router) Run(ctx context.Context) error {
	deliverCtx, cancelDeliveries := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelDeliveries()
	slaDone := make(chan struct{})
	go func() { defer close(slaDone); r.watchSLA(ctx) }()
	defer func() { <-slaDone }()
	acksDone := make(chan struct{})
	go func() { defer close(acksDone); r.watchAcknowledgements(ctx) }()
	defer func() { <-acksDone }()
	d := newDispatcher(r, deliverCtx)
	r.disp.Store(d)
	defer r.disp.Store(nil)
	for ctx.Err() == nil {
		free := d.reserve()
		var claimed store.Budget
		var lanes []store.Lane
		failed := false
		if free.Inbound > 0 || free.Outbound > 0 {
			var err error
			lanes, err = r.store.Claim(ctx, r.owner, free, r.opts.BatchSize, r.opts.Lease)
			if err != nil && ctx.Err() == nil {
				r.log.Error("claim due conversations", "err", err)
			}
			failed = err != nil
			for _, lane := range lanes {
				if lane.Direction == normalize.Inbound {
					claimed.Inbound++
				} else {
					claimed.Outbound++
				}
			}
		}
		d.claimed(free, lanes)
		inFull := free.Inbound > 0 && claimed.Inbound == free.Inbound
		outFull := free.Outbound > 0 && claimed.Outbound == free.Outbound
		if inFull || outFull {
			d.starved.Store(true)
			continue // there may be more due right now; claim again when a worker frees up
		}
		if !failed && free.Inbound > 0 && free.Outbound > 0 {
			d.starved.Store(false) // the claim took every lane due
		}
		// A direction whose workers are all busy has due lanes the next claim cannot take: the
		// wait looks at the other direction's next due time only, and a worker finishing ends
		// it. With workers free in both directions, the claim took every lane due, so only
		// new work (a poke) or the next due time ends the wait. After a failed claim the due
		// time is still past: wait a round instead of spinning.
		switch {
		case failed || (free.Inbound <= 0 && free.Outbound <= 0):
			r.wait(ctx, d.done, false)
		case free.Inbound <= 0:
			r.wait(ctx, d.done, true, normalize.Outbound)
		case free.Outbound <= 0:
			r.wait(ctx, d.done, true, normalize.Inbound)
		default:
			r.wait(ctx, nil, true)
		}
	}
	d.stop()
	finished := make(chan struct{})
	go func() { d.wg.Wait(); close(finished) }()
	drain := r.clock.NewTimer(r.opts.DrainTimeout)
	defer drain.Stop()
	select {
	case <-finished:
	case <-drain.C():
		r.log.Warn("shutdown: cancelling deliveries still in flight; they are retried after restart")
		cancelDeliveries()
		<-finished
	}
	return nil
}

// wait blocks until there may be work: new intake, a worker finishing (when done is not nil),
// or, with lookAhead, the next due time of a lane (of the directions dirs, when given).
func (r *Router) wait(ctx context.Context, done <-chan struct{}, lookAhead bool, dirs ...normalize.Direction) {
	d := r.opts.PollInterval
	if lookAhead {
		if next, err := r.store.NextDue(ctx, dirs...); err == nil && !next.IsZero() {
			if until := next.Sub(r.clock.Now()); until < d {
				d = max(until, time.Millisecond)
			}
		}
	}
	t := r.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-r.wake:
	case <-done:
	case <-t.C():
	}
}

// claimedBefore reports whether claim, made while the worker that produced o was running,
// came before o was recorded: it then hands out a message o delivered or dead-lettered, which
// is no longer queued once o is recorded. Such a claim's lease was ours and o's record
// released it; a later claim holds the lane and must be delivered, not left leased and idle.
func claimedBefore(claim store.Lane, o store.Outcome) bool {
	handled := map[int64]bool{}
	for _, d := range o.Delivered {
		handled[d.Seq] = true
	}
	if o.Failure != nil && o.Failure.Dead {
		handled[o.Failure.Seq] = true
	}
	for _, p := range claim.Pending {
		if handled[p.Seq] {
			return true
		}
	}
	return false
}

// deliverLane hands one claimed lane to its target, records the outcome and returns it, and,
// when the record handed out more (as then, asked as the outcome is recorded, chose: the
// lane's next messages, or the lane due longest), that lane (more). The lane stays busy until
// the record is done: a claim that found its lease lapsed must not start a second worker
// posting the same messages while this one records them.
func (r *Router) deliverLane(ctx context.Context, lane store.Lane, held *lease, then func() nextStep) (o store.Outcome, next store.Lane, more bool) {
	deliverCtx, giveUp := context.WithCancelCause(ctx)
	defer giveUp(nil)
	stopRenewing := r.renewWhileDelivering(ctx, lane.Conversation.ID, lane.Direction, held, giveUp)
	lost := false
	if lane.Direction == normalize.Inbound {
		o = r.postInbound(deliverCtx, lane)
	} else {
		o, lost = r.sendOutbound(deliverCtx, lane, held)
	}
	stopRenewing()
	o.Conversation, o.Direction, o.Owner = lane.Conversation.ID, lane.Direction, r.owner
	if lost || errors.Is(context.Cause(deliverCtx), store.ErrLeaseLost) {
		return o, next, false // another worker holds the lane and delivers it; nothing of this is recorded
	}
	batch, step := 0, then()
	if step != stepStop {
		batch = r.opts.BatchSize
	}
	if deliverCtx.Err() != nil {
		batch, step = 0, stepStop
		// The drain ran out, or the lease was about to lapse, and cut this attempt short. What
		// the target took must be recorded all the same, or it goes out again; the cut is no
		// failure of the target.
		ctx = context.WithoutCancel(ctx)
		if f := o.Failure; f != nil {
			f.Dead, f.CountsAsFailure, f.RetryAt = false, false, r.clock.Now()
		}
	}
	next, more, err := r.complete(ctx, o, held, batch, step == stepTakeDue)
	if err != nil {
		if !errors.Is(err, store.ErrLeaseLost) {
			// The lease lapses and the lane is retried; the target's idempotency absorbs the repeat.
			r.log.Error("record delivery outcome", "conv", lane.Conversation.ID, "err", err)
		}
		return o, next, false
	}
	r.observe(lane, o)
	r.ticketed(ctx, lane, o)
	return o, next, more
}

func (r *Router) postInbound(ctx context.Context, lane store.Lane) store.Outcome {
	conv := lane.Conversation
	o := store.Outcome{Target: conv.Helpdesk}
	hd, ok := r.helpdesks[conv.Helpdesk]
	if !ok {
		return r.fail(lane, o, 0, connectors.Permanent(fmt.Errorf("helpdesk %q is not configured", conv.Helpdesk)))
	}
	batch := make([]connectors.Delivery, len(lane.Pending))
	for i, p := range lane.Pending {
		batch[i] = connectors.Delivery{Message: p.Message, Attempt: p.Attempt}
	}
	r.awaitTicket(ctx, conv)
	ticket, ids, err := hd.Post(ctx, conv, batch)
	if len(ids) > len(batch) {
		ids, err = ids[:len(batch)], errors.Join(err, fmt.Errorf("helpdesk %s returned more IDs than messages", conv.Helpdesk))
	}
	if len(ids) > 0 || err == nil {
		r.opts.Health.Report(conv.Helpdesk, health.SourceDelivery, nil) // the helpdesk took something
	}
	if conv.Ticket == "" {
		o.Ticket = ticket
	}
	for i, id := range ids {
		o.Delivered = append(o.Delivered, store.Delivered{Seq: lane.Pending[i].Seq, ID: lane.Pending[i].Message.ID, TargetID: id})
	}
	if err != nil {
		if len(ids) == len(batch) {
			r.log.Warn("helpdesk reported an error after posting every message", "helpdesk", conv.Helpdesk, "conv", conv.ID, "err", err)
			return o
		}
		return r.fail(lane, o, len(ids), fmt.Errorf("helpdesk %s: %w", conv.Helpdesk, err))
	}
	return o
}

// sendOutbound sends the lane's messages one by one; lost is true when recording one of
// them found the lane another worker's (it then stops, and the other worker goes on).
func (r *Router) sendOutbound(ctx context.Context, lane store.Lane, held *lease) (o store.Outcome, lost bool) {
	conv := lane.Conversation
	o = store.Outcome{Target: conv.Channel}
	ch, ok := r.channels[conv.Channel]
	if !ok {
		return r.fail(lane, o, 0, connectors.Permanent(fmt.Errorf("channel %q is not configured", conv.Channel))), false
	}
	for i, p := range lane.Pending {
		var id normalize.ExternalID
		// Internal notes and status changes are recorded; they never reach the player.
		if k := p.Message.Kind; k != normalize.KindNote && k != normalize.KindSystem {
			var err error
			if id, err = ch.Send(ctx, conv, withOptions(ch, p.Message)); err != nil {
				return r.fail(lane, o, i, fmt.Errorf("channel %s: %w", conv.Channel, err)), false
			}
			r.opts.Health.Report(conv.Channel, health.SourceDelivery, nil)
		}
		d := store.Delivered{Seq: p.Seq, ID: p.Message.ID, TargetID: id}
		o.Delivered = append(o.Delivered, d)
		// Channels rarely take idempotency keys: record each send at once, so a crash repeats
		// at most the one message in flight.
		if i < len(lane.Pending)-1 {
			step := store.Outcome{Conversation: conv.ID, Direction: lane.Direction, Owner: r.owner, Target: conv.Channel,
				Delivered: []store.Delivered{d}, Keep: true}
			if _, _, err := r.complete(ctx, step, held, 0, false); errors.Is(err, store.ErrLeaseLost) {
				return o, true
			} else if err != nil {
				r.log.Error("record delivery", "conv", conv.ID, "msg_id", p.Message.ID, "err", err)
			}
		}
	}
	return o, false
}

// fail records that lane.Pending[at] failed with err and decides when the lane is retried.
func (r *Router) fail(lane store.Lane, o store.Outcome, at int, err error) store.Outcome {
	p := lane.Pending[at]
	f := &store.Failure{Seq: p.Seq, Err: err.Error(), CountsAsFailure: true}
	// lane.Failures are the head's; a message behind delivered ones fails for the first time.
	failures := lane.Failures
	if at > 0 {
		failures = 0
	}
	kind := "retry"
	switch delay, ok := connectors.RetryDelay(err); {
	case connectors.IsUnauthorized(err):
		// The message is fine; the credentials are not. It waits, neither counting the attempt
		// nor ever becoming a dead letter for it, while the connector is reported not ready.
		f.RetryAt, f.CountsAsFailure, kind = r.clock.Now().Add(r.credentialWait()), false, "unauthorized"
		r.opts.Health.Report(o.Target, health.SourceDelivery, err)
	case connectors.IsPermanent(err):
		f.Dead, kind = true, "permanent"
	case ok:
		f.RetryAt, f.CountsAsFailure, kind = r.clock.Now().Add(delay), false, "retry_after"
	case failures+1 >= r.opts.MaxAttempts:
		f.Dead = true
		f.Err = fmt.Sprintf("gave up after %d attempts: %s", failures+1, f.Err)
	default:
		f.RetryAt = r.clock.Now().Add(r.backoff(failures + 1))
	}
	o.Failure = f
	r.m.failures.WithLabelValues(string(o.Target), kind).Inc()
	if !f.Dead { // a dead letter is counted and logged once recorded (observe)
		level := slog.LevelWarn
		if kind == "retry_after" {
			// A wait the target asked for, which channels also hand back for their own rate
			// limits (Telegram's second per chat) many times a minute: counted, not warned of.
			level = slog.LevelDebug
		}
		r.log.Log(context.Background(), level, "delivery failed, will retry", "conv", lane.Conversation.ID, "msg_id", p.Message.ID,
			"target", o.Target, "retry_at", f.RetryAt, "err", err)
	}
	return o
}

// credentialWait is how long a message waits after its target refused the credentials: a
// minute (at most backoff_max), half of it random, so a thousand waiting conversations do not
// hammer a remote that refuses them, and a fixed credential is picked up within a minute.
func (r *Router) credentialWait() time.Duration {
	d := min(r.opts.BackoffMax, time.Minute)
	return d/2 + rand.N(d/2+1)
}

// backoff is exponential with equal jitter: half the delay is fixed so retries never bunch at
// zero, half random so a helpdesk outage does not end in a thundering herd.
func (r *Router) backoff(failures int) time.Duration {
	d := r.opts.BackoffBase << min(failures-1, 30)
	if d <= 0 || d > r.opts.BackoffMax {
		d = r.opts.BackoffMax
	}
	return d/2 + rand.N(d/2+1)
}

func (r *Router) observe(lane store.Lane, o store.Outcome) {
	target, dir := string(o.Target), string(lane.Direction)
	if f := o.Failure; f != nil && f.Dead {
		r.m.dead.WithLabelValues(target).Inc()
		var id normalize.MessageID
		for _, p := range lane.Pending {
			if p.Seq == f.Seq {
				id = p.Message.ID
			}
		}
		r.log.Error("message dead-lettered", "conv", lane.Conversation.ID, "msg_id", id, "target", o.Target, "err", f.Err)
	}
	r.m.delivered.WithLabelValues(target, dir).Add(float64(len(o.Delivered)))
	now := r.clock.Now() // ReceivedAt is the store's time, which reads the same clock
	for i := range o.Delivered {
		if rec := lane.Pending[i].Message.ReceivedAt; !rec.IsZero() {
			r.m.latency.WithLabelValues(target, dir).Observe(now.Sub(rec).Seconds())
		}
	}
}
