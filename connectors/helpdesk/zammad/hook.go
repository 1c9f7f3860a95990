package zammad

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

// Headers of a Zammad trigger's webhook (admin-docs.zammad.org, manage/webhook/payload).
const (
	// HeaderSignature is "sha1=" and the hex HMAC-SHA1 of the body with the webhook's
	// signature token (hmacsig.Zammad).
	HeaderSignature = "X-Hub-Signature"
	// HeaderTrigger names the trigger that sent the webhook; HeaderDelivery is a random ID
	// of the delivery. Both are logged: the body is re-read from the API, so a replayed or
	// repeated delivery costs a look-up and is stored once.
	HeaderTrigger  = "X-Zammad-Trigger"
	HeaderDelivery = "X-Zammad-Delivery"
)

// maxHookBody bounds a webhook: Zammad's default payload carries the ticket, its article and
// their users, some kilobytes, more with a long article.
const maxHookBody = 4 << 20

// payload is the part of the trigger's default payload ({"ticket": ..., "article": ...}) the
// hook reads: the ticket's id only, whose articles and history it then reads through the
// API, so a webhook tells nothing the API does not confirm.
type payload struct {
	Ticket struct {
		ID json.RawMessage `json:"id"`
	} `json:"ticket"`
}

func (p payload) ticket() (int64, error) {
	raw := strings.Trim(string(p.Ticket.ID), `"`)
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("ticket.id %s is not a ticket id", p.Ticket.ID)
	}
	return id, nil
}

// ServeHTTP is the webhook at /hooks/{instance}: a signed call of a Zammad trigger saying a
// ticket changed. The hook reads the ticket's news and answers 200 once what agents did is
// stored; 401 for a bad signature, 400 for a body that names no ticket, 503 (Zammad retries
// up to four times) when Zammad's API or the store failed.
func (h *Helpdesk) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	if h.cfg.Mode != ModeWebhook {
		http.Error(w, "this Zammad instance polls; its webhook is off", http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxHookBody))
	if err != nil {
		h.metrics.hooks.WithLabelValues(hookMalformed).Inc()
		http.Error(w, "body too large or unreadable", http.StatusRequestEntityTooLarge)
		return
	}
	if err := hmacsig.Zammad.Verify([]byte(h.cfg.WebhookToken.Value()), r.Header.Get(HeaderSignature), "", body, h.now()); err != nil {
		h.log.WarnContext(r.Context(), "zammad: webhook refused", "helpdesk", h.name, "err", err, "remote", r.RemoteAddr,
			"trigger", r.Header.Get(HeaderTrigger), "delivery", r.Header.Get(HeaderDelivery))
		h.metrics.hooks.WithLabelValues(hookUnauthorized).Inc()
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var p payload
	if err := json.Unmarshal(body, &p); err != nil {
		h.metrics.hooks.WithLabelValues(hookMalformed).Inc()
		http.Error(w, "body is not JSON: "+err.Error(), http.StatusBadRequest)
		return
	}
	id, err := p.ticket()
	if err != nil {
		h.metrics.hooks.WithLabelValues(hookMalformed).Inc()
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if !hdkit.Deliver(w, r, &h.sink, h.log, func(ctx context.Context, sink connectors.Sink) error { return h.syncTicket(ctx, sink, id) }) {
		h.metrics.hooks.WithLabelValues(hookNotStored).Inc()
		return
	}
	h.log.DebugContext(r.Context(), "zammad: webhook stored", "helpdesk", h.name, "ticket", id,
		"trigger", r.Header.Get(HeaderTrigger), "delivery", r.Header.Get(HeaderDelivery))
	h.metrics.hooks.WithLabelValues(hookStored).Inc()
}
