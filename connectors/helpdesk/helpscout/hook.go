package helpscout

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/helpdesk/hdkit"
	"github.com/casino-support/gateway/connectors/hmacsig"
)

// Headers of Help Scout's webhooks (developer.helpscout.com/webhooks): the event's name, and
// base64(HMAC-SHA1(secret key, body)), hmacsig.HelpScout.
const (
	HeaderEvent     = "X-HelpScout-Event"
	HeaderSignature = "X-HelpScout-Signature"
)

// maxHookBody bounds a notification: Help Scout sends the whole conversation with its threads.
const maxHookBody = 4 << 20

// ServeHTTP is the webhook at /hooks/{instance}: a signed notification that a conversation
// changed (convo.* events; the body is the conversation). The hook reads the conversation's
// new threads from the API, so the body tells nothing the API does not confirm, and answers
// 200 once what agents did is stored; 401 for a bad signature, 400 for a body that names no
// conversation, 503 (Help Scout retries) when Help Scout's API or the store failed.
func (h *Helpdesk) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	if h.cfg.Mode != ModeWebhook {
		http.Error(w, "this Help Scout instance polls; its webhook is off", http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxHookBody))
	if err != nil {
		h.metrics.hooks.WithLabelValues(hookMalformed).Inc()
		http.Error(w, "body too large or unreadable", http.StatusRequestEntityTooLarge)
		return
	}
	if err := hmacsig.HelpScout.Verify([]byte(h.cfg.WebhookSecret.Value()), r.Header.Get(HeaderSignature), "", body, h.now()); err != nil {
		h.log.WarnContext(r.Context(), "helpscout: webhook refused", "helpdesk", h.name, "err", err, "remote", r.RemoteAddr)
		h.metrics.hooks.WithLabelValues(hookUnauthorized).Inc()
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	event := r.Header.Get(HeaderEvent)
	var n struct {
		ID json.Number `json:"id"`
	}
	if err := json.Unmarshal(body, &n); err != nil {
		h.metrics.hooks.WithLabelValues(hookMalformed).Inc()
		http.Error(w, "body is not JSON: "+err.Error(), http.StatusBadRequest)
		return
	}
	if event != "" && !strings.HasPrefix(event, "convo.") {
		// Customer, rating and test events: nothing of a conversation to read.
		h.metrics.hooks.WithLabelValues(hookStored).Inc()
		w.WriteHeader(http.StatusOK)
		return
	}
	id, err := n.ID.Int64()
	if err != nil || id <= 0 {
		h.metrics.hooks.WithLabelValues(hookMalformed).Inc()
		http.Error(w, "the body names no conversation id", http.StatusBadRequest)
		return
	}
	ok := hdkit.Deliver(w, r, &h.sink, h.log, func(ctx context.Context, sink connectors.Sink) error {
		return h.syncConversation(ctx, sink, id)
	})
	if ok {
		h.metrics.hooks.WithLabelValues(hookStored).Inc()
	} else {
		h.metrics.hooks.WithLabelValues(hookNotStored).Inc()
	}
}
