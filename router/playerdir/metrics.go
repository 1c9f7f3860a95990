package playerdir

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The outcome label of gateway_player_directory_lookups_total. A message's look-up is
// answered from the cache (cache), or by a question to the directory that found the player
// (hit), did not know them (miss), failed (error) or ran out of its timeout (timeout). A
// question whose answer comes after the message's budget counts once, by its answer; the
// message it held up counts in gateway_player_directory_over_budget_total.
const (
	OutcomeCache   = "cache"
	OutcomeHit     = "hit"
	OutcomeMiss    = "miss"
	OutcomeError   = "error"
	OutcomeTimeout = "timeout"
)

// outcomes lists every outcome, so each shows at 0 from the start.
var outcomes = []string{OutcomeCache, OutcomeHit, OutcomeMiss, OutcomeError, OutcomeTimeout}

// metrics are the directory's instruments; a nil registerer counts without exporting.
type metrics struct {
	lookups    *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	overBudget prometheus.Counter
}

func newMetrics() *metrics {
	m := &metrics{
		lookups: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gateway_player_directory_lookups_total",
			Help: "Player directory look-ups, by outcome: cache (answered from memory), hit, miss (unknown player), error, timeout."},
			[]string{"outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "gateway_player_directory_latency_seconds",
			Help:    "Time a question to the player directory took, by outcome (hit, miss, error, timeout).",
			Buckets: []float64{.005, .01, .025, .05, .1, .2, .3, .5, 1, 2.5, 5, 10}}, []string{"outcome"}),
		overBudget: prometheus.NewCounter(prometheus.CounterOpts{Name: "gateway_player_directory_over_budget_total",
			Help: "Messages that went on without the player's details because the directory did not answer within the budget."}),
	}
	for _, o := range outcomes {
		m.lookups.WithLabelValues(o)
		if o != OutcomeCache {
			m.latency.WithLabelValues(o)
		}
	}
	return m
}

// Describe implements prometheus.Collector.
func (c *Cache) Describe(ch chan<- *prometheus.Desc) {
	c.metrics.lookups.Describe(ch)
	c.metrics.latency.Describe(ch)
	c.metrics.overBudget.Describe(ch)
}

// Collect implements prometheus.Collector.
func (c *Cache) Collect(ch chan<- prometheus.Metric) {
	c.metrics.lookups.Collect(ch)
	c.metrics.latency.Collect(ch)
	c.metrics.overBudget.Collect(ch)
}

// outcomeOf names the answer of one question to the source.
func outcomeOf(err error) string {
	switch {
	case err == nil:
		return OutcomeHit
	case errors.Is(err, ErrNotFound):
		return OutcomeMiss
	case errors.Is(err, context.DeadlineExceeded):
		return OutcomeTimeout
	}
	return OutcomeError
}

// logEvery is how often the cache repeats a warning of one kind: a directory that is down
// fails every player's first message, and each must not cost a line.
const logEvery = time.Minute

// warn logs msg at most once per logEvery, saying how many times it happened since.
func (c *Cache) warn(msg string, attrs ...any) {
	if n, ok := c.logs.Allow(msg); ok {
		c.log.Warn(msg, append(attrs, "times", n)...)
	}
}
