package zammad

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/casino-support/gateway/connectors/counters"
	"github.com/casino-support/gateway/connectors/helpdesk/hdkit"
	"github.com/casino-support/gateway/connectors/ratelimit"
)

// Outcomes of gateway_zammad_webhooks_total: what became of one webhook call.
const (
	hookStored       = "stored"            // the ticket's news is stored (or there was none)
	hookUnauthorized = "refused_signature" // bad or missing X-Hub-Signature
	hookMalformed    = "refused_malformed" // not the trigger's JSON, or no ticket id
	hookNotStored    = "not_stored"        // Zammad's API or the store failed: Zammad retries
)

// Kinds of gateway_zammad_events_total: what became of one article or history entry of a
// gateway ticket (a delivered one counts as hdkit.EventKind says).
const (
	eventIgnoredNote  = "ignored_note"   // an internal note: never for the player
	eventIgnoredEcho  = "ignored_echo"   // an article the gateway wrote
	eventIgnoredOther = "ignored_player" // an article by the customer in Zammad, or a system's
)

// metrics are the connector's counters; every Zammad instance of a gateway shares each,
// told apart by the helpdesk label.
type metrics struct {
	hooks  *prometheus.CounterVec // by outcome
	events *prometheus.CounterVec // by kind
	paced  *prometheus.CounterVec // by reason
}

func newMetrics(reg prometheus.Registerer, name string) (*metrics, error) {
	hooks, err := counters.Instance(reg, "helpdesk", name, prometheus.CounterOpts{Name: "gateway_zammad_webhooks_total",
		Help: "Zammad trigger webhooks by helpdesk instance and outcome (stored, refused and why, not stored)."},
		"outcome", hookStored, hookUnauthorized, hookMalformed, hookNotStored)
	if err != nil {
		return nil, err
	}
	events, err := counters.Instance(reg, "helpdesk", name, prometheus.CounterOpts{Name: "gateway_zammad_events_total",
		Help: "Articles and history entries of the gateway's Zammad tickets, by helpdesk instance and what became of them."},
		"kind", hdkit.EventReply, hdkit.EventStatus, hdkit.EventAssignment, eventIgnoredNote, eventIgnoredEcho, eventIgnoredOther)
	if err != nil {
		return nil, err
	}
	paced, err := counters.Instance(reg, "helpdesk", name, prometheus.CounterOpts{Name: "gateway_zammad_paced_total",
		Help: "Zammad API requests held back to stay within the rate limit, by helpdesk instance and reason."},
		"reason", ratelimit.ReasonQuota, ratelimit.ReasonRetryAfter, ratelimit.ReasonDeferred)
	if err != nil {
		return nil, err
	}
	return &metrics{hooks: hooks, events: events, paced: paced}, nil
}
