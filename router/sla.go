package router

import (
	"context"
	"errors"
	"time"

	"github.com/casino-support/gateway/normalize"
)

// SLA is the first-response target: how long a player may wait for an agent's answer.
type SLA struct {
	// FirstResponse is the target per channel type; a type without one runs no clock.
	FirstResponse map[normalize.ChannelKind]time.Duration
	// VIP, when set and shorter, is the target for players with a VIP tier on any channel.
	VIP time.Duration
}

// Target is the first-response target of a conversation on a channel of kind with a player
// of vipTier; 0 is none.
func (s SLA) Target(kind normalize.ChannelKind, vipTier int) time.Duration {
	t := s.FirstResponse[kind]
	if vipTier > 0 && s.VIP > 0 && (t <= 0 || s.VIP < t) {
		t = s.VIP
	}
	return t
}

// markSLABreaches marks one batch of breaches and returns how many there were, or -1 when
// the store failed.
func (r *Router) markSLABreaches(ctx context.Context) int {
	breached, err := r.store.MarkSLABreaches(ctx, slaBatch)
	if err != nil {
		if ctx.Err() == nil {
			r.log.Error("sla: mark breaches", "err", err)
		}
		return -1
	}
	for _, c := range breached {
		r.m.slaBreaches.WithLabelValues(string(c.Channel)).Inc()
		r.log.Warn("sla: first-response target missed", "conv", c.ID, "channel", c.Channel, "helpdesk", c.Helpdesk,
			"awaiting_since", c.SLA.AwaitingSince, "due_at", c.SLA.DueAt)
		r.escalateBreach(ctx, c)
	}
	if len(breached) > 0 {
		r.poke()
	}
	return len(breached)
}

// slaBatch bounds the breaches marked in one transaction.
const slaBatch = 200

// watchSLA marks conversations whose first-response clock ran out until ctx ends: each
// breach becomes an Update in the conversation's helpdesk lane, so the ticket system learns
// of it in order with the messages. It reads the next due time at least every PollInterval,
// because intake starts new clocks, and writes only when a clock ran out.
func (r *Router) watchSLA(ctx context.Context) {
	for ctx.Err() == nil {
		next, err := r.store.NextSLADue(ctx)
		if err != nil && ctx.Err() == nil {
			r.log.Error("sla: read the next due time", "err", err)
		}
		if err == nil && !next.IsZero() && !next.After(r.clock.Now()) {
			switch r.markSLABreaches(ctx) {
			case slaBatch:
				continue
			case -1:
				// The due time is still past: wait a round instead of spinning on the error.
				next, err = time.Time{}, errors.New("marking failed")
			default:
				next, err = r.store.NextSLADue(ctx)
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
