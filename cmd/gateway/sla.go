package main

import (
	"fmt"
	"io"
	"time"

	"github.com/casino-support/gateway/config"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router"
	"github.com/casino-support/gateway/router/calendar"
	"github.com/casino-support/gateway/router/store"
)

// Tags the SLA's stages give a conversation (docs/policy.md, "SLA").
const (
	tagNearBreach       = "sla-near-breach"
	tagBreached         = "sla-breached"
	tagComplexEscalated = "complex-escalated"
)

// slaTargets adds to sla the targets of channel type kind, of class (chat, email, voice),
// from the configured ones of that class.
func slaTargets(cfg *config.Config, sla *router.SLA, kind normalize.ChannelKind, class string) {
	pick := func(f config.FirstResponse) time.Duration {
		switch class {
		case "chat":
			return f.Chat
		case "email":
			return f.Email
		}
		return f.Voice
	}
	sla.FirstResponse[kind] = pick(cfg.SLA.FirstResponse)
	sla.NextResponse[kind] = pick(cfg.SLA.NextResponse)
	sla.Classes[kind] = class
	for i, t := range cfg.SLA.Tiers {
		sla.Tiers[i].FirstResponse[kind] = pick(t.FirstResponse.Targets())
		sla.Tiers[i].NextResponse[kind] = pick(t.NextResponse.Targets())
	}
}

// slaStages starts sla with what does not depend on the channel types: the VIP tiers, the
// near-breach point, what the stages do, and the complex cases' escalation. The
// configuration is validated: the near-breach point parses.
func slaStages(cfg *config.Config) router.SLA {
	c := cfg.SLA
	sla := router.SLA{VIP: c.FirstResponse.VIP, VIPNext: c.NextResponse.VIP,
		FirstResponse: map[normalize.ChannelKind]time.Duration{}, NextResponse: map[normalize.ChannelKind]time.Duration{},
		Classes:        map[normalize.ChannelKind]string{},
		NearBreachMark: store.SLAMark{Priority: normalize.Priority(c.NearBreachPriority), Tags: []string{tagNearBreach}},
		BreachMark:     store.SLAMark{Priority: normalize.Priority(c.BreachPriority), Tags: []string{tagBreached}},
		Complex: router.ComplexPolicy{After: c.Complex.After, Mark: store.ComplexMark{Group: c.Complex.Group,
			Priority: normalize.Priority(c.Complex.Priority), Tags: []string{tagComplexEscalated}}},
	}
	sla.NearBreach.Fraction, sla.NearBreach.Before, _ = config.ParseNearBreach(c.NearBreach)
	for _, t := range c.Tiers {
		sla.Tiers = append(sla.Tiers, router.SLATier{MinVIP: t.MinVIP,
			FirstResponse: map[normalize.ChannelKind]time.Duration{}, NextResponse: map[normalize.ChannelKind]time.Duration{}})
	}
	return sla
}

// writeSLAExplanation says what the SLA makes of a sample message that opens a conversation:
// when the first answer is due and near its breach, counted in the business hours that apply,
// and whether the case is flagged complex. It says nothing for a channel type without a
// target (a sample without --kind).
func writeSLAExplanation(w io.Writer, rules router.Rules, f router.Facts, d router.Decision) {
	hours := rules.SLA.Hours
	if d.SLAHours != nil {
		hours = d.SLAHours
	}
	near, due := rules.SLA.Deadlines(f.Message.ChannelKind, hours, f.Now, false, f.Message.Author.VIPTier)
	loc, counted := f.Now.Location(), "every hour counts"
	if hours != nil {
		loc, counted = hours.Location(), "business hours in "+hours.Location().String()
	}
	const layout = "Mon 2006-01-02 15:04 MST"
	if !due.IsZero() {
		fmt.Fprintf(w, "first response due: %s (%s)\n", due.In(loc).Format(layout), counted)
	}
	if !near.IsZero() {
		fmt.Fprintf(w, "near breach: %s\n", near.In(loc).Format(layout))
	}
	if c := rules.SLA.Complex; d.Complex && c.After > 0 {
		fmt.Fprintf(w, "complex: to group %s after %s unless closed\n", c.Mark.Group, c.After)
	}
}

// slaCalendar is sla.business_hours as a calendar; nil when not set.
func slaCalendar(cfg *config.Config) (*calendar.Calendar, error) {
	h := cfg.SLA.BusinessHours
	if h == nil {
		return nil, nil
	}
	cal, err := calendar.New(h.Timezone, h.Weekly, h.Holidays)
	if err != nil {
		return nil, fmt.Errorf("sla.business_hours: %w", err)
	}
	return cal, nil
}
