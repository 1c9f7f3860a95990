package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/casino-support/gateway/config"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router"
	"github.com/casino-support/gateway/router/store"
)

type lookupEnv func(string) (string, bool)

// configFile is the file a command reads its configuration from: --config, else
// GATEWAY_CONFIG; "" means the embedded default.
func configFile(path string, env lookupEnv) string {
	if path == "" {
		path, _ = env("GATEWAY_CONFIG")
	}
	return path
}

// loadConfig loads the file named by --config or GATEWAY_CONFIG, or the embedded default.
func loadConfig(path string, env lookupEnv) (*config.Config, error) {
	path = configFile(path, env)
	cat := catalog(connectorTypes())
	if path == "" {
		return config.Default(cat)
	}
	return config.Load(path, env, cat)
}

func checkConfigCmd(args []string, env lookupEnv, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check-config", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "configuration file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *path == "" {
		fmt.Fprintln(stderr, "gateway check-config: --config FILE is required")
		return 2
	}
	cfg, err := config.Load(*path, env, catalog(connectorTypes()))
	if err != nil {
		fmt.Fprintf(stderr, "%s: invalid configuration:\n%v\n", *path, err)
		return 1
	}
	if _, err := routingRules(cfg, router.SLA{}); err != nil {
		fmt.Fprintf(stderr, "%s: invalid configuration:\n%v\n", *path, err)
		return 1
	}
	if _, err := loadBots(cfg, *path, slog.New(slog.DiscardHandler)); err != nil {
		fmt.Fprintf(stderr, "%s: invalid configuration:\n%v\n", *path, err)
		return 1
	}
	if _, err := autoReplies(cfg, nil, nil, slog.New(slog.DiscardHandler)); err != nil {
		fmt.Fprintf(stderr, "%s: invalid configuration:\n%v\n", *path, err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: OK (%d channels, %d helpdesks, %d routes)\n", *path, len(cfg.Channels), len(cfg.Helpdesks), len(cfg.Routes))
	if w := idleWarning(len(cfg.Channels), len(cfg.Helpdesks)); w != "" {
		fmt.Fprintf(stderr, "%s: warning: %s\n", *path, w)
	}
	return 0
}

// idleWarning says when a configuration leaves players or agents with nothing; "" when it
// does not. Valid all the same: a file has only the connectors it lists, so one that sets a
// port alone runs a gateway nobody can reach, which is more likely a mistake than a wish.
func idleWarning(channels, helpdesks int) string {
	switch {
	case channels == 0:
		return "no channels configured: players cannot reach this gateway; list them under channels, or run without a config file for the embedded web chat and inbox"
	case helpdesks == 0:
		return "no helpdesk configured: players' messages are stored but reach no agent; list one under helpdesks"
	}
	return ""
}

func replayCmd(ctx context.Context, args []string, env lookupEnv, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "configuration file (default: GATEWAY_CONFIG or the embedded default)")
	conv := fs.String("conversation", "", "replay the dead letters of this conversation")
	all := fs.Bool("all", false, "replay every dead letter")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if (*conv == "") == !*all {
		fmt.Fprintln(stderr, "gateway replay: give exactly one of --conversation ID or --all")
		return 2
	}
	cfg, err := loadConfig(*path, env)
	if err != nil {
		fmt.Fprintf(stderr, "gateway replay: %v\n", err)
		return 1
	}
	n, err := replay(ctx, cfg, normalize.ConversationID(*conv))
	if err != nil {
		fmt.Fprintf(stderr, "gateway replay: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "re-queued %d dead-lettered message(s)\n", n)
	return 0
}

// replay writes to the store directly, so it works whether or not a gateway is running; a
// running one picks the re-queued messages up at its next poll.
func replay(ctx context.Context, cfg *config.Config, conv normalize.ConversationID) (int, error) {
	if err := catalog(connectorTypes()).CheckDriver(cfg.Store.Driver); err != nil {
		return 0, fmt.Errorf("store.driver: %w", err)
	}
	// A SQLite database is locked by the gateway using it: replay shares it without the lock.
	// PostgreSQL is shared by design.
	var st *store.Store
	var err error
	if cfg.Store.Driver == "postgres" {
		st, err = store.OpenPostgres(ctx, cfg.Store.DSN.Value(), store.Options{})
	} else {
		st, err = store.OpenSQLiteShared(ctx, cfg.Store.DSN.Value())
	}
	if err != nil {
		return 0, err
	}
	defer st.Close()
	return st.Replay(ctx, conv)
}
