package freshdesk

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/helpdesk/hdkit"
)

// maxHookBody bounds a notification: the rule's body is a few fields.
const maxHookBody = 64 << 10

// notification is the body of the automation rule's "Trigger Webhook" (docs/freshdesk.md
// sets it up as {"ticket_id": "{{ticket.id}}"}; the "simple" content type wraps the chosen
// placeholders in "freshdesk_webhook"): only the ticket counts, which the hook then reads, so
// a notification tells nothing the API does not confirm.
type notification struct {
	TicketID json.RawMessage `json:"ticket_id"`
	Wrapped  *struct {
		TicketID json.RawMessage `json:"ticket_id"`
	} `json:"freshdesk_webhook"`
}

func (n notification) ticket() (int64, error) {
	raw := n.TicketID
	if len(raw) == 0 && n.Wrapped != nil {
		raw = n.Wrapped.TicketID
	}
	id, err := strconv.ParseInt(strings.Trim(string(raw), `"`), 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("ticket_id %s is not a ticket id", raw)
	}
	return id, nil
}

// ServeHTTP is the webhook at /hooks/{instance}: a notification that a ticket changed,
// carrying the shared secret in the configured header. The hook reads the ticket and answers
// 200 once what agents did is stored; 401 for a missing or wrong secret, 400 for a body that
// names no ticket, 503 when Freshdesk's API or the store failed.
func (h *Helpdesk) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	if h.cfg.Mode != ModeWebhook {
		http.Error(w, "this Freshdesk instance polls; its webhook is off", http.StatusNotFound)
		return
	}
	// Freshdesk signs nothing: the secret header is the only proof, compared in constant time
	// so its bytes cannot be guessed one at a time from the answer's timing.
	got := r.Header.Get(h.cfg.WebhookHeader)
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(h.cfg.WebhookSecret.Value())) != 1 {
		reason := "missing " + h.cfg.WebhookHeader + " header"
		if got != "" {
			reason = "wrong " + h.cfg.WebhookHeader + " header"
		}
		h.log.WarnContext(r.Context(), "freshdesk: webhook refused", "helpdesk", h.name, "reason", reason, "remote", r.RemoteAddr)
		h.metrics.hooks.WithLabelValues(hookUnauthorized).Inc()
		http.Error(w, reason, http.StatusUnauthorized)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxHookBody))
	if err != nil {
		h.metrics.hooks.WithLabelValues(hookMalformed).Inc()
		http.Error(w, "body too large or unreadable", http.StatusRequestEntityTooLarge)
		return
	}
	var n notification
	if err := json.Unmarshal(body, &n); err != nil {
		h.metrics.hooks.WithLabelValues(hookMalformed).Inc()
		http.Error(w, "body is not JSON: "+err.Error(), http.StatusBadRequest)
		return
	}
	id, err := n.ticket()
	if err != nil {
		h.metrics.hooks.WithLabelValues(hookMalformed).Inc()
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if !hdkit.Deliver(w, r, &h.sink, h.log, func(ctx context.Context, sink connectors.Sink) error { return h.syncTicket(ctx, sink, id) }) {
		h.metrics.hooks.WithLabelValues(hookNotStored).Inc()
		return
	}
	h.metrics.hooks.WithLabelValues(hookStored).Inc()
}
