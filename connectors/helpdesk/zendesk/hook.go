package zendesk

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/helpdesk/hdkit"
	"github.com/casino-support/gateway/connectors/hmacsig"
)

// Headers of Zendesk's webhook signing (developer.zendesk.com/documentation/webhooks/verifying):
// base64(HMAC-SHA256(signing secret, timestamp + body)), hmacsig.Zendesk.
const (
	HeaderSignature = "X-Zendesk-Webhook-Signature"
	HeaderTimestamp = "X-Zendesk-Webhook-Signature-Timestamp"
)

// maxHookBody bounds a notification: the trigger's body is a few fields.
const maxHookBody = 64 << 10

// notification is the body of the trigger's webhook (docs/zendesk.md sets it up as
// {"ticket_id": "{{ticket.id}}"}): only the ticket counts, whose audits the hook then reads,
// so a notification tells nothing the API does not confirm.
type notification struct {
	TicketID json.RawMessage `json:"ticket_id"`
}

func (n notification) ticket() (int64, error) {
	raw := strings.Trim(string(n.TicketID), `"`)
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("ticket_id %s is not a ticket id", n.TicketID)
	}
	return id, nil
}

// ServeHTTP is the webhook at /hooks/{instance}: a signed notification that a ticket
// changed. The hook reads the ticket's new audits and answers 200 once what agents did is
// stored; 401 for a bad signature, 400 for a body that names no ticket, 503 (Zendesk retries)
// when Zendesk's API or the store failed.
func (h *Helpdesk) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	if h.cfg.Mode != ModeWebhook {
		http.Error(w, "this Zendesk instance polls; its webhook is off", http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxHookBody))
	if err != nil {
		h.metrics.hooks.WithLabelValues(hookMalformed).Inc()
		http.Error(w, "body too large or unreadable", http.StatusRequestEntityTooLarge)
		return
	}
	scheme := hmacsig.Zendesk
	scheme.MaxSkew = h.cfg.MaxSkew
	if err := scheme.Verify([]byte(h.cfg.WebhookSecret.Value()), r.Header.Get(HeaderSignature), r.Header.Get(HeaderTimestamp), body, h.now()); err != nil {
		h.log.WarnContext(r.Context(), "zendesk: webhook refused", "helpdesk", h.name, "err", err, "remote", r.RemoteAddr)
		h.metrics.hooks.WithLabelValues(hookUnauthorized).Inc()
		http.Error(w, err.Error(), http.StatusUnauthorized)
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
