package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/casino-support/gateway/config"
	"github.com/casino-support/gateway/router"
	"github.com/casino-support/gateway/router/faqbot"
	"github.com/casino-support/gateway/router/store"
)

// faqBots builds the FAQ bots of the routes that have one (issue 17), named like their
// rules (routingRules), and the engine that runs them; nil when no route has a bot. It
// hands off the conversations held by bots no longer configured.
// Knowledge files are read now, so a broken one fails the start with its route's key.
// Hand-offs start response clocks timed by rules' SLA.
func faqBots(ctx context.Context, cfg *config.Config, configFile string, st *store.Store, rules router.Rules, directory router.Directory, reg prometheus.Registerer, log *slog.Logger) (*faqbot.Engine, error) {
	bots, err := loadBots(cfg, configFile, log)
	if err != nil {
		return nil, err
	}
	// A conversation held by a bot the configuration no longer has would wait for an answer
	// no one gives: it goes to its helpdesk now.
	names := make([]string, len(bots))
	for i, b := range bots {
		names[i] = b.Name()
	}
	if n, err := st.ReleaseOthers(ctx, names, rules.HandoffClock("")); err != nil {
		return nil, err
	} else if n > 0 {
		log.Warn("faqbot: conversations of bots no longer configured handed to their helpdesks", "conversations", n)
	}
	if len(bots) == 0 {
		return nil, nil
	}
	var dir faqbot.Directory
	if directory != nil {
		dir = directory
	}
	return faqbot.NewEngine(st, bots, faqbot.Options{Directory: dir, FlagTag: router.TagResponsibleGambling, SLAClock: rules.HandoffClock}, reg,
		log.With("component", "faqbot")), nil
}

// loadBots reads the routes' knowledge files and builds their bots (check-config runs it
// too, so a broken knowledge file is found before a start).
func loadBots(cfg *config.Config, configFile string, log *slog.Logger) ([]*faqbot.Bot, error) {
	var bots []*faqbot.Bot
	for i, r := range cfg.Routes {
		if r.Bot == nil {
			continue
		}
		path := r.Bot.Knowledge
		if !filepath.IsAbs(path) && configFile != "" {
			path = filepath.Join(filepath.Dir(configFile), path)
		}
		k, err := faqbot.LoadKnowledge(path)
		if err != nil {
			return nil, fmt.Errorf("routes[%d].bot.knowledge: %w", i, err)
		}
		b, err := faqbot.New(faqbot.Config{Name: ruleName(r, i), Knowledge: k, Threshold: r.Bot.Threshold, Quiet: r.Bot.Quiet,
			MaxUnanswered: r.Bot.MaxUnanswered, AfterResolved: r.Bot.AfterResolved})
		if err != nil {
			return nil, fmt.Errorf("routes[%d].bot: %w", i, err)
		}
		log.Info("faqbot: knowledge loaded", "route", b.Name(), "file", path, "version", k.Version, "entries", len(k.Entries))
		bots = append(bots, b)
	}
	return bots, nil
}

// botHook is the engine as the router's Options.Bot: nil (no interface holding a nil
// pointer) without bots.
func botHook(e *faqbot.Engine) router.Bot {
	if e == nil {
		return nil
	}
	return e
}

// ruleName is the name of the rule route i becomes: its own, else routes[i].
func ruleName(r config.Route, i int) string {
	if r.Name != "" {
		return r.Name
	}
	return fmt.Sprintf("routes[%d]", i)
}
