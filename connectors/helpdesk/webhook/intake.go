package webhook

import (
	"cmp"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

// maxBody caps what the hook and the API read; replies are text, well below it.
const maxBody = 1 << 20

// ServeHTTP is /hooks/{name}: signed events from the operator's system. It answers 401 for a
// missing, wrong or stale signature, 400 for a malformed event, 413 for a body over 1 MiB,
// and 200 only once the sink stored the event.
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
	h.dispatch(w, r, ev)
}

// serveEvents is POST /api/v1/helpdesks/{name}/events: every event the hook takes, with the
// bearer api_token instead of a signature, for systems that can call an API more easily than
// sign a request. Answers are the hook's.
func (h *Helpdesk) serveEvents(w http.ResponseWriter, r *http.Request) {
	ev, ok := h.readAPI(w, r)
	if !ok {
		return
	}
	h.dispatch(w, r, ev)
}

// serveAPI is POST /api/v1/helpdesks/{name}/replies: a bare reply with the bearer api_token.
// It predates /events and stays for the integrations built on it.
func (h *Helpdesk) serveAPI(w http.ResponseWriter, r *http.Request) {
	ev, ok := h.readAPI(w, r)
	if !ok {
		return
	}
	if ev.Event == "" {
		ev.Event = EventReplyCreated
	}
	if ev.Event != EventReplyCreated {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("event must be %s or absent, got %q (send other events to /events)", EventReplyCreated, ev.Event))
		return
	}
	h.dispatch(w, r, ev)
}

// readAPI checks the bearer token and decodes the body of an API request; on failure it has
// answered 401, 400 or 413.
func (h *Helpdesk) readAPI(w http.ResponseWriter, r *http.Request) (InEvent, bool) {
	if !h.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="gateway"`)
		writeError(w, http.StatusUnauthorized, "missing or wrong bearer token")
		return InEvent{}, false
	}
	body, ok := readBody(w, r)
	if !ok {
		return InEvent{}, false
	}
	var ev InEvent
	if err := decodeStrict(body, &ev); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return InEvent{}, false
	}
	return ev, true
}

// dispatch handles an authenticated event by its type; the hook and the events API share it,
// so both answer alike.
func (h *Helpdesk) dispatch(w http.ResponseWriter, r *http.Request, ev InEvent) {
	var handle func(http.ResponseWriter, *http.Request, InEvent)
	switch ev.Event {
	case EventReplyCreated:
		handle = h.deliverReply
	case EventStatusChanged:
		handle = h.acceptStatus
	case EventAssigned:
		handle = h.acceptAssignment
	default:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("unknown event %q (want %s, %s or %s)", ev.Event, EventReplyCreated, EventStatusChanged, EventAssigned))
		return
	}
	if foreign := foreignFields(ev); len(foreign) > 0 {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("%s does not take %s", ev.Event, strings.Join(foreign, ", ")))
		return
	}
	handle(w, r, ev)
}

// foreignFields names the fields of ev that belong to another event type. Every event decodes
// into InEvent, so without this a status sent along with a reply, say, would be dropped
// silently, though the contract refuses it and the operator surely meant something by it.
func foreignFields(ev InEvent) []string {
	var takes []string
	switch ev.Event {
	case EventReplyCreated:
		takes = []string{"reply_id", "text", "note", "reply_to"}
	case EventStatusChanged:
		takes = []string{"event_id", "status"}
	case EventAssigned:
		takes = []string{"event_id", "assignee"}
	}
	present := []struct {
		name string
		set  bool
	}{
		{"event_id", ev.EventID != ""}, {"reply_id", ev.ReplyID != ""}, {"text", ev.Text != ""}, {"note", ev.Note},
		{"reply_to", ev.ReplyTo != ""}, {"status", ev.Status != ""}, {"assignee", ev.Assignee != nil},
	}
	var out []string
	for _, f := range present {
		if f.set && !slices.Contains(takes, f.name) {
			out = append(out, f.name)
		}
	}
	return out
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
		Author:       agentAuthor(ev.Agent),
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
		Author:       agentAuthor(ev.Agent),
		Kind:         normalize.KindSystem,
		Status:       normalize.Status(ev.Status),
		Text:         "Status set to " + ev.Status + " in the ticket system.",
		SentAt:       h.now().UTC(),
	}
	h.deliver(w, r, msg, Answer{Status: "stored"})
}

// acceptAssignment stores an assignment as a system message, which the store applies to the
// conversation; the player is sent nothing. A null, absent or empty assignee unassigns.
func (h *Helpdesk) acceptAssignment(w http.ResponseWriter, r *http.Request, ev InEvent) {
	assignee := normalize.Agent{}
	if ev.Assignee != nil {
		assignee = normalize.Agent{ID: ev.Assignee.ID, Name: ev.Assignee.Name}
	}
	switch {
	case ev.EventID == "":
		writeError(w, http.StatusBadRequest, "event_id is required (the operator's ID of the assignment, for deduplication)")
		return
	case ev.Ticket == "" && ev.ConversationID == "":
		writeError(w, http.StatusBadRequest, "ticket or conversation_id is required")
		return
	case assignee != (normalize.Agent{}) && strings.TrimSpace(assignee.ID) == "" && strings.TrimSpace(assignee.Name) == "":
		// Blanks are a bug on the sender's side, not a wish to unassign: that is null or {}.
		writeError(w, http.StatusBadRequest, "assignee needs an id or a name (send null to unassign)")
		return
	}
	text := "Unassigned in the ticket system."
	if assignee != (normalize.Agent{}) {
		who := cmp.Or(strings.TrimSpace(assignee.Name), assignee.ID)
		text = "Assigned to " + who + " in the ticket system."
	}
	msg := normalize.Message{
		Direction:    normalize.Outbound,
		Source:       h.name,
		ExternalID:   normalize.ExternalID("assign-" + ev.EventID),
		Conversation: normalize.ConversationID(ev.ConversationID),
		Ticket:       normalize.Ref(ev.Ticket),
		Author:       agentAuthor(ev.Agent),
		Kind:         normalize.KindSystem,
		Assignee:     &assignee,
		Text:         text,
		SentAt:       h.now().UTC(),
	}
	h.deliver(w, r, msg, Answer{Status: "stored"})
}

// agentAuthor is the agent who wrote or changed something, as the thread records them.
func agentAuthor(a Agent) normalize.Author {
	return normalize.Author{Role: normalize.RoleAgent, DisplayName: a.Name, ExternalID: a.ID}
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
