package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
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
	"github.com/casino-support/gateway/router/faqbot"
	"github.com/casino-support/gateway/router/health"
	"github.com/casino-support/gateway/router/store"
	"github.com/casino-support/gateway/router/store/wake"
)

func serveCmd(ctx context.Context, args []string, env lookupEnv, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "configuration file (default: GATEWAY_CONFIG, else the embedded default)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	file := configFile(*path, env)
	cfg, err := loadConfig(file, env)
	if err != nil {
		fmt.Fprintf(stderr, "gateway: %v\n", err)
		return 1
	}
	log := newLogger(cfg.Log, stderr)
	if err := serve(ctx, cfg, file, stdout, log); err != nil {
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
	cfg   *config.Config
	log   *slog.Logger
	store gatewayStore
	// shared is the store's PostgreSQL database that connectors keep their shared state in;
	// nil on SQLite.
	shared *sql.DB
	// notices wakes live pages across replicas (LISTEN/NOTIFY); nil on SQLite.
	notices   *wake.Bus
	router    *router.Router
	channels  map[normalize.InstanceName]connectors.Channel
	helpdesks map[normalize.InstanceName]connectors.Helpdesk
	registry  *prometheus.Registry
	health    *health.Board
	retention *router.Retention
	// singletons runs what one replica at a time may run: singleton connectors, retention.
	singletons *health.Singletons
	// singletonRuns are the connectors whose whole Run is a singleton (the wire table's rows).
	singletonRuns map[normalize.InstanceName]string
	started       atomic.Bool
	// pacing is how fast request bodies must arrive; the zero value means defaultPacing.
	pacing pacing
	// escalate sends the escalation webhook's queued calls; nil when none is configured.
	escalate func(context.Context) error
	// faqbot runs the routes' FAQ bots; nil when no route has one.
	faqbot *faqbot.Engine
}

// streamGrace is how long requests in flight at shutdown keep their context.
const streamGrace = time.Second

// serve runs the gateway with cfg, read from configFile ("" for the embedded default), until
// ctx ends; tune changes the assembled gateway before it serves (tests shorten its timeouts).
func serve(ctx context.Context, cfg *config.Config, configFile string, out io.Writer, log *slog.Logger, tune ...func(*gateway)) error {
	// Bind first: assembling creates the databases and, on a first start, the inbox account
	// whose password is printed once. A port already taken must fail before any of that, or
	// the operator is shown a password for a gateway that never ran.
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	g, err := assemble(ctx, cfg, configFile, out, log)
	if err != nil {
		ln.Close()
		return err
	}
	defer g.close()
	for _, t := range tune {
		t(g)
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
	// A connector whose Run fails is reported and restarted with back-off on its own: one
	// broken bot must not take the web chat, the inbox or the HTTP server down with it.
	var wg sync.WaitGroup
	sink := replicaSink{Router: g.router, Singletons: g.singletons}
	runConnector := func(name normalize.InstanceName, run func(context.Context, connectors.Sink) error) {
		if key, ok := g.singletonRuns[name]; ok {
			whole := run
			run = func(ctx context.Context, sink connectors.Sink) error {
				return connectors.RunSingleton(ctx, sink, name, key, func(ctx context.Context) error { return whole(ctx, sink) })
			}
		}
		wg.Go(func() {
			g.health.Supervise(connCtx, name, health.DefaultBackoff, func(ctx context.Context) error { return run(ctx, sink) })
		})
	}
	for name, ch := range g.channels {
		runConnector(name, ch.Run)
	}
	for name, hd := range g.helpdesks {
		runConnector(name, hd.Run)
	}
	routerDone := make(chan error, 1)
	go func() { routerDone <- g.router.Run(routerCtx) }()
	retentionDone := make(chan error, 1)
	// Two replicas purging and forgetting at once would each tell the helpdesks to forget
	// the same conversations and count the same deletions: one replica at a time runs it.
	go func() {
		retentionDone <- g.singletons.RunSingleton(routerCtx, "retention", "retention", g.retention.Run)
	}()
	escalationDone := make(chan error, 1)
	go func() {
		if g.escalate == nil {
			escalationDone <- nil
			return
		}
		// Two replicas sending the same call would be dropped by its idempotency key, but
		// one sender keeps the receiver's log clean.
		escalationDone <- g.singletons.RunSingleton(routerCtx, "escalation", "escalation", g.escalate)
	}()
	botDone := make(chan error, 1)
	go func() {
		if g.faqbot == nil {
			botDone <- nil
			return
		}
		// The quiet timers settle each conversation once: one replica at a time runs them.
		botDone <- g.singletons.RunSingleton(routerCtx, "faqbot", "faqbot", g.faqbot.Run)
	}()
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
		g.started.Store(false)
		g.delayShutdown(serveErr)
		log.Info("shutting down: intake stops, in-flight deliveries finish", "timeout", cfg.ShutdownTimeout.String())
	case err := <-serveErr:
		runErr = fmt.Errorf("http server: %w", err)
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
	<-retentionDone
	<-escalationDone
	<-botDone
	log.Info("gateway stopped")
	return runErr
}

// delayShutdown keeps serving for shutdown_delay with /readyz answering 503 (started is
// false), so that load balancers take this replica out while it still answers what they send
// meanwhile; a rolling upgrade then loses no request to a closed port.
func (g *gateway) delayShutdown(serveErr <-chan error) {
	if g.cfg.ShutdownDelay <= 0 {
		return
	}
	g.log.Info("stopping: not ready, still serving while load balancers notice", "shutdown_delay", g.cfg.ShutdownDelay.String())
	select {
	case <-time.After(g.cfg.ShutdownDelay):
	case err := <-serveErr: // the listener failed: nothing left to wait for
		g.log.Warn("http server ended during shutdown_delay", "err", err)
	}
}

// storeOptions are the store's options for serve. The lazy hold is set here, not by the store:
// store.Options leaves it off for tests that run on testing/synctest's clock.
func storeOptions(cfg *config.Config, log *slog.Logger) store.Options {
	return store.Options{ReopenClosed: reopeners(cfg), Log: log, LazyHold: store.LazyHold}
}

// assemble opens the store and builds every configured piece, failing before anything runs.
// configFile is where cfg was read from ("" for the embedded default), for the commands the
// start-up lines name.
func assemble(ctx context.Context, cfg *config.Config, configFile string, out io.Writer, log *slog.Logger) (*gateway, error) {
	if err := catalog(connectorTypes()).CheckDriver(cfg.Store.Driver); err != nil {
		return nil, fmt.Errorf("store.driver: %w", err)
	}
	langs, directory, err := supportPolicy(cfg, log)
	if err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, cfg.Store.Driver, cfg.Store.DSN.Value(), storeOptions(cfg, log))
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	if c, ok := directory.(prometheus.Collector); ok {
		reg.MustRegister(c) // the player directory's look-ups, cache hits and latency (issue 17)
	}
	shared, err := openShared(ctx, cfg)
	if err != nil {
		st.Close()
		return nil, err
	}
	blobStore, err := openBlobs(cfg, shared, reg, log)
	if err != nil {
		if shared != nil {
			shared.Close()
		}
		st.Close()
		return nil, err
	}
	g := &gateway{cfg: cfg, log: log, store: st, shared: shared, registry: reg, health: health.New(reg, log, nil)}
	types := connectorTypes()
	sla := slaPolicy(cfg, types)
	d := deps{ctx: ctx, cfg: cfg, configFile: configFile, client: connectorClient(), blobs: blobStore, store: st,
		postgres: shared, sla: sla, out: out, log: log, metrics: reg}
	if shared != nil {
		// Replicas share the store, so a player's page on one must hear of a reply another
		// delivered; one process (SQLite) reaches its own pages directly.
		if g.notices, err = wake.Open(ctx, cfg.Store.DSN.Value(), log); err != nil {
			g.closeShared()
			st.Close()
			return nil, fmt.Errorf("store: postgres: %w", err)
		}
		d.notices = g.notices
	}
	g.channels, g.helpdesks, err = buildConnectors(types, d)
	if err != nil {
		g.closeShared()
		st.Close()
		return nil, err
	}
	for _, c := range cfg.Channels {
		g.health.Add("channel", c.Type, normalize.InstanceName(c.Name))
	}
	for _, h := range cfg.Helpdesks {
		g.health.Add("helpdesk", h.Type, normalize.InstanceName(h.Name))
	}
	g.singletons = health.NewSingletons(g.health, st, health.SingletonOptions{Owner: replicaName()}, reg, log)
	g.singletonRuns = map[normalize.InstanceName]string{}
	for _, c := range cfg.Channels {
		if t, _ := lookupType(types, true, c.Type); t.singleton {
			g.singletonRuns[normalize.InstanceName(c.Name)] = c.Type + "/" + c.Name
		}
	}
	for _, h := range cfg.Helpdesks {
		if t, _ := lookupType(types, false, h.Type); t.singleton {
			g.singletonRuns[normalize.InstanceName(h.Name)] = h.Type + "/" + h.Name
		}
	}
	care, escalations, escalate, err := carePolicy(cfg, st, log)
	if err != nil {
		g.closeShared()
		st.Close()
		return nil, err
	}
	g.escalate = escalate
	g.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	rules, err := routingRules(cfg, sla)
	if err != nil {
		g.closeShared()
		st.Close()
		return nil, err
	}
	replies, err := autoReplies(cfg, st, g.registry, log)
	if err != nil {
		g.closeShared()
		st.Close()
		return nil, err
	}
	if g.faqbot, err = faqBots(ctx, cfg, configFile, st, rules, directory, g.registry, log); err != nil {
		g.closeShared()
		st.Close()
		return nil, err
	}
	g.router = router.New(st, g.channels, g.helpdesks, rules, router.Options{
		Workers: cfg.Delivery.Workers, OutboundWorkers: cfg.Delivery.OutboundWorkers, MaxAttempts: cfg.Delivery.MaxAttempts, BackoffBase: cfg.Delivery.BackoffBase,
		BackoffMax: cfg.Delivery.BackoffMax, BatchSize: cfg.Delivery.BatchSize, Lease: cfg.Delivery.Lease,
		DrainTimeout: cfg.ShutdownTimeout, Health: g.health, MaxText: textLimits(types), Languages: langs, Directory: directory,
		DutyOfCare: care, Escalations: escalations, Bot: botHook(g.faqbot), AutoReplies: replies,
	}, g.registry, log)
	g.retention = router.NewRetention(st, blobStore, g.helpdesks, router.RetentionOptions{
		ClosedConversations: cfg.Retention.ClosedConversations, Attachments: cfg.Retention.Attachments}, g.registry, log)
	return g, nil
}

// replicaSink is the sink connectors' Run gets: the router, with every extension of its own,
// and the replica's singletons (connectors.SingletonSink).
type replicaSink struct {
	*router.Router
	*health.Singletons
}

// replicaName names this process among the replicas sharing a store: the host (a pod's
// name) and a random part, as a restarted process is another holder.
func replicaName() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "gateway"
	}
	return host + "-" + rand.Text()[:8]
}

// ready reports why the gateway cannot serve, or nil. Broken connectors do not count: the
// gateway still stores what the others receive, and one broken bot must not take every
// replica out of a load balancer; /readyz lists them all the same.
func (g *gateway) ready(ctx context.Context) error {
	if !g.started.Load() {
		return errors.New("not started or shutting down")
	}
	return g.store.Ping(ctx)
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
	g.closeShared()
	g.store.Close()
}

// closeShared closes the shared database, after the connectors that use it.
func (g *gateway) closeShared() {
	if g.notices != nil {
		g.notices.Close()
	}
	if g.shared != nil {
		g.shared.Close()
	}
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
