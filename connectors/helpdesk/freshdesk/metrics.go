package freshdesk

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/casino-support/gateway/connectors/counters"
	"github.com/casino-support/gateway/connectors/ratelimit"
)

// Outcomes of gateway_freshdesk_webhooks_total: what became of one notification.
const (
	hookStored       = "stored"            // the ticket's news is stored (or there was none)
	hookUnauthorized = "refused_secret"    // the shared secret header is missing or wrong
	hookMalformed    = "refused_malformed" // not the rule's JSON, or no ticket_id
	hookNotStored    = "not_stored"        // Freshdesk's API or the store failed
)

// Kinds of gateway_freshdesk_events_total: what became of one conversation or status change
// of a gateway ticket.
const (
	eventReply         = "reply"          // an agent's public reply, delivered
	eventStatus        = "status"         // a status change, delivered
	eventIgnoredNote   = "ignored_note"   // a note, private or public: never for the player
	eventIgnoredEcho   = "ignored_echo"   // a note the gateway wrote
	eventIgnoredPlayer = "ignored_player" // an incoming message of the player in Freshdesk
)

// metrics are the connector's counters; every Freshdesk instance of a gateway shares each,
// told apart by the helpdesk label.
type metrics struct {
	hooks  *prometheus.CounterVec // by outcome
	events *prometheus.CounterVec // by kind
	paced  *prometheus.CounterVec // by reason
}

func newMetrics(reg prometheus.Registerer, name string) (*metrics, error) {
	hooks, err := counters.Instance(reg, "helpdesk", name, prometheus.CounterOpts{Name: "gateway_freshdesk_webhooks_total",
		Help: "Freshdesk webhook notifications by helpdesk instance and outcome (stored, refused and why, not stored)."},
		"outcome", hookStored, hookUnauthorized, hookMalformed, hookNotStored)
	if err != nil {
		return nil, err
	}
	events, err := counters.Instance(reg, "helpdesk", name, prometheus.CounterOpts{Name: "gateway_freshdesk_events_total",
		Help: "Conversations and status changes of the gateway's Freshdesk tickets, by helpdesk instance and what became of them."},
		"kind", eventReply, eventStatus, eventIgnoredNote, eventIgnoredEcho, eventIgnoredPlayer)
	if err != nil {
		return nil, err
	}
	paced, err := counters.Instance(reg, "helpdesk", name, prometheus.CounterOpts{Name: "gateway_freshdesk_paced_total",
		Help: "Freshdesk API requests held back to stay within the rate limit, by helpdesk instance and reason."},
		"reason", ratelimit.ReasonQuota, ratelimit.ReasonRetryAfter, ratelimit.ReasonDeferred)
	if err != nil {
		return nil, err
	}
	return &metrics{hooks: hooks, events: events, paced: paced}, nil
}
