package router

import (
	"context"
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

// target is the first-response target for the conversation m is part of.
func (s SLA) target(m normalize.Message) time.Duration {
	t := s.FirstResponse[m.ChannelKind]
	if m.Author.VIPTier > 0 && s.VIP > 0 && (t <= 0 || s.VIP < t) {
		t = s.VIP
	}
	return t
}

// slaBatch bounds the breaches marked in one transaction.
const slaBatch = 200

// watchSLA marks conversations whose first-response clock ran out until ctx ends: each
// breach becomes an Update in the conversation's helpdesk lane, so the ticket system learns
// of it in order with the messages. It wakes at the next due time, and at least every
// PollInterval because intake starts new clocks.
func (r *Router) watchSLA(ctx context.Context) {
	for ctx.Err() == nil {
		breached, err := r.store.MarkSLABreaches(ctx, slaBatch)
		if err != nil && ctx.Err() == nil {
			r.log.Error("sla: mark breaches", "err", err)
		}
		for _, c := range breached {
			r.m.slaBreaches.WithLabelValues(string(c.Channel)).Inc()
			r.log.Warn("sla: first-response target missed", "conv", c.ID, "channel", c.Channel, "helpdesk", c.Helpdesk,
				"awaiting_since", c.SLA.AwaitingSince, "due_at", c.SLA.DueAt)
		}
		if len(breached) > 0 {
			r.poke()
		}
		if len(breached) == slaBatch {
			continue
		}
		d := r.opts.PollInterval
		if next, err := r.store.NextSLADue(ctx); err == nil && !next.IsZero() {
			d = min(d, max(time.Until(next), time.Millisecond))
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
}
