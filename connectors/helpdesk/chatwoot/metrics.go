package chatwoot

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/casino-support/gateway/connectors/ratelimit"
)

// The outcomes of gateway_chatwoot_webhooks_total: what became of one webhook request.
const (
	hookReply           = "reply"             // an agent's public reply, stored
	hookStatus          = "status"            // a status change, stored
	hookAssignment      = "assignment"        // an assignee change, stored
	hookIgnoredPrivate  = "ignored_private"   // a private note: never for the player
	hookIgnoredEcho     = "ignored_echo"      // a message the gateway created itself
	hookIgnoredIncoming = "ignored_incoming"  // the contact's message (posted by the gateway) or an activity
	hookIgnoredOther    = "ignored_other"     // an event the gateway does not act on
	hookUnauthorized    = "refused_signature" // bad or missing signature or token
	hookMalformed       = "refused_malformed" // not a Chatwoot event
	hookNotStored       = "not_stored"        // the store failed: Chatwoot retries
)

// metrics are the connector's counters; every Chatwoot instance of a gateway shares each,
// told apart by the helpdesk label.
type metrics struct {
	hooks *prometheus.CounterVec // by outcome
	paced *prometheus.CounterVec // by reason
}

func newMetrics(reg prometheus.Registerer, name string) (*metrics, error) {
	hooks, err := helpdeskCounter(reg, name, prometheus.CounterOpts{Name: "gateway_chatwoot_webhooks_total",
		Help: "Chatwoot webhook requests by helpdesk instance and outcome (stored, ignored and why, refused and why)."},
		"outcome", hookReply, hookStatus, hookAssignment, hookIgnoredPrivate, hookIgnoredEcho, hookIgnoredIncoming, hookIgnoredOther,
		hookUnauthorized, hookMalformed, hookNotStored)
	if err != nil {
		return nil, err
	}
	paced, err := helpdeskCounter(reg, name, prometheus.CounterOpts{Name: "gateway_chatwoot_paced_total",
		Help: "Chatwoot API requests held back to stay within the rate limit, by helpdesk instance and reason."},
		"reason", ratelimit.ReasonQuota, ratelimit.ReasonRetryAfter, ratelimit.ReasonDeferred)
	if err != nil {
		return nil, err
	}
	return &metrics{hooks: hooks, paced: paced}, nil
}

// helpdeskCounter registers a counter labelled helpdesk and label (or takes the one another
// instance registered) and returns it curried with the instance name, each value shown at 0
// from the start so that an alert on its rate has a series to watch.
func helpdeskCounter(reg prometheus.Registerer, name string, opts prometheus.CounterOpts, label string, values ...string) (*prometheus.CounterVec, error) {
	vec := prometheus.NewCounterVec(opts, []string{"helpdesk", label})
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
	curried, err := vec.CurryWith(prometheus.Labels{"helpdesk": name})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", opts.Name, err)
	}
	for _, v := range values {
		curried.WithLabelValues(v)
	}
	return curried, nil
}
