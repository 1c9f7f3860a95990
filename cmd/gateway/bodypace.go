package main

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/casino-support/gateway/connectors"
)

// pacing is how fast a request body must arrive. The server has no ReadTimeout: one long
// enough for the largest upload (a webhook reply with 25 MiB of files is 34 MiB of JSON) would
// let a client dripping a byte every few seconds hold a connection, and whatever the handler
// holds for it, for many minutes; and the web chat's WebSocket and long polls and the inbox's
// event stream must not be cut at all. Instead each body is paced as it is read: after grace,
// it must have kept up rate on average, and it may never stall for longer than stall. The
// largest allowed upload at rate takes grace plus its size over rate, so it fits by
// construction; requests without a body (every stream) are left alone.
type pacing struct {
	rate  int64         // bytes per second a body must average
	grace time.Duration // before the average counts: slow starts, small bodies on slow links
	stall time.Duration // longest wait for the next bytes, however far ahead of rate the body is
}

// defaultPacing: 64 KiB/s is a slow mobile uplink (512 kbit/s); 30 s covers a connection's
// worst hiccups.
var defaultPacing = pacing{rate: 64 << 10, grace: 30 * time.Second, stall: 30 * time.Second}

// paceBodies paces every request body (see pacing) with per-request read deadlines. A body
// cut off is counted in gateway_http_body_timeouts_total and logged with its route and
// client; the handler sees a read error (os.ErrDeadlineExceeded) and answers as it sees fit
// (the webhook helpdesk: 408).
func paceBodies(p pacing, reg prometheus.Registerer, known func(instance string) bool, log *slog.Logger, next http.Handler) http.Handler {
	cutOff := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gateway_http_body_timeouts_total",
		Help: "Request bodies cut off for arriving slower than the minimum rate, by route pattern and hook instance."},
		[]string{"pattern", "instance"})
	reg.MustRegister(cutOff)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength == 0 || r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		b := &pacedBody{ReadCloser: r.Body, rc: http.NewResponseController(w), start: time.Now(), pacing: p}
		// Set before the handler runs: even a body the handler never reads is drained by the
		// server afterwards, and that must not wait forever either.
		b.setDeadline(0)
		r.Body = b
		next.ServeHTTP(w, r)
		if b.timedOut.Load() {
			pattern, instance := routeLabels(r, known)
			cutOff.WithLabelValues(pattern, instance).Inc()
			log.Warn("request body cut off: it arrived slower than the minimum rate", "route", pattern, "instance", instance,
				"client", connectors.ClientAddr(r).String(), "read_bytes", b.n.Load(), "content_length", r.ContentLength,
				"after", time.Since(b.start).Round(time.Millisecond).String(), "min_bytes_per_second", p.rate)
		}
	})
}

// pacedBody moves the connection's read deadline on before each read of the body.
type pacedBody struct {
	io.ReadCloser
	rc    *http.ResponseController
	start time.Time
	pacing
	n        atomic.Int64
	done     atomic.Bool // the body ended (EOF or error): the deadline is not ours to set any more
	timedOut atomic.Bool
}

func (b *pacedBody) Read(p []byte) (int, error) {
	if b.done.Load() {
		// Past its end the server reads the connection in the background (to notice a client
		// that hangs up); a deadline set now would end that read and cancel the request's
		// context under a handler still at work.
		return b.ReadCloser.Read(p)
	}
	b.setDeadline(min(int64(len(p)), b.rate)) // time for this read too, at most a second's worth
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	if err != nil {
		b.done.Store(true)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			b.timedOut.Store(true)
		}
	}
	return n, err
}

// setDeadline allows the bytes read so far plus ahead to have taken grace plus their size at
// rate since the start, and the next read to take stall at most.
func (b *pacedBody) setDeadline(ahead int64) {
	due := b.start.Add(b.grace + time.Duration(float64(b.n.Load()+ahead)/float64(b.rate)*float64(time.Second)))
	if stall := time.Now().Add(b.stall); stall.Before(due) {
		due = stall
	}
	// Writers without deadlines (a test's recorder) are left unpaced.
	_ = b.rc.SetReadDeadline(due)
}
