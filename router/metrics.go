package router

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/casino-support/gateway/router/store"
)

// metrics are the router's Prometheus instruments.
type metrics struct {
	received   *prometheus.CounterVec
	duplicates *prometheus.CounterVec
	rejected   *prometheus.CounterVec
	delivered  *prometheus.CounterVec
	failures   *prometheus.CounterVec
	dead       *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	// slaBreaches counts first-response targets missed, by channel instance.
	slaBreaches *prometheus.CounterVec
	// leaseLost counts records the store refused because the lane's lease had passed to
	// another claim, by what was refused (complete, renew).
	leaseLost *prometheus.CounterVec
	// lanesTaken counts lanes handed to workers, by how (dispatch.go).
	lanesTaken *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, stats func(context.Context) (store.Stats, error), log *slog.Logger) *metrics {
	m := &metrics{
		received: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gateway_messages_received_total",
			Help: "Messages durably stored at intake, by source instance and direction."}, []string{"instance", "direction"}),
		duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gateway_messages_duplicate_total",
			Help: "Messages dropped at intake as duplicates (redelivery or echo), by source instance."}, []string{"instance"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gateway_messages_rejected_total",
			Help: "Intake calls rejected, by source instance and reason (invalid, error)."}, []string{"instance", "reason"}),
		delivered: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gateway_messages_delivered_total",
			Help: "Messages handed to their target, by target instance and direction."}, []string{"instance", "direction"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gateway_delivery_failures_total",
			Help: "Failed delivery attempts, by target instance and kind (retry, retry_after, permanent)."}, []string{"instance", "kind"}),
		dead: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gateway_dead_letters_total",
			Help: "Messages moved to the dead letters, by target instance."}, []string{"instance"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "gateway_delivery_latency_seconds",
			Help:    "Time from intake to delivery, by target instance and direction.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 1800}}, []string{"instance", "direction"}),
	}
	m.slaBreaches = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gateway_sla_breaches_total",
		Help: "Conversations whose first-response target passed without an agent's answer, by channel instance."}, []string{"channel"})
	m.leaseLost = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gateway_lease_lost_total",
		Help: "Delivery records refused because the lane's lease had lapsed and passed to another worker, by what was refused (complete, renew)."},
		[]string{"op"})
	m.lanesTaken = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gateway_lanes_taken_total",
		Help: "Conversations' outboxes handed to a delivery worker, by how: claim (found due), intake (leased as its messages were stored), continue (the next batch, taken as the last was recorded), next (while lanes waited for a worker: the lane due longest, taken as the last batch was recorded)."},
		[]string{"how"})
	reg.MustRegister(m.received, m.duplicates, m.rejected, m.delivered, m.failures, m.dead, m.latency, m.slaBreaches, m.leaseLost, m.lanesTaken,
		&storeCollector{stats: stats, log: log,
			queued: prometheus.NewDesc("gateway_queue_depth", "Messages waiting for delivery, by direction.", []string{"direction"}, nil),
			dead:   prometheus.NewDesc("gateway_dead_letters", "Messages currently in the dead letters.", nil, nil)})
	return m
}

// storeCollector reads queue gauges from the store at scrape time, so they are right on every
// replica and after a restart.
type storeCollector struct {
	stats        func(context.Context) (store.Stats, error)
	log          *slog.Logger
	queued, dead *prometheus.Desc
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.queued; ch <- c.dead }

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := c.stats(ctx)
	if err != nil {
		c.log.Warn("metrics: read queue depth", "err", err)
		return
	}
	for dir, n := range st.Queued {
		ch <- prometheus.MustNewConstMetric(c.queued, prometheus.GaugeValue, float64(n), string(dir))
	}
	ch <- prometheus.MustNewConstMetric(c.dead, prometheus.GaugeValue, float64(st.DeadLetters))
}
