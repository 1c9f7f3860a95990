package helpscout

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/casino-support/gateway/connectors/counters"
	"github.com/casino-support/gateway/connectors/ratelimit"
)

// Outcomes of gateway_helpscout_webhooks_total: what became of one notification.
const (
	hookStored       = "stored"            // the conversation's new threads are stored (or there were none)
	hookUnauthorized = "refused_signature" // bad or missing X-HelpScout-Signature
	hookMalformed    = "refused_malformed" // not a conversation's JSON, or no id
	hookNotStored    = "not_stored"        // Help Scout's API or the store failed: Help Scout retries
)

// Kinds of gateway_helpscout_events_total: what became of one thread of a gateway conversation.
const (
	eventReply         = "reply"            // an agent's published reply, delivered
	eventStatus        = "status"           // a status change, delivered
	eventIgnoredNote   = "ignored_note"     // a note: never for the player
	eventIgnoredEcho   = "ignored_echo"     // a thread the gateway wrote
	eventIgnoredPlayer = "ignored_customer" // a customer thread not written by the gateway
	eventIgnoredDraft  = "ignored_draft"    // a draft or a thread held for review
)

// metrics are the connector's counters; every Help Scout instance of a gateway shares each,
// told apart by the helpdesk label.
type metrics struct {
	hooks  *prometheus.CounterVec // by outcome
	events *prometheus.CounterVec // by kind
	paced  *prometheus.CounterVec // by reason
	tokens *prometheus.CounterVec // by outcome
}

func newMetrics(reg prometheus.Registerer, name string) (*metrics, error) {
	hooks, err := counters.Instance(reg, "helpdesk", name, prometheus.CounterOpts{Name: "gateway_helpscout_webhooks_total",
		Help: "Help Scout webhook notifications by helpdesk instance and outcome (stored, refused and why, not stored)."},
		"outcome", hookStored, hookUnauthorized, hookMalformed, hookNotStored)
	if err != nil {
		return nil, err
	}
	events, err := counters.Instance(reg, "helpdesk", name, prometheus.CounterOpts{Name: "gateway_helpscout_events_total",
		Help: "Threads of the gateway's Help Scout conversations, by helpdesk instance and what became of them."},
		"kind", eventReply, eventStatus, eventIgnoredNote, eventIgnoredEcho, eventIgnoredPlayer, eventIgnoredDraft)
	if err != nil {
		return nil, err
	}
	paced, err := counters.Instance(reg, "helpdesk", name, prometheus.CounterOpts{Name: "gateway_helpscout_paced_total",
		Help: "Help Scout API requests held back to stay within the rate limit, by helpdesk instance and reason."},
		"reason", ratelimit.ReasonQuota, ratelimit.ReasonRetryAfter, ratelimit.ReasonDeferred)
	if err != nil {
		return nil, err
	}
	tokens, err := counters.Instance(reg, "helpdesk", name, prometheus.CounterOpts{Name: "gateway_helpscout_tokens_total",
		Help: "Help Scout OAuth2 access tokens fetched, by helpdesk instance and outcome (fetched, refused, failed)."},
		"outcome", tokenFetched, tokenRefused, tokenFailed)
	if err != nil {
		return nil, err
	}
	return &metrics{hooks: hooks, events: events, paced: paced, tokens: tokens}, nil
}
