package main

import (
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/casino-support/gateway/config"
	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/autoreply"
	"github.com/casino-support/gateway/router/calendar"
)

// autoReplies builds the auto-replies cfg asks for, keeping their acknowledgements' waiting
// records in records; nil (none sent) without rules. Errors name the key at fault.
func autoReplies(cfg *config.Config, records connectors.Records, reg prometheus.Registerer, log *slog.Logger) (*autoreply.Replies, error) {
	ac := cfg.AutoReplies
	if len(ac.Rules) == 0 {
		return nil, nil
	}
	var def *calendar.Calendar
	if h := ac.Hours; h != nil {
		var err error
		if def, err = calendar.New(h.Timezone, h.Weekly, h.Holidays); err != nil {
			return nil, fmt.Errorf("auto_replies.hours: %w", err)
		}
	}
	opts := autoreply.Options{Wait: ac.Wait, Texts: map[string]autoreply.Texts{}}
	for i, r := range ac.Rules {
		rule := autoreply.Rule{MinVIP: r.MinVIP, Acknowledgement: r.Acknowledgement, OutOfHours: r.OutOfHours, Hours: def}
		for _, k := range r.Kinds {
			rule.Kinds = append(rule.Kinds, normalize.ChannelKind(k))
		}
		if h := r.Hours; h != nil {
			cal, err := calendar.New(h.Timezone, h.Weekly, h.Holidays)
			if err != nil {
				return nil, fmt.Errorf("auto_replies.rules[%d].hours: %w", i, err)
			}
			rule.Hours = cal
		}
		opts.Rules = append(opts.Rules, rule)
	}
	for lang, t := range ac.Texts {
		opts.Texts[lang] = autoreply.Texts{Acknowledgement: t.Acknowledgement, AcknowledgementTicket: t.AcknowledgementTicket, OutOfHours: t.OutOfHours}
	}
	replies, err := autoreply.New(records, opts, reg, log.With("component", "autoreply"))
	if err != nil {
		return nil, fmt.Errorf("auto_replies.%w", err)
	}
	return replies, nil
}
