package chatwoot

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/casino-support/gateway/connectors/counters"
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
	hooks, err := counters.Instance(reg, "helpdesk", name, prometheus.CounterOpts{Name: "gateway_chatwoot_webhooks_total",
		Help: "Chatwoot webhook requests by helpdesk instance and outcome (stored, ignored and why, refused and why)."},
		"outcome", hookReply, hookStatus, hookAssignment, hookIgnoredPrivate, hookIgnoredEcho, hookIgnoredIncoming, hookIgnoredOther,
		hookUnauthorized, hookMalformed, hookNotStored)
	if err != nil {
		return nil, err
	}
	paced, err := counters.Instance(reg, "helpdesk", name, prometheus.CounterOpts{Name: "gateway_chatwoot_paced_total",
		Help: "Chatwoot API requests held back to stay within the rate limit, by helpdesk instance and reason."},
		"reason", ratelimit.ReasonQuota, ratelimit.ReasonRetryAfter, ratelimit.ReasonDeferred)
	if err != nil {
		return nil, err
	}
	return &metrics{hooks: hooks, paced: paced}, nil
}
