package loopback

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/casino-support/gateway/connectors/loopbackwire"
	"github.com/casino-support/gateway/normalize"
)

// The fakes play the remote side of the loopback connectors in a test process: a player app
// that receives replies, and a ticket system. They keep what they received, deduplicate by
// Idempotency-Key as the connectors' contract expects, and fail on demand. Mount them on
// httptest servers; every method is safe for concurrent use.

// fakeRemote is what both fakes share: the lock, injected faults and request counters.
type fakeRemote struct {
	mu       sync.Mutex
	faults   faults
	requests int
	repeats  int
}

// Repeats counts requests that repeated an Idempotency-Key already accepted (for the helpdesk:
// message posts; see TicketRepeats for ticket creations).
func (f *fakeRemote) Repeats() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.repeats
}

// Requests counts every request, failed and repeated ones included.
func (f *fakeRemote) Requests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests
}

// FailNext answers the next n requests with status (and Retry-After, rounded up to seconds,
// when retryAfter > 0) without recording them. Calls queue up.
func (f *fakeRemote) FailNext(n, status int, retryAfter time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults.failNext(n, status, retryAfter)
}

// LoseNext records the next n valid requests but answers them 502, as if the answer was lost.
func (f *fakeRemote) LoseNext(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults.lose += n
}

// Sent is one reply the fake channel remote accepted.
type Sent struct {
	// ID is what the remote answered; it is "sent-N", never a player's message ID, because the
	// store keeps a channel's sent IDs and its players' message IDs in one dedup namespace.
	ID             string
	MessageID      string
	ConversationID string
	Address        string
	Text           string
	Kind           string
	Author         string
}

// FakeChannelRemote receives the loopback channel's sends.
type FakeChannelRemote struct {
	secret string

	fakeRemote
	byKey map[string]string // Idempotency-Key → answered ID
	sent  []Sent            // unique deliveries in arrival order
}

// NewFakeChannelRemote returns an empty remote; a non-empty secret is required as bearer token.
func NewFakeChannelRemote(secret string) *FakeChannelRemote {
	return &FakeChannelRemote{secret: secret, byKey: map[string]string{}}
}

// ServeHTTP accepts an Outbound POST.
func (f *FakeChannelRemote) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests++
	ft, failing := f.faults.take()
	f.mu.Unlock()
	if failing {
		ft.write(w)
		return
	}
	var out Outbound
	if !loopbackwire.ReadRequest(w, r, f.secret, &out) {
		return
	}
	key := r.Header.Get("Idempotency-Key")
	if key == "" || out.MessageID == "" || out.Address == "" {
		loopbackwire.WriteError(w, http.StatusBadRequest, "Idempotency-Key, message_id and address are required")
		return
	}
	f.mu.Lock()
	id, seen := f.byKey[key]
	if seen {
		f.repeats++
	} else {
		id = fmt.Sprintf("sent-%d", len(f.sent)+1)
		f.byKey[key] = id
		f.sent = append(f.sent, Sent{ID: id, MessageID: out.MessageID, ConversationID: out.ConversationID,
			Address: out.Address, Text: out.Text, Kind: out.Kind, Author: out.Author})
	}
	lost := f.faults.takeLose()
	f.mu.Unlock()
	if lost {
		writeLost(w)
		return
	}
	loopbackwire.WriteJSON(w, http.StatusOK, IDResponse{ID: id})
}

// Received returns the unique deliveries to address in arrival order.
func (f *FakeChannelRemote) Received(address string) []Sent {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Sent
	for _, s := range f.sent {
		if s.Address == address {
			out = append(out, s)
		}
	}
	return out
}

// All returns every unique delivery in arrival order.
func (f *FakeChannelRemote) All() []Sent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.sent)
}

// Total counts unique deliveries to all addresses.
func (f *FakeChannelRemote) Total() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.sent)
}

// Posted is one message on a fake ticket.
type Posted struct {
	// ID is what the remote answered ("c-N").
	ID          string
	MessageID   string
	Text        string
	Author      string
	Kind        string
	Attachments int
}

// Ticket is one ticket of the fake helpdesk remote.
type Ticket struct {
	ID             string
	ConversationID string
	Channel        string
	Address        string
	Subject        string
	// Player is the player as the gateway described them when it opened the ticket.
	Player   normalize.Author
	Messages []Posted
}

// rejection makes the fake helpdesk refuse messages containing substr.
type rejection struct {
	substr string
	status int
}

// FakeHelpdeskRemote is a ticket system with POST /tickets and POST /tickets/{ticket}/messages.
type FakeHelpdeskRemote struct {
	secret string
	mux    *http.ServeMux

	fakeRemote
	rejections    []rejection
	tickets       map[string]*Ticket // by ticket ID
	order         []string           // ticket IDs in creation order
	ticketKeys    map[string]string  // Idempotency-Key → ticket ID
	messageKeys   map[string]string  // Idempotency-Key → answered message ID
	messages      int
	ticketRepeats int
}

// NewFakeHelpdeskRemote returns an empty remote; a non-empty secret is required as bearer token.
func NewFakeHelpdeskRemote(secret string) *FakeHelpdeskRemote {
	f := &FakeHelpdeskRemote{secret: secret, tickets: map[string]*Ticket{},
		ticketKeys: map[string]string{}, messageKeys: map[string]string{}}
	f.mux = http.NewServeMux()
	f.mux.HandleFunc("POST /tickets", f.createTicket)
	f.mux.HandleFunc("POST /tickets/{ticket}/messages", f.postMessage)
	return f
}

// ServeHTTP applies injected failures and routes to the ticket API; other paths answer 404.
func (f *FakeHelpdeskRemote) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests++
	ft, failing := f.faults.take()
	f.mu.Unlock()
	if failing {
		ft.write(w)
		return
	}
	f.mux.ServeHTTP(w, r)
}

func (f *FakeHelpdeskRemote) createTicket(w http.ResponseWriter, r *http.Request) {
	var req TicketRequest
	if !loopbackwire.ReadRequest(w, r, f.secret, &req) {
		return
	}
	key := r.Header.Get("Idempotency-Key")
	if key == "" || req.ConversationID == "" {
		loopbackwire.WriteError(w, http.StatusBadRequest, "Idempotency-Key and conversation_id are required")
		return
	}
	f.mu.Lock()
	id, seen := f.ticketKeys[key]
	if seen {
		f.ticketRepeats++
	} else {
		id = fmt.Sprintf("T-%d", len(f.order)+1)
		f.ticketKeys[key] = id
		f.order = append(f.order, id)
		f.tickets[id] = &Ticket{ID: id, ConversationID: req.ConversationID, Channel: req.Channel,
			Address: req.Address, Subject: req.Subject, Player: req.Player}
	}
	lost := f.faults.takeLose()
	f.mu.Unlock()
	if lost {
		writeLost(w)
		return
	}
	loopbackwire.WriteJSON(w, http.StatusCreated, TicketResponse{Ticket: id})
}

func (f *FakeHelpdeskRemote) postMessage(w http.ResponseWriter, r *http.Request) {
	var req MessageRequest
	if !loopbackwire.ReadRequest(w, r, f.secret, &req) {
		return
	}
	key := r.Header.Get("Idempotency-Key")
	if key == "" || req.MessageID == "" {
		loopbackwire.WriteError(w, http.StatusBadRequest, "Idempotency-Key and message_id are required")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.tickets[r.PathValue("ticket")]
	if !ok {
		loopbackwire.WriteError(w, http.StatusNotFound, "no such ticket")
		return
	}
	for _, rej := range f.rejections {
		if strings.Contains(req.Text, rej.substr) {
			loopbackwire.WriteError(w, rej.status, "message rejected")
			return
		}
	}
	id, seen := f.messageKeys[key]
	if seen {
		f.repeats++
	} else {
		f.messages++
		id = fmt.Sprintf("c-%d", f.messages)
		f.messageKeys[key] = id
		t.Messages = append(t.Messages, Posted{ID: id, MessageID: req.MessageID, Text: req.Text,
			Author: req.Author, Kind: req.Kind, Attachments: len(req.Attachments)})
	}
	if f.faults.takeLose() {
		writeLost(w)
		return
	}
	loopbackwire.WriteJSON(w, http.StatusCreated, IDResponse{ID: id})
}

// Tickets returns copies of the tickets keyed by conversation ID. Should a conversation have
// several tickets (a bug TicketCount reveals), the first one is returned.
func (f *FakeHelpdeskRemote) Tickets() map[string]Ticket {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]Ticket, len(f.order))
	for _, id := range f.order {
		t := *f.tickets[id]
		if _, dup := out[t.ConversationID]; dup {
			continue
		}
		t.Messages = slices.Clone(t.Messages)
		out[t.ConversationID] = t
	}
	return out
}

// TicketIDs returns the ticket IDs in creation order.
func (f *FakeHelpdeskRemote) TicketIDs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.order)
}

// TicketCount counts tickets created.
func (f *FakeHelpdeskRemote) TicketCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.order)
}

// MessageCount counts unique messages on all tickets.
func (f *FakeHelpdeskRemote) MessageCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.messages
}

// TicketRepeats counts ticket creations that repeated an Idempotency-Key.
func (f *FakeHelpdeskRemote) TicketRepeats() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ticketRepeats
}

// RejectText answers status, from now on, to every message whose text contains substr, as a
// ticket system refusing content does (use a 4xx such as 422 for a permanent rejection).
func (f *FakeHelpdeskRemote) RejectText(substr string, status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rejections = append(f.rejections, rejection{substr: substr, status: status})
}

// AcceptAll ends every RejectText rule, as an operator fixing the ticket system's filter does.
func (f *FakeHelpdeskRemote) AcceptAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rejections = nil
}
