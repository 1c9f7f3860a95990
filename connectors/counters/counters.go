// Package counters registers a connector type's Prometheus counters once per gateway and
// hands each instance its own view of them: every instance of a type shares one metric, told
// apart by a label naming the instance, as the helpdesk backends' webhook and pacing counters
// are (gateway_zendesk_webhooks_total{helpdesk="zendesk",outcome="reply"}).
package counters

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Instance registers a counter labelled instanceLabel and label with reg (or takes the one
// another instance registered under the same name) and returns it curried with the instance
// name, so callers set label only. Each of values is shown at 0 from the start, so that an
// alert on its rate has a series to watch. A nil reg keeps the counter unregistered (tests).
func Instance(reg prometheus.Registerer, instanceLabel, instance string, opts prometheus.CounterOpts, label string, values ...string) (*prometheus.CounterVec, error) {
	vec := prometheus.NewCounterVec(opts, []string{instanceLabel, label})
	if reg != nil {
		if err := reg.Register(vec); err != nil {
			are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err)
			if !ok {
				return nil, fmt.Errorf("register %s: %w", opts.Name, err)
			}
			if vec, ok = are.ExistingCollector.(*prometheus.CounterVec); !ok {
				return nil, fmt.Errorf("register %s: taken by a %T", opts.Name, are.ExistingCollector)
			}
		}
	}
	curried, err := vec.CurryWith(prometheus.Labels{instanceLabel: instance})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", opts.Name, err)
	}
	for _, v := range values {
		curried.WithLabelValues(v)
	}
	return curried, nil
}
