// Package health keeps the health of every connector as the gateway sees it: whether its Run
// is running, whether its remote accepts it, and whether deliveries to it are refused, and
// why not when it is not ready. It supervises the connectors' Run, so that one that fails is
// reported and restarted with back-off while the others and the HTTP server go on. The
// details are served by /readyz and the admin API, the state is a metric, and every change
// is a log line.
package health

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/casino-support/gateway/normalize"
)

// Source says who found a connector's problem; each source's problem is kept apart, so one
// clearing does not hide another.
type Source string

const (
	// SourceRun is the supervisor: Run returned an error and waits to be restarted.
	SourceRun Source = "run"
	// SourceRemote is the connector itself, through connectors.HealthSink (a poll refused).
	SourceRemote Source = "remote"
	// SourceDelivery is the router: the remote refused a delivery's credentials.
	SourceDelivery Source = "delivery"
)

// Status is one connector's health.
type Status struct {
	Name   normalize.InstanceName `json:"name"`
	Family string                 `json:"family"` // channel or helpdesk
	Type   string                 `json:"type"`
	Ready  bool                   `json:"ready"`
	// Reason says why the connector is not ready; empty when it is.
	Reason string `json:"reason,omitempty"`
	// Since is when Ready last changed (or the connector was added).
	Since time.Time `json:"since"`
	// Singleton is who runs the connector's singleton part (see Singletons); nil when it has
	// none, or has not started it yet.
	Singleton *Singleton `json:"singleton,omitempty"`
}

// Singleton says which replica holds a connector's singleton lease.
type Singleton struct {
	Key string `json:"key"`
	// Holder is the replica holding the lease, as far as this one knows; "" when none does
	// or it is not known.
	Holder string `json:"holder,omitempty"`
	// Here is true on the replica that holds it and runs it; false on standby.
	Here bool `json:"here"`
}

// Board keeps the health of the connectors added to it. It is safe for concurrent use.
type Board struct {
	log *slog.Logger
	now func() time.Time

	up       *prometheus.GaugeVec
	problems *prometheus.CounterVec

	mu      sync.Mutex
	entries map[normalize.InstanceName]*entry
}

type entry struct {
	status   Status
	problems map[Source]error
}

// New returns an empty board whose metrics are registered with reg (nil: none); a nil now
// is the real clock.
func New(reg prometheus.Registerer, log *slog.Logger, now func() time.Time) *Board {
	if now == nil {
		now = time.Now
	}
	b := &Board{log: log, now: now, entries: map[normalize.InstanceName]*entry{},
		up: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "gateway_connector_up",
			Help: "1 when the connector works, 0 when it does not (see /readyz or the admin API's health for why)."},
			[]string{"connector", "family", "type"}),
		problems: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gateway_connector_problems_total",
			Help: "Problems that took a connector out of service, by who found them: run (Run failed), remote (the connector's remote refused it), delivery (a delivery's credentials were refused)."},
			[]string{"connector", "source"}),
	}
	if reg != nil {
		reg.MustRegister(b.up, b.problems)
	}
	return b
}

// Add puts a connector on the board, ready.
func (b *Board) Add(family, typ string, name normalize.InstanceName) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.entries[name] = &entry{status: Status{Name: name, Family: family, Type: typ, Ready: true, Since: b.now()},
		problems: map[Source]error{}}
	b.up.WithLabelValues(string(name), family, typ).Set(1)
}

// Report records what source found of name: problem nil clears what it found before. A
// name not on the board is ignored (a helpdesk echoing for an instance no longer configured).
func (b *Board) Report(name normalize.InstanceName, source Source, problem error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.entries[name]
	if !ok {
		return
	}
	before := e.problems[source]
	if problem == nil {
		delete(e.problems, source)
		if source == SourceRemote {
			// The connector says it works: a restarted Run is proven.
			delete(e.problems, SourceRun)
		}
	} else {
		e.problems[source] = problem
		if before == nil {
			b.problems.WithLabelValues(string(name), string(source)).Inc()
		}
	}
	ready, reason := len(e.problems) == 0, describe(e.problems)
	if ready && e.status.Ready {
		// The common case, a connector that works saying so after each request: nothing to
		// log or set (building the logger encoded its attributes each time, 1 % of the CPU
		// at 500 messages/s, issue 16).
		return
	}
	log := b.log.With(e.status.Family, name, "type", e.status.Type)
	switch {
	case ready && !e.status.Ready:
		log.Info("connector ready again", "was", e.status.Reason, "down_for", b.now().Sub(e.status.Since).Round(time.Millisecond).String())
	case !ready && e.status.Ready:
		log.Error("connector not ready; the others go on", "reason", reason)
	case !ready && reason != e.status.Reason:
		log.Warn("connector still not ready", "reason", reason)
	}
	if ready != e.status.Ready {
		e.status.Since = b.now()
	}
	e.status.Ready, e.status.Reason = ready, reason
	b.up.WithLabelValues(string(name), e.status.Family, e.status.Type).Set(boolGauge(ready))
}

// setSingleton records who holds name's singleton lease; a name not on the board is ignored.
func (b *Board) setSingleton(name normalize.InstanceName, s Singleton) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if e, ok := b.entries[name]; ok {
		e.status.Singleton = &s
	}
}

// describe joins the problems in a stable order.
func describe(problems map[Source]error) string {
	var parts []string
	for _, s := range []Source{SourceRun, SourceRemote, SourceDelivery} {
		if err := problems[s]; err != nil {
			parts = append(parts, fmt.Sprintf("%s: %v", s, err))
		}
	}
	return strings.Join(parts, "; ")
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Statuses returns every connector's health, channels first, each family by name.
func (b *Board) Statuses() []Status {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]Status, 0, len(b.entries))
	for _, e := range b.entries {
		out = append(out, e.status)
	}
	slices.SortFunc(out, func(x, y Status) int {
		if c := strings.Compare(x.Family, y.Family); c != 0 {
			return c
		}
		return strings.Compare(string(x.Name), string(y.Name))
	})
	return out
}

// Problems returns the connectors that are not ready, as errors naming them and their
// reason, or nil.
func (b *Board) Problems() error {
	var errs []error
	for _, s := range b.Statuses() {
		if !s.Ready {
			errs = append(errs, fmt.Errorf("%s %s: %s", s.Family, s.Name, s.Reason))
		}
	}
	return errors.Join(errs...)
}
