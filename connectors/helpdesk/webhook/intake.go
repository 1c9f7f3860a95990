package webhook

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

// maxBody is what an event may take besides the content of attachments: text and metadata
// stay well below it.
const maxBody = 1 << 20

// ServeHTTP is /hooks/{name}: signed events from the operator's system. It answers 401 for a
// missing, wrong or stale signature, 400 for a malformed event, 408 for a body that arrived
// too slowly, 413 for a body over bodyLimit or attachments over the limit, 503 when a large
// body finds no slot (bigReadSlots), and 200 only once the sink stored the event.
func (h *Helpdesk) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "only POST is accepted")
		return
	}
	ts, sig := r.Header.Get(HeaderTimestamp), r.Header.Get(HeaderSignature)
	// Replies may carry files, so a body can be tens of MiB: refuse what cannot be signed
	// before reading it.
	if _, err := checkHeaders(ts, sig, h.now(), h.cfg.MaxSkew); err != nil {
		writeError(w, http.StatusUnauthorized, err.Error())
		return
	}
	body, ok := h.readSigned(w, r, ts, sig)
	if !ok {
		return
	}
	var ev InEvent
	if err := decodeStrict(body, &ev); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	h.dispatch(w, r, ev)
}

// readSigned reads a hook body and checks its signature; on failure it has answered. A body
// over maxBody is read only in a slot of bigReads, which it holds until it is read and
// checked, and at most for bigReadHold.
func (h *Helpdesk) readSigned(w http.ResponseWriter, r *http.Request, ts, sig string) ([]byte, bool) {
	if r.ContentLength >= 0 && r.ContentLength <= maxBody {
		body, ok := h.readBody(w, r, r.Body)
		return body, ok && h.verified(w, ts, sig, body)
	}
	release, ok := h.bigReads.acquire(connectors.ClientKey(r))
	if !ok {
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "too many large requests in flight (from your address, or in all), retry")
		return nil, false
	}
	defer release() // read and checked: then it holds no more than any signed request
	body, ok := h.readBody(w, r, &heldReader{r: r.Body, until: h.now().Add(bigReadHold(h.bodyLimit())), now: h.now})
	return body, ok && h.verified(w, ts, sig, body)
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

// readAPI checks the bearer token before it reads the body, so only the operator can make the
// gateway read a large one, and decodes it; on failure it has answered 401, 400 or 413.
func (h *Helpdesk) readAPI(w http.ResponseWriter, r *http.Request) (InEvent, bool) {
	if !h.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="gateway"`)
		writeError(w, http.StatusUnauthorized, "missing or wrong bearer token")
		return InEvent{}, false
	}
	body, ok := h.readBody(w, r, r.Body)
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
	case EventFlagged:
		handle = h.acceptFlag
	default:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("unknown event %q (want %s, %s, %s or %s)", ev.Event, EventReplyCreated, EventStatusChanged,
			EventAssigned, EventFlagged))
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
		takes = []string{"reply_id", "text", "note", "reply_to", "attachments"}
	case EventStatusChanged:
		takes = []string{"event_id", "status"}
	case EventAssigned:
		takes = []string{"event_id", "assignee"}
	case EventFlagged:
		takes = []string{"event_id", "flag"}
	}
	present := []struct {
		name string
		set  bool
	}{
		{"event_id", ev.EventID != ""}, {"reply_id", ev.ReplyID != ""}, {"text", ev.Text != ""}, {"note", ev.Note},
		{"reply_to", ev.ReplyTo != ""}, {"attachments", ev.Attachments != nil}, {"status", ev.Status != ""},
		{"assignee", ev.Assignee != nil}, {"flag", ev.Flag != ""},
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

// deliverReply converts a reply, stores its files in the blob store and the reply in the sink;
// see deliver. Every file is checked before the first is stored.
func (h *Helpdesk) deliverReply(w http.ResponseWriter, r *http.Request, ev InEvent) {
	msg, err := h.replyMessage(ev)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	files, err := h.decodeFiles(ev.Attachments)
	if err == nil {
		msg.Attachments, err = h.storeFiles(r.Context(), files)
	}
	if err != nil {
		h.refuseFiles(w, msg, err)
		return
	}
	msg.Kind = replyKind(ev.Note, msg.Attachments)
	h.deliver(w, r, msg, Answer{Status: "stored", ReplyID: ev.ReplyID})
}

// quotaRetryAfter is the wait, in seconds, asked of a sender whose files found the gateway's
// attachment storage full.
const quotaRetryAfter = "60"

// refuseFiles answers a reply whose files were not stored: the refusal's status, or 503 for a
// failing or full blob store, which a retry may get past.
func (h *Helpdesk) refuseFiles(w http.ResponseWriter, msg normalize.Message, err error) {
	if ref, ok := errors.AsType[*refusal](err); ok {
		writeError(w, ref.status, ref.msg)
		return
	}
	if errors.Is(err, connectors.ErrQuota) {
		// Nothing is wrong with the reply, and the blob store logged that it is full: the sender
		// retries, not every second, once retention or an operator has freed room.
		w.Header().Set("Retry-After", quotaRetryAfter)
		writeError(w, http.StatusServiceUnavailable, "attachments not stored: the gateway's attachment storage is full; "+
			"retry later, or send the reply without attachments")
		return
	}
	h.log.Error("reply attachments not stored", "ticket", msg.Ticket, "conv", msg.Conversation, "external_id", msg.ExternalID, "err", err)
	w.Header().Set("Retry-After", "1")
	writeError(w, http.StatusServiceUnavailable, "attachments not stored, retry")
}

// deliver answers 200 only after the sink stored msg, 422 for what can never be stored (the
// sender must not retry), 503 with Retry-After otherwise (connectors.HookAnswer). The dedup
// key (this instance, the operator's reply_id or event_id) makes the sender's retries harmless.
func (h *Helpdesk) deliver(w http.ResponseWriter, r *http.Request, msg normalize.Message, ok Answer) {
	err := h.sink.Deliver(r.Context(), msg)
	if err == nil {
		// Skips building the logger, which encodes its attributes (issue 16).
		writeJSON(w, http.StatusOK, ok)
		return
	}
	log := h.log.With("conv", msg.Conversation, "ticket", msg.Ticket, "external_id", msg.ExternalID)
	if status, reason := connectors.HookAnswer(w, err, log); status != http.StatusOK {
		writeError(w, status, reason)
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
	case strings.TrimSpace(ev.Text) == "" && len(ev.Attachments) == 0:
		return normalize.Message{}, errors.New("text or attachments are required")
	}
	text := ev.Text
	if strings.TrimSpace(text) == "" {
		// Only files: a blank text would be sent as a message of its own, which channels refuse.
		text = ""
	}
	return normalize.Message{
		Direction:    normalize.Outbound,
		Source:       h.name,
		ExternalID:   normalize.ExternalID(ev.ReplyID),
		Conversation: normalize.ConversationID(ev.ConversationID),
		Ticket:       normalize.Ref(ev.Ticket),
		Author:       agentAuthor(ev.Agent),
		Kind:         replyKind(ev.Note, nil),
		Text:         text,
		ReplyTo:      normalize.ExternalID(ev.ReplyTo),
		SentAt:       h.now().UTC(),
	}, nil
}

// acceptStatus stores a status change as a system message, which the store applies to the
// conversation; the player is sent nothing.
func (h *Helpdesk) acceptStatus(w http.ResponseWriter, r *http.Request, ev InEvent) {
	if ev.Status != string(normalize.StatusOpen) && ev.Status != string(normalize.StatusPending) && ev.Status != string(normalize.StatusClosed) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("status must be open, pending or closed, got %q", ev.Status))
		return
	}
	msg, ok := h.change(w, ev, "status", "change")
	if !ok {
		return
	}
	msg.Status = normalize.Status(ev.Status)
	msg.Text = "Status set to " + ev.Status + " in the ticket system."
	h.deliver(w, r, msg, Answer{Status: "stored"})
}

// acceptAssignment stores an assignment as a system message, which the store applies to the
// conversation; the player is sent nothing. A null, absent or empty assignee unassigns.
func (h *Helpdesk) acceptAssignment(w http.ResponseWriter, r *http.Request, ev InEvent) {
	assignee := normalize.Agent{}
	if ev.Assignee != nil {
		assignee = normalize.Agent{ID: ev.Assignee.ID, Name: ev.Assignee.Name}
	}
	if assignee != (normalize.Agent{}) && strings.TrimSpace(assignee.ID) == "" && strings.TrimSpace(assignee.Name) == "" {
		// Blanks are a bug on the sender's side, not a wish to unassign: that is null or {}.
		writeError(w, http.StatusBadRequest, "assignee needs an id or a name (send null to unassign)")
		return
	}
	msg, ok := h.change(w, ev, "assign", "assignment")
	if !ok {
		return
	}
	msg.Assignee = &assignee
	msg.Text = "Unassigned in the ticket system."
	if assignee != (normalize.Agent{}) {
		msg.Text = "Assigned to " + cmp.Or(strings.TrimSpace(assignee.Name), assignee.ID) + " in the ticket system."
	}
	h.deliver(w, r, msg, Answer{Status: "stored"})
}

// change is the system message of a change the operator's system reports (what, e.g. a
// status change), deduplicated on "<prefix>-<event_id>"; on a missing event ID or
// conversation it has answered 400.
func (h *Helpdesk) change(w http.ResponseWriter, ev InEvent, prefix, what string) (normalize.Message, bool) {
	switch {
	case ev.EventID == "":
		writeError(w, http.StatusBadRequest, "event_id is required (the operator's ID of the "+what+", for deduplication)")
		return normalize.Message{}, false
	case ev.Ticket == "" && ev.ConversationID == "":
		writeError(w, http.StatusBadRequest, "ticket or conversation_id is required")
		return normalize.Message{}, false
	}
	return normalize.Message{
		Direction:    normalize.Outbound,
		Source:       h.name,
		ExternalID:   normalize.ExternalID(prefix + "-" + ev.EventID),
		Conversation: normalize.ConversationID(ev.ConversationID),
		Ticket:       normalize.Ref(ev.Ticket),
		Author:       agentAuthor(ev.Agent),
		Kind:         normalize.KindSystem,
		SentAt:       h.now().UTC(),
	}, true
}

// agentAuthor is the agent who wrote or changed something, as the thread records them.
func agentAuthor(a Agent) normalize.Author {
	return normalize.Author{Role: normalize.RoleAgent, DisplayName: a.Name, ExternalID: a.ID}
}

// verified checks the signature of a hook request; on failure it has answered 401.
func (h *Helpdesk) verified(w http.ResponseWriter, ts, sig string, body []byte) bool {
	if err := Verify(h.secret, ts, sig, body, h.now(), h.cfg.MaxSkew); err != nil {
		writeError(w, http.StatusUnauthorized, err.Error())
		return false
	}
	return true
}

// bodyLimit is the largest body the hook and the API read: maxBody, plus a reply's files at
// their limit in base64, which is 4/3 of the content.
func (h *Helpdesk) bodyLimit() int64 {
	return maxBody + (h.maxAttach+2)/3*4 // padded base64
}

// readBody reads the whole of r's body from src (r.Body, or a reader over it), at most
// bodyLimit; on failure it has answered 413, 408 or 400.
func (h *Helpdesk) readBody(w http.ResponseWriter, r *http.Request, src io.Reader) ([]byte, bool) {
	limit := h.bodyLimit()
	body, err := io.ReadAll(http.MaxBytesReader(w, io.NopCloser(src), limit))
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes (1 MiB of event and at most %d bytes of attachments in base64)", limit, h.maxAttach))
		return nil, false
	}
	switch {
	case err == nil:
		return body, true
	case errors.Is(err, errBigReadTooSlow):
		h.log.Warn("unverified large hook body cut off: it held its slot too long", "client", connectors.ClientAddr(r).String(),
			"read_bytes", len(body), "content_length", r.ContentLength, "hold", bigReadHold(limit).String())
		writeError(w, http.StatusRequestTimeout, fmt.Sprintf("body not received in time: a body over %d bytes must arrive within %s; retry", maxBody, bigReadHold(limit)))
	case errors.Is(err, os.ErrDeadlineExceeded):
		// The server's pacing cut it off, and logged it.
		writeError(w, http.StatusRequestTimeout, "body not received in time: it arrived too slowly; retry")
	default:
		writeError(w, http.StatusBadRequest, "read body: "+err.Error())
	}
	return nil, false
}

// decodeStrict refuses unknown fields, so a typo in an operator's integration ("reply-id")
// fails loudly instead of being dropped.
func decodeStrict(body []byte, dst *InEvent) error {
	dec := json.NewDecoder(bytes.NewReader(body))
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
