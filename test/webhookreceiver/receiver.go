package webhookreceiver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/casino-support/gateway/connectors/helpdesk/webhook"
)

// Fault is one injected failure: the next request gets Status (with RetryAfter, if set)
// after waiting Delay. A zero Status with a Delay only slows the request down, so a client
// timeout fires; the request is then processed as usual, as a real slow server would.
// LoseAnswer processes the request as usual (the event is stored) and then drops the
// connection without an answer, as when the answer is lost on its way back: the sender must
// send the event again and the repeat is deduplicated by its idempotency key.
type Fault struct {
	Status     int
	RetryAfter string
	Delay      time.Duration
	LoseAnswer bool
}

// Received is one event the receiver accepted, alone or in an events.batch.
type Received struct {
	Key string // the event's ID: its Idempotency-Key when it came alone
	// Batch is the ID of the events.batch that brought the event, empty when it came alone.
	Batch string
	Event webhook.OutEvent
	// At is when the first request with Key arrived.
	At time.Time
}

// answer is what the receiver replied to an idempotency key, replayed on repeats.
type answer struct {
	status int
	body   []byte
}

// Receiver is the operator's endpoint. Safe for concurrent use.
type Receiver struct {
	contract *Contract
	secret   []byte
	maxSkew  time.Duration
	now      func() time.Time

	mu       sync.Mutex
	faults   []Fault
	shorten  []int // see ShortenBatches
	answers  map[string]answer
	events   []Received
	requests int
	repeats  int
	tickets  map[string]string // conversation ID → ticket
	opened   int               // tickets opened, follow-ups included
	// followUps maps a follow-up ticket to the closed one it follows up (issue 18).
	followUps map[string]string
	messages  map[string][]string // conversation ID → message IDs in order
	updates   map[string][]string // conversation ID → update IDs in order
	errs      []error
}

// New returns a receiver checking signatures with secret and bodies against contract. A nil
// contract checks signatures, keys and tickets only: a load run would otherwise measure the
// validator's CPU as the gateway's.
func New(contract *Contract, secret string, maxSkew time.Duration) *Receiver {
	return &Receiver{contract: contract, secret: []byte(secret), maxSkew: maxSkew, now: time.Now,
		answers: map[string]answer{}, tickets: map[string]string{}, followUps: map[string]string{}, messages: map[string][]string{}, updates: map[string][]string{}}
}

// Inject queues faults for the next requests, in order.
func (rc *Receiver) Inject(f ...Fault) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.faults = append(rc.faults, f...)
}

// ShortenBatches makes the next events.batch requests store only the first n[i] events each
// and answer their results, as an operator may that stores a batch event by event and stops
// half-way. The batches are counted apart from Inject's requests.
func (rc *Receiver) ShortenBatches(n ...int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.shorten = append(rc.shorten, n...)
}

// ServeHTTP verifies, validates, deduplicates and records one event, or each event of an
// events.batch.
func (rc *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	arrived := time.Now()
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		rc.fail(w, http.StatusBadRequest, fmt.Errorf("read body: %w", err))
		return
	}
	rc.mu.Lock()
	rc.requests++
	var fault Fault
	if len(rc.faults) > 0 {
		fault, rc.faults = rc.faults[0], rc.faults[1:]
	}
	rc.mu.Unlock()
	if fault.Delay > 0 {
		select {
		case <-time.After(fault.Delay):
		case <-r.Context().Done():
		}
	}
	if fault.Status != 0 {
		if fault.RetryAfter != "" {
			w.Header().Set("Retry-After", fault.RetryAfter)
		}
		http.Error(w, "injected fault", fault.Status)
		return
	}
	if err := webhook.Verify(rc.secret, r.Header.Get(webhook.HeaderTimestamp), r.Header.Get(webhook.HeaderSignature), body, rc.now(), rc.maxSkew); err != nil {
		rc.fail(w, http.StatusUnauthorized, fmt.Errorf("verify: %w", err))
		return
	}
	x := Exchange{Template: OperatorPath, Request: r, Body: body}
	if rc.contract != nil {
		if err := rc.contract.ValidateRequest(r.Context(), x); err != nil {
			rc.fail(w, http.StatusBadRequest, err)
			return
		}
	}
	event, key := r.Header.Get(webhook.HeaderEvent), r.Header.Get(webhook.HeaderIdempotencyKey)
	var a answer
	if event == webhook.EventBatch {
		a, err = rc.serveBatch(key, body, arrived)
	} else {
		a, err = rc.serveOne(event, key, body, arrived)
	}
	if err != nil {
		rc.fail(w, http.StatusBadRequest, err)
		return
	}
	if fault.LoseAnswer {
		panic(http.ErrAbortHandler) // net/http closes the connection without a response
	}
	x.Status, x.Header, x.Response = a.status, http.Header{"Content-Type": {"application/json"}}, a.body
	if rc.contract != nil {
		if err := rc.contract.ValidateResponse(r.Context(), x); err != nil {
			rc.record(err)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body)
}

// serveOne deduplicates and records one event and returns its answer, the first one again
// for a repeat.
func (rc *Receiver) serveOne(event, key string, body []byte, at time.Time) (answer, error) {
	var ev webhook.OutEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		return answer{}, fmt.Errorf("decode: %w", err)
	}
	if ev.ID != key || ev.Event != event {
		return answer{}, fmt.Errorf("event %s id %q disagrees with headers %q, %q", ev.Event, ev.ID, event, key)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.once(ev, "", at), nil
}

// serveBatch deduplicates and records each event of an events.batch exactly as serveOne
// does, and answers their results: those of the first ShortenBatches asked for, if any.
func (rc *Receiver) serveBatch(key string, body []byte, at time.Time) (answer, error) {
	var b webhook.OutBatch
	if err := json.Unmarshal(body, &b); err != nil {
		return answer{}, fmt.Errorf("decode batch: %w", err)
	}
	if b.ID != key || b.Event != webhook.EventBatch {
		return answer{}, fmt.Errorf("batch %s id %q disagrees with headers %q, %q", b.Event, b.ID, webhook.EventBatch, key)
	}
	evs := make([]webhook.OutEvent, len(b.Events))
	for i, raw := range b.Events {
		if err := json.Unmarshal(raw, &evs[i]); err != nil {
			return answer{}, fmt.Errorf("decode event %d of batch %s: %w", i, b.ID, err)
		}
		if e := evs[i].Event; e != webhook.EventMessageCreated && e != webhook.EventConversationUpdated {
			return answer{}, fmt.Errorf("batch %s carries %s, which must go alone", b.ID, e)
		}
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.shorten) > 0 {
		evs = evs[:min(len(evs), rc.shorten[0])]
		rc.shorten = rc.shorten[1:]
	}
	results := make([]json.RawMessage, len(evs))
	for i, ev := range evs {
		results[i] = rc.once(ev, b.ID, at).body
	}
	return jsonAnswer(http.StatusOK, struct {
		Results []json.RawMessage `json:"results"`
	}{results}), nil
}

// once records ev unless its ID was seen, and returns its answer; rc.mu is held.
func (rc *Receiver) once(ev webhook.OutEvent, batch string, at time.Time) answer {
	a, seen := rc.answers[ev.ID]
	if seen {
		rc.repeats++
		return a
	}
	rc.events = append(rc.events, Received{Key: ev.ID, Batch: batch, Event: ev, At: at})
	a = rc.apply(ev)
	rc.answers[ev.ID] = a
	return a
}

// apply records a first-seen event and returns the answer; rc.mu is held.
func (rc *Receiver) apply(ev webhook.OutEvent) answer {
	conv := ev.Conversation.ID
	switch ev.Event {
	case webhook.EventConversationOpened:
		prev, ok := rc.tickets[conv]
		if ok && (ev.Conversation.FollowUpOf == "" || ev.Conversation.FollowUpOf != prev) {
			rc.errs = append(rc.errs, fmt.Errorf("conversation %s opened twice, not as a follow-up of its ticket %s", conv, prev))
		}
		rc.opened++
		ticket := fmt.Sprintf("T-%d", rc.opened)
		if ev.Conversation.FollowUpOf != "" {
			rc.followUps[ticket] = ev.Conversation.FollowUpOf
		}
		rc.tickets[conv] = ticket
		rc.messages[conv] = []string{}
		return jsonAnswer(http.StatusOK, webhook.OpenedAnswer{Ticket: ticket})
	case webhook.EventMessageCreated:
		rc.checkTicket(ev)
		rc.messages[conv] = append(rc.messages[conv], ev.Message.ID)
		return jsonAnswer(http.StatusOK, webhook.CreatedAnswer{ID: "ext-" + ev.Message.ID})
	case webhook.EventConversationUpdated:
		rc.checkTicket(ev)
		rc.updates[conv] = append(rc.updates[conv], ev.ID)
		return jsonAnswer(http.StatusOK, webhook.CreatedAnswer{ID: "ext-" + ev.ID})
	}
	return jsonAnswer(http.StatusOK, struct{}{})
}

// checkTicket records an error when ev names another ticket than its conversation was opened
// with, or comes before the conversation was opened; rc.mu is held.
func (rc *Receiver) checkTicket(ev webhook.OutEvent) {
	conv := ev.Conversation.ID
	if want := rc.tickets[conv]; want == "" || want != ev.Conversation.Ticket {
		rc.errs = append(rc.errs, fmt.Errorf("%s %s names ticket %q, conversation %s has %q", ev.Event, ev.ID, ev.Conversation.Ticket, conv, want))
	}
}

func jsonAnswer(status int, v any) answer {
	var b bytes.Buffer
	_ = json.NewEncoder(&b).Encode(v)
	return answer{status: status, body: b.Bytes()}
}

// fail answers a refused request and records why: the gateway should never send one.
func (rc *Receiver) fail(w http.ResponseWriter, status int, err error) {
	rc.record(err)
	http.Error(w, err.Error(), status)
}

func (rc *Receiver) record(err error) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.errs = append(rc.errs, err)
}

// Errors returns what the receiver found wrong: bad signatures, contract violations,
// inconsistent events.
func (rc *Receiver) Errors() []error {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]error(nil), rc.errs...)
}

// Events returns the events recorded, once per event ID, in arrival order; a batch's events
// each on their own.
func (rc *Receiver) Events() []Received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]Received(nil), rc.events...)
}

// EventsSince returns the events recorded after the first n, so a load run can follow them
// without copying the whole list on every look.
func (rc *Receiver) EventsSince(n int) []Received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if n >= len(rc.events) {
		return nil
	}
	return append([]Received(nil), rc.events[max(n, 0):]...)
}

// Requests counts every request, repeats and faults included.
func (rc *Receiver) Requests() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.requests
}

// Repeats counts the events, alone or in a batch, whose ID had been answered before: the
// gateway sent the same event again, as it may after a crash or a lost answer.
func (rc *Receiver) Repeats() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.repeats
}

// Ticket returns the ticket of a conversation, or "".
func (rc *Receiver) Ticket(conv string) string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.tickets[conv]
}

// ConversationOf returns the conversation that holds ticket, or "".
func (rc *Receiver) ConversationOf(ticket string) string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for conv, t := range rc.tickets {
		if t == ticket {
			return conv
		}
	}
	return ""
}

// FollowUpOf returns the ticket that ticket was opened to follow up, "" for none.
func (rc *Receiver) FollowUpOf(ticket string) string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.followUps[ticket]
}

// Updates returns the IDs of conversation.updated events per conversation, in order.
func (rc *Receiver) Updates() map[string][]string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := make(map[string][]string, len(rc.updates))
	for k, v := range rc.updates {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// Messages returns the message IDs per conversation, in order.
func (rc *Receiver) Messages() map[string][]string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := make(map[string][]string, len(rc.messages))
	for k, v := range rc.messages {
		out[k] = append([]string(nil), v...)
	}
	return out
}
