package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/adminapi"
	"github.com/casino-support/gateway/router/health"
)

// handler is the one HTTP listener: health, metrics, connector webhooks and the admin API.
func (g *gateway) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		if err := g.ready(ctx); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ready\n" + connectorLines(g.health.Statuses())))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(g.registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("/hooks/{instance}", func(w http.ResponseWriter, r *http.Request) {
		name := normalize.InstanceName(r.PathValue("instance"))
		var target any = g.channels[name]
		if g.channels[name] == nil {
			target = g.helpdesks[name]
		}
		h, ok := target.(http.Handler)
		if !ok || target == nil {
			http.Error(w, "no webhook instance named "+string(name), http.StatusNotFound)
			return
		}
		h.ServeHTTP(w, r)
	})
	mux.Handle("/api/v1/", adminapi.New(g.store, g.cfg.Admin.Token.Value(), g.log).WithHealth(g.health))
	g.eachConnector(func(_ string, _ normalize.InstanceName, c any) {
		if m, ok := c.(connectors.Mounter); ok {
			m.Mount(mux)
		}
	})
	known := func(instance string) bool {
		name := normalize.InstanceName(instance)
		return g.channels[name] != nil || g.helpdesks[name] != nil
	}
	pace := g.pacing
	if pace == (pacing{}) {
		pace = defaultPacing
	}
	// The client is resolved first, so that everything below (limits, log lines) sees it.
	return resolveClients(g.cfg.TrustedProxyPrefixes(),
		countResponses(g.registry, known, paceBodies(pace, g.registry, known, g.log, mux)))
}

// connectorLines lists the connectors' health for /readyz, one per line: what an operator
// looking at a probe's output needs to find the broken one and why.
// singletonNote says where a connector's singleton runs: here, or on standby and who holds it.
func singletonNote(s *health.Singleton) string {
	switch {
	case s == nil:
		return ""
	case s.Here:
		return fmt.Sprintf("; singleton %s runs on this replica (%s)", s.Key, s.Holder)
	case s.Holder != "":
		return fmt.Sprintf("; singleton %s on standby, held by %s", s.Key, s.Holder)
	default:
		return fmt.Sprintf("; singleton %s on standby", s.Key)
	}
}

func connectorLines(statuses []health.Status) string {
	var b strings.Builder
	for _, s := range statuses {
		if s.Ready {
			fmt.Fprintf(&b, "%s %s (%s): ready%s\n", s.Family, s.Name, s.Type, singletonNote(s.Singleton))
			continue
		}
		fmt.Fprintf(&b, "%s %s (%s): not ready since %s: %s%s\n", s.Family, s.Name, s.Type, s.Since.UTC().Format(time.RFC3339), s.Reason,
			singletonNote(s.Singleton))
	}
	return b.String()
}
