package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/casino-support/gateway/config"
	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/settings"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router"
	"github.com/casino-support/gateway/router/store"
	"github.com/casino-support/gateway/router/store/blobs"
)

func serveCmd(ctx context.Context, args []string, env lookupEnv, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "configuration file (default: GATEWAY_CONFIG, else the embedded default)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := loadConfig(*path, env)
	if err != nil {
		fmt.Fprintf(stderr, "gateway: %v\n", err)
		return 1
	}
	log := newLogger(cfg.Log, stderr)
	if err := serve(ctx, cfg, stdout, log); err != nil {
		log.Error("gateway stopped", "err", err)
		return 1
	}
	return 0
}

func newLogger(c config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level)) // validated by config
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// gateway is one running process: store, connectors, router and the HTTP listener.
type gateway struct {
	cfg       *config.Config
	log       *slog.Logger
	store     *store.Store
	router    *router.Router
	channels  map[normalize.InstanceName]connectors.Channel
	helpdesks map[normalize.InstanceName]connectors.Helpdesk
	registry  *prometheus.Registry
	started   atomic.Bool
}

// streamGrace is how long requests in flight at shutdown keep their context.
const streamGrace = time.Second

func serve(ctx context.Context, cfg *config.Config, out io.Writer, log *slog.Logger) error {
	g, err := assemble(ctx, cfg, out, log)
	if err != nil {
		return err
	}
	defer g.close()

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	// Shutdown waits for requests in flight, but live streams (the inbox's events, the chat's
	// long polls) never end by themselves: their context ends shortly after shutdown begins,
	// once ordinary requests (a webhook being stored) have had time to finish.
	streams, endStreams := context.WithCancel(context.WithoutCancel(ctx))
	defer endStreams()
	srv := &http.Server{Handler: g.handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		BaseContext: func(net.Listener) context.Context { return streams }}
	srv.RegisterOnShutdown(func() { time.AfterFunc(streamGrace, endStreams) })
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	// Connectors and workers get their own contexts so shutdown can stop intake first and let
	// deliveries finish after.
	connCtx, stopConnectors := context.WithCancel(context.WithoutCancel(ctx))
	routerCtx, stopRouter := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	fatal := make(chan error, len(g.channels)+len(g.helpdesks))
	runConnector := func(kind string, name normalize.InstanceName, run func(context.Context, connectors.Sink) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := run(connCtx, g.router); err != nil && connCtx.Err() == nil {
				fatal <- fmt.Errorf("%s %s: %w", kind, name, err)
			}
		}()
	}
	for name, ch := range g.channels {
		runConnector("channel", name, ch.Run)
	}
	for name, hd := range g.helpdesks {
		runConnector("helpdesk", name, hd.Run)
	}
	routerDone := make(chan error, 1)
	go func() { routerDone <- g.router.Run(routerCtx) }()
	g.started.Store(true)
	log.Info("gateway started", "listen", ln.Addr().String(), "public_url", cfg.PublicURL,
		"channels", len(g.channels), "helpdesks", len(g.helpdesks), "store", cfg.Store.Driver)
	g.printPages(out)
	if w := idleWarning(len(g.channels), len(g.helpdesks)); w != "" {
		log.Warn(w)
	}

	var runErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down: intake stops, in-flight deliveries finish", "timeout", cfg.ShutdownTimeout.String())
	case err := <-serveErr:
		runErr = fmt.Errorf("http server: %w", err)
	case runErr = <-fatal:
	}

	deadline, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	g.started.Store(false)
	// The router's drain gets DrainTimeout (shutdown_timeout) from the moment its context
	// ends. Ending it only after the HTTP server's own drain would let the two run one after
	// the other, up to twice shutdown_timeout, past the grace periods the deployments set
	// just above it. Ended now, both drains share the one deadline; what is stored meanwhile
	// stays queued and is delivered after the restart.
	stopRouter()
	if err := srv.Shutdown(deadline); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Warn("http shutdown", "err", err)
	}
	stopConnectors()
	wg.Wait()
	<-routerDone
	log.Info("gateway stopped")
	return runErr
}

// assemble opens the store and builds every configured piece, failing before anything runs.
func assemble(ctx context.Context, cfg *config.Config, out io.Writer, log *slog.Logger) (*gateway, error) {
	if cfg.Store.Driver != "sqlite" {
		return nil, fmt.Errorf("store.driver %q is not supported by this build (use sqlite)", cfg.Store.Driver)
	}
	st, err := store.OpenSQLite(ctx, cfg.Store.DSN.Value(), store.Options{})
	if err != nil {
		return nil, err
	}
	blobStore, err := blobs.New(cfg.Attachments.Dir, cfg.Attachments.MaxBytes)
	if err != nil {
		st.Close()
		return nil, err
	}
	g := &gateway{cfg: cfg, log: log, store: st, registry: prometheus.NewRegistry()}
	types := connectorTypes()
	sla := slaPolicy(cfg, types)
	d := deps{ctx: ctx, cfg: cfg, client: &http.Client{Timeout: 60 * time.Second}, blobs: blobStore, store: st, sla: sla, out: out, log: log,
		typing: func(ctx context.Context, conv normalize.ConversationID) error { return g.router.Typing(ctx, conv) }}
	g.channels, g.helpdesks, err = buildConnectors(types, d)
	if err != nil {
		st.Close()
		return nil, err
	}
	g.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	g.router = router.New(st, g.channels, g.helpdesks, routingRules(cfg, sla), router.Options{
		Workers: cfg.Delivery.Workers, MaxAttempts: cfg.Delivery.MaxAttempts, BackoffBase: cfg.Delivery.BackoffBase,
		BackoffMax: cfg.Delivery.BackoffMax, BatchSize: cfg.Delivery.BatchSize, Lease: cfg.Delivery.Lease,
		DrainTimeout: cfg.ShutdownTimeout,
	}, g.registry, log)
	return g, nil
}

// ready reports the first reason the gateway cannot serve.
func (g *gateway) ready(ctx context.Context) error {
	if !g.started.Load() {
		return errors.New("not started or shutting down")
	}
	if err := g.store.Ping(ctx); err != nil {
		return err
	}
	var problems []string
	g.eachConnector(func(kind string, name normalize.InstanceName, c any) {
		if r, ok := c.(connectors.Readier); ok {
			if err := r.Ready(ctx); err != nil {
				problems = append(problems, fmt.Sprintf("%s %s: %v", kind, name, err))
			}
		}
	})
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// eachConnector calls f for every channel and helpdesk, for the optional abilities found by
// type assertion.
func (g *gateway) eachConnector(f func(kind string, name normalize.InstanceName, c any)) {
	for n, c := range g.channels {
		f("channel", n, c)
	}
	for n, h := range g.helpdesks {
		f("helpdesk", n, h)
	}
}

// close releases what connectors hold open (the inbox's database) and then the store.
func (g *gateway) close() {
	closeAll(g.channels, g.helpdesks, g.log)
	g.store.Close()
}

// printPages tells a newcomer where the pages are: the players' chats and the agents' inboxes.
func (g *gateway) printPages(out io.Writer) {
	for _, c := range g.cfg.Channels {
		if p, ok := c.Settings.(settings.PageOwner); ok {
			fmt.Fprintf(out, "%-20s%s%s\n", pageLabel(c.Type, "players")+":", g.cfg.PublicURL, p.PagePath())
		}
	}
	for _, h := range g.cfg.Helpdesks {
		if p, ok := h.Settings.(settings.PageOwner); ok {
			fmt.Fprintf(out, "%-20s%s%s\n", pageLabel(h.Type, "agents")+":", g.cfg.PublicURL, p.PagePath())
		}
	}
}

// pageLabel names a page for the start-up lines: "Web chat (players)", "Inbox (agents)".
func pageLabel(typ, audience string) string {
	switch typ {
	case "webchat":
		typ = "Web chat"
	case "inbox":
		typ = "Inbox"
	}
	return fmt.Sprintf("%s (%s)", typ, audience)
}
