package zendesk

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/casino-support/gateway/connectors/counters"
	"github.com/casino-support/gateway/connectors/helpdesk/hdkit"
	"github.com/casino-support/gateway/connectors/ratelimit"
)

// Outcomes of gateway_zendesk_webhooks_total: what became of one notification.
const (
	hookStored       = "stored"            // the ticket's new audits are stored (or there were none)
	hookUnauthorized = "refused_signature" // bad or missing signature, or a stale timestamp
	hookMalformed    = "refused_malformed" // not the trigger's JSON, or no ticket_id
	hookNotStored    = "not_stored"        // Zendesk's API or the store failed: Zendesk retries
)

// Kinds of gateway_zendesk_events_total: what became of one audit event of a gateway ticket
// (a delivered one counts as hdkit.EventKind says).
const (
	eventIgnoredNote  = "ignored_note"   // an internal note: never for the player
	eventIgnoredEcho  = "ignored_echo"   // a comment the gateway wrote
	eventIgnoredOther = "ignored_player" // a comment by an end user (the player in Zendesk)
)

// metrics are the connector's counters; every Zendesk instance of a gateway shares each,
// told apart by the helpdesk label.
type metrics struct {
	hooks  *prometheus.CounterVec // by outcome
	events *prometheus.CounterVec // by kind
	paced  *prometheus.CounterVec // by reason
}

func newMetrics(reg prometheus.Registerer, name string) (*metrics, error) {
	hooks, err := counters.Instance(reg, "helpdesk", name, prometheus.CounterOpts{Name: "gateway_zendesk_webhooks_total",
		Help: "Zendesk webhook notifications by helpdesk instance and outcome (stored, refused and why, not stored)."},
		"outcome", hookStored, hookUnauthorized, hookMalformed, hookNotStored)
	if err != nil {
		return nil, err
	}
	events, err := counters.Instance(reg, "helpdesk", name, prometheus.CounterOpts{Name: "gateway_zendesk_events_total",
		Help: "Events of the gateway's Zendesk tickets read from their audits, by helpdesk instance and what became of them."},
		"kind", hdkit.EventReply, hdkit.EventStatus, hdkit.EventAssignment, eventIgnoredNote, eventIgnoredEcho, eventIgnoredOther)
	if err != nil {
		return nil, err
	}
	paced, err := counters.Instance(reg, "helpdesk", name, prometheus.CounterOpts{Name: "gateway_zendesk_paced_total",
		Help: "Zendesk API requests held back to stay within the rate limit, by helpdesk instance and reason."},
		"reason", ratelimit.ReasonQuota, ratelimit.ReasonRetryAfter, ratelimit.ReasonDeferred)
	if err != nil {
		return nil, err
	}
	return &metrics{hooks: hooks, events: events, paced: paced}, nil
}
