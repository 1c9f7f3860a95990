package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/casino-support/gateway/config"
	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/router"
	"github.com/casino-support/gateway/router/dutyofcare"
	"github.com/casino-support/gateway/router/escalation"
)

// carePolicy builds the duty-of-care matcher and the escalation queue cfg asks for; either
// is nil (untyped, for the router) when not configured. The queue keeps its calls in
// records, the store's;
// run sends the queued calls until its context ends; nil when no URL is configured.
func carePolicy(cfg *config.Config, records connectors.Records, log *slog.Logger) (care router.DutyOfCare, esc router.Escalations,
	run func(context.Context) error, err error) {
	if !cfg.DutyOfCare.Disabled {
		list, err := dutyofcare.Load(cfg.DutyOfCare.Phrases)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("duty_of_care.phrases: %w", err)
		}
		m, err := dutyofcare.New(list)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("duty_of_care.phrases: %w", err)
		}
		log.Info("duty of care: phrase list loaded", "version", m.Version(), "phrases", m.Len())
		care = m
	}
	if cfg.Escalation.URL == "" {
		return care, nil, nil, nil
	}
	q := escalation.New(records, cfg.Escalation.URL, []byte(cfg.Escalation.Secret.Value()),
		escalation.Options{Timeout: cfg.Escalation.Timeout}, log.With("component", "escalation"))
	return care, q, func(ctx context.Context) error { q.Run(ctx); return nil }, nil
}
