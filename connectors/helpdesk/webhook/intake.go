package webhook

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

// maxBody caps what the hook and the API read; replies are text, well below it.
const maxBody = 1 << 20

// ServeHTTP is /hooks/{name}: signed events from the operator's system. It answers 401 for a
// missing, wrong or stale signature, 400 for a malformed event, 413 for a body over 1 MiB,
// and 200 for a reply only once the sink stored it.
func (h *Helpdesk) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "only POST is accepted")
		return
	}
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	err := Verify(h.secret, r.Header.Get(HeaderTimestamp), r.Header.Get(HeaderSignature), body, h.now(), h.cfg.MaxSkew)
	if err != nil {
		writeError(w, http.StatusUnauthorized, err.Error())
		return
	}
	var ev InEvent
	if err := decodeStrict(body, &ev); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	switch ev.Event {
	case EventReplyCreated:
		h.deliverReply(w, r, ev)
	case EventStatusChanged:
		h.acceptStatus(w, r, ev)
	default:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("unknown event %q (want %s or %s)", ev.Event, EventReplyCreated, EventStatusChanged))
	}
}

// serveAPI is POST /api/v1/helpdesks/{name}/replies: a bare reply with the bearer api_token,
// for systems that can call an API more easily than sign a request.
func (h *Helpdesk) serveAPI(w http.ResponseWriter, r *http.Request) {
	if !h.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="gateway"`)
		writeError(w, http.StatusUnauthorized, "missing or wrong bearer token")
		return
	}
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	var ev InEvent
	if err := decodeStrict(body, &ev); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if ev.Event != "" && ev.Event != EventReplyCreated {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("event must be %s or absent, got %q", EventReplyCreated, ev.Event))
		return
	}
	h.deliverReply(w, r, ev)
}

// authorized compares digests of the header and the token in constant time, so neither the
// token's bytes nor its length leak through timing.
func (h *Helpdesk) authorized(r *http.Request) bool {
	got := sha256.Sum256([]byte(r.Header.Get("Authorization")))
	want := sha256.Sum256([]byte("Bearer " + h.cfg.APIToken.Value()))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// deliverReply converts a reply and stores it; see deliver.
func (h *Helpdesk) deliverReply(w http.ResponseWriter, r *http.Request, ev InEvent) {
	msg, err := h.replyMessage(ev)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	h.deliver(w, r, msg, Answer{Status: "stored", ReplyID: ev.ReplyID})
}

// deliver answers 200 only after the sink stored msg, 422 for what can never be stored (the
// sender must not retry), 503 with Retry-After otherwise. The dedup key (this instance, the
// operator's reply_id or event_id) makes the sender's retries harmless.
func (h *Helpdesk) deliver(w http.ResponseWriter, r *http.Request, msg normalize.Message, ok Answer) {
	sink := h.currentSink()
	if sink == nil {
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "not running yet")
		return
	}
	log := h.log.With("conv", msg.Conversation, "ticket", msg.Ticket, "external_id", msg.ExternalID)
	if err := sink.Deliver(r.Context(), msg); err != nil {
		if connectors.IsPermanent(err) {
			log.Warn("event rejected", "err", err)
			writeError(w, http.StatusUnprocessableEntity, err.Error())
			return
		}
		log.Error("event not stored", "err", err)
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "not stored, retry")
		return
	}
	writeJSON(w, http.StatusOK, ok)
}

func (h *Helpdesk) replyMessage(ev InEvent) (normalize.Message, error) {
	switch {
	case ev.ReplyID == "":
		return normalize.Message{}, errors.New("reply_id is required")
	case ev.Ticket == "" && ev.ConversationID == "":
		return normalize.Message{}, errors.New("ticket or conversation_id is required")
	case strings.TrimSpace(ev.Text) == "":
		return normalize.Message{}, errors.New("text is required")
	}
	kind := normalize.KindText
	if ev.Note {
		kind = normalize.KindNote
	}
	return normalize.Message{
		Direction:    normalize.Outbound,
		Source:       h.name,
		ExternalID:   normalize.ExternalID(ev.ReplyID),
		Conversation: normalize.ConversationID(ev.ConversationID),
		Ticket:       normalize.Ref(ev.Ticket),
		Author:       normalize.Author{Role: normalize.RoleAgent, DisplayName: ev.Agent.Name},
		Kind:         kind,
		Text:         ev.Text,
		ReplyTo:      normalize.ExternalID(ev.ReplyTo),
		SentAt:       h.now().UTC(),
	}, nil
}

// acceptStatus stores a status change as a system message, which the store applies to the
// conversation; the player is sent nothing.
func (h *Helpdesk) acceptStatus(w http.ResponseWriter, r *http.Request, ev InEvent) {
	switch {
	case ev.EventID == "":
		writeError(w, http.StatusBadRequest, "event_id is required (the operator's ID of the change, for deduplication)")
		return
	case ev.Ticket == "" && ev.ConversationID == "":
		writeError(w, http.StatusBadRequest, "ticket or conversation_id is required")
		return
	case ev.Status != string(normalize.StatusOpen) && ev.Status != string(normalize.StatusPending) && ev.Status != string(normalize.StatusClosed):
		writeError(w, http.StatusBadRequest, fmt.Sprintf("status must be open, pending or closed, got %q", ev.Status))
		return
	}
	msg := normalize.Message{
		Direction:    normalize.Outbound,
		Source:       h.name,
		ExternalID:   normalize.ExternalID("status-" + ev.EventID),
		Conversation: normalize.ConversationID(ev.ConversationID),
		Ticket:       normalize.Ref(ev.Ticket),
		Author:       normalize.Author{Role: normalize.RoleAgent, DisplayName: ev.Agent.Name},
		Kind:         normalize.KindSystem,
		Status:       normalize.Status(ev.Status),
		Text:         "Status set to " + ev.Status + " in the ticket system.",
		SentAt:       h.now().UTC(),
	}
	h.deliver(w, r, msg, Answer{Status: "stored"})
}

// readBody reads the whole body, at most maxBody; on failure it has answered 413 or 400.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes", maxBody))
			return nil, false
		}
		writeError(w, http.StatusBadRequest, "read body: "+err.Error())
		return nil, false
	}
	return body, true
}

// decodeStrict refuses unknown fields, so a typo in an operator's integration ("reply-id")
// fails loudly instead of being dropped.
func decodeStrict(body []byte, dst *InEvent) error {
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return fmt.Errorf("malformed JSON: %w", err)
	}
	if dec.More() {
		return errors.New("malformed JSON: trailing data")
	}
	return nil
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, ErrorAnswer{Error: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	// The status is sent; a client that went away cannot be told anything more.
	_ = json.NewEncoder(w).Encode(v)
}
