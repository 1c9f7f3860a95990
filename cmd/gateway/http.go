package main

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/adminapi"
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
		w.Write([]byte("ready\n"))
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
	mux.Handle("/api/v1/", adminapi.New(g.store, g.cfg.Admin.Token.Value(), g.log))
	g.eachConnector(func(_ string, _ normalize.InstanceName, c any) {
		if m, ok := c.(connectors.Mounter); ok {
			m.Mount(mux)
		}
	})
	known := func(instance string) bool {
		name := normalize.InstanceName(instance)
		return g.channels[name] != nil || g.helpdesks[name] != nil
	}
	return countResponses(g.registry, known, mux)
}
