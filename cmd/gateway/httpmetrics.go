package main

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// countResponses counts every response by route pattern, hook instance and status: rejected
// input (400 malformed, 401 forged, 413 oversized, 415 wrong type, 429 flooding) shows up per
// connector in gateway_http_responses_total without each connector keeping its own counter.
// known tells the configured instances from whatever else a request names.
func countResponses(reg prometheus.Registerer, known func(instance string) bool, next http.Handler) http.Handler {
	responses := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gateway_http_responses_total",
		Help: "HTTP responses by route pattern, hook instance (for /hooks/) and status code."},
		[]string{"pattern", "instance", "code"})
	reg.MustRegister(responses)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		pattern, instance := routeLabels(r, known)
		responses.WithLabelValues(pattern, instance, strconv.Itoa(rec.status)).Inc()
	})
}

// routeLabels are the pattern and hook-instance labels of r, once the mux has matched it.
func routeLabels(r *http.Request, known func(instance string) bool) (pattern, instance string) {
	// The mux sets the matched pattern on r; unmatched requests share one label, so scanners
	// cannot grow the label set.
	pattern = r.Pattern
	if pattern == "" {
		pattern = "unmatched"
	}
	// /hooks/{instance} matches any name a scanner makes up: only configured ones are labels,
	// or each made-up name would be a series of its own, kept for good.
	instance = r.PathValue("instance")
	if !known(instance) {
		instance = ""
	}
	return pattern, instance
}

// statusRecorder remembers the status code and passes through what SSE (Flusher) and
// WebSocket upgrades (Hijacker) need.
type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := s.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("response writer cannot be hijacked")
	}
	s.status, s.wrote = http.StatusSwitchingProtocols, true
	return h.Hijack()
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
