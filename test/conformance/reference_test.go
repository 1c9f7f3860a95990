package conformance_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/test/conformance"
	"github.com/casino-support/gateway/test/httpfault"
)

// The reference connectors are the smallest channel and helpdesk that keep every promise of
// the suites, over HTTP to in-memory remotes. Each can be built to break one promise on
// purpose (breaks), so selftest_test.go can show that the suites catch exactly that; built
// with breaks "" they must pass.

// Promises a reference connector can break.
const (
	ackDespiteFailure     = "ack-despite-failure"     // the hook answers 2xx although Deliver failed
	ackBeforeDeliver      = "ack-before-deliver"      // the hook answers 2xx, then calls Deliver
	advanceDespiteFailure = "advance-despite-failure" // the poller moves its offset past what Deliver refused
	ignoresRetryAfter     = "ignores-retry-after"     // 429 and 503 are plain errors, without the remote's wait
	fiveXXPermanent       = "5xx-permanent"           // a 5xx is dead-lettered
	networkPermanent      = "network-permanent"       // timeouts and resets are dead-lettered
	badRequestRetryable   = "400-retryable"           // a 400 is retried forever
	unauthorizedPermanent = "unauthorized-permanent"  // 401 and 403 are dead-lettered
	wholeBatchIDs         = "whole-batch-ids"         // a failed batch reports every message posted
	noIDsOnFailure        = "no-ids-on-failure"       // a failed batch reports none posted
	dropsTicketOnError    = "drops-ticket-on-error"   // a failed batch forgets the ticket it created
	noIdempotency         = "no-idempotency"          // messages are posted without an idempotency key
	hookMode, pollMode    = "hook", "poll"            // how the reference channel receives
)

var discard = slog.New(slog.DiscardHandler)

// classify is the one policy (connectors.HTTPStatusError), or the broken one breaks names.
func classify(breaks string, resp *http.Response, err error) error {
	if err != nil {
		if breaks == networkPermanent {
			return connectors.Permanent(err)
		}
		return err
	}
	status := resp.StatusCode
	plain := fmt.Errorf("HTTP %d", status)
	switch {
	case breaks == fiveXXPermanent && status >= 500:
		return connectors.Permanent(plain)
	case breaks == badRequestRetryable && status == http.StatusBadRequest:
		return plain
	case breaks == unauthorizedPermanent && (status == http.StatusUnauthorized || status == http.StatusForbidden):
		return connectors.Permanent(plain)
	case breaks == ignoresRetryAfter && (status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable):
		return plain
	}
	return connectors.HTTPStatusError(resp, time.Now())
}

// postJSON POSTs in to url (with key as Idempotency-Key unless empty) and decodes a 2xx
// answer into out, classifying failures as breaks says.
func postJSON(ctx context.Context, client *http.Client, breaks, url, key string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return connectors.Permanent(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return connectors.Permanent(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := client.Do(req)
	if err != nil {
		return classify(breaks, nil, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return classify(breaks, resp, nil)
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decode answer: %w", err)
	}
	return nil
}

// hookPost is a remote calling a hook: nil for a 2xx answer, else an error naming the status.
func hookPost(ctx context.Context, url string, in any) error {
	body, _ := json.Marshal(in)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("hook answered %d", resp.StatusCode)
	}
	return nil
}

// pathIs picks the requests to path.
func pathIs(suffix string) httpfault.Match {
	return func(r *http.Request) bool {
		return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, suffix)
	}
}

// --- the channel ---

// update is a player's message as the player app's poll API hands it out.
type update struct {
	ID      int    `json:"update_id"`
	MsgID   string `json:"message_id"`
	Address string `json:"address"`
	Text    string `json:"text"`
}

// playerApp is the remote of the reference channel: it takes replies at POST /send
// (deduplicated by Idempotency-Key) and, for the polling channel, keeps players' messages as
// updates at GET /updates?offset=N until a poll with a higher offset confirms them.
type playerApp struct {
	mu      sync.Mutex
	sent    map[string][]string // address → texts of replies
	keys    map[string]string   // Idempotency-Key → answered ID
	pending []update
	next    int
}

func newPlayerApp() *playerApp {
	return &playerApp{sent: map[string][]string{}, keys: map[string]string{}, next: 1}
}

func (a *playerApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/send":
		var out struct {
			MessageID string `json:"message_id"`
			Address   string `json:"address"`
			Text      string `json:"text"`
		}
		if err := json.NewDecoder(r.Body).Decode(&out); err != nil || out.Address == "" {
			http.Error(w, "malformed reply", http.StatusBadRequest)
			return
		}
		key := r.Header.Get("Idempotency-Key")
		a.mu.Lock()
		id, seen := a.keys[key]
		if !seen || key == "" {
			id = fmt.Sprintf("sent-%d", len(a.keys)+1)
			a.keys[key] = id
			a.sent[out.Address] = append(a.sent[out.Address], out.Text)
		}
		a.mu.Unlock()
		_ = json.NewEncoder(w).Encode(map[string]string{"id": id})
	case "/updates":
		offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
		a.mu.Lock()
		i := 0
		for i < len(a.pending) && a.pending[i].ID < offset {
			i++
		}
		a.pending = a.pending[i:]
		batch := append([]update(nil), a.pending...)
		a.mu.Unlock()
		_ = json.NewEncoder(w).Encode(batch)
	default:
		http.NotFound(w, r)
	}
}

// add queues a player's message as an update and returns its ID.
func (a *playerApp) add(msgID, address, text string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	u := update{ID: a.next, MsgID: msgID, Address: address, Text: text}
	a.next++
	a.pending = append(a.pending, u)
	return u.ID
}

// confirmed reports whether update id was confirmed by a poll.
func (a *playerApp) confirmed(id int) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, u := range a.pending {
		if u.ID == id {
			return false
		}
	}
	return id > 0 && id < a.next
}

func (a *playerApp) received(address string) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.sent[address]...)
}

// refChannel receives players' messages at its hook (hookMode) or by polling the app
// (pollMode), and sends replies to the app.
type refChannel struct {
	mode, breaks string
	app          string // the player app's base URL
	client       *http.Client
	slot         connectors.SinkSlot
}

var _ connectors.Channel = (*refChannel)(nil)

func (c *refChannel) message(msgID, address, text string) normalize.Message {
	return normalize.Message{
		Direction: normalize.Inbound, Source: "ref-channel", ExternalID: normalize.ExternalID(msgID),
		Channel: "ref-channel", ChannelKind: normalize.KindLoopback, Address: normalize.Address(address),
		Author: normalize.Author{Role: normalize.RolePlayer}, Kind: normalize.KindText, Text: text,
		SentAt: time.Now().UTC(),
	}
}

func (c *refChannel) Run(ctx context.Context, sink connectors.Sink) error {
	if c.mode == hookMode {
		return c.slot.Hold(ctx, sink)
	}
	offset := 0
	for ctx.Err() == nil {
		var batch []update
		if err := c.get(ctx, fmt.Sprintf("%s/updates?offset=%d", c.app, offset), &batch); err != nil || len(batch) == 0 {
			connectors.Sleep(ctx, 10*time.Millisecond)
			continue
		}
		msgs := make([]normalize.Message, len(batch))
		for i, u := range batch {
			msgs[i] = c.message(u.MsgID, u.Address, u.Text)
		}
		if err := sink.Deliver(ctx, msgs...); err != nil && c.breaks != advanceDespiteFailure {
			connectors.Sleep(ctx, 20*time.Millisecond) // the app keeps the batch; fetch it again
			continue
		}
		offset = batch[len(batch)-1].ID + 1
	}
	return nil
}

func (c *refChannel) get(ctx context.Context, url string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// ServeHTTP is the hook: one player message, answered 2xx once stored.
func (c *refChannel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var in struct{ ID, Address, Text string }
	if r.Method != http.MethodPost || c.mode != hookMode {
		http.Error(w, "POST to a hook channel only", http.StatusMethodNotAllowed)
		return
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.ID == "" || in.Address == "" {
		http.Error(w, "malformed message", http.StatusBadRequest)
		return
	}
	msg := c.message(in.ID, in.Address, in.Text)
	if c.breaks == ackBeforeDeliver {
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		_ = c.slot.Deliver(r.Context(), msg)
		return
	}
	err := c.slot.Deliver(r.Context(), msg)
	if c.breaks == ackDespiteFailure && !errors.Is(err, connectors.ErrNotRunning) {
		err = nil
	}
	if status, reason := connectors.HookAnswer(w, err, discard); status != http.StatusOK {
		http.Error(w, reason, status)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (c *refChannel) Send(ctx context.Context, conv normalize.Conversation, msg normalize.Message) (normalize.ExternalID, error) {
	var ans struct{ ID string }
	out := map[string]string{"message_id": string(msg.ID), "address": string(conv.Address), "text": msg.Text}
	if err := postJSON(ctx, c.client, c.breaks, c.app+"/send", string(msg.ID), out, &ans); err != nil {
		return "", fmt.Errorf("ref channel: send %s: %w", msg.ID, err)
	}
	return normalize.ExternalID(ans.ID), nil
}

// refChannelEnv is one reference channel with its app and what the harness remembers.
type refChannelEnv struct {
	app    *playerApp
	hook   string
	faults *httpfault.Transport
	acks   conformance.Acks

	mu      sync.Mutex
	updates map[string]int // the suite's message name → its latest update
}

// refChannelHarness connects the suite to a reference channel that breaks breaks.
func refChannelHarness(mode, breaks string) conformance.ChannelHarness {
	var envs conformance.PerTest[*refChannelEnv]
	return conformance.ChannelHarness{
		New: func(t *testing.T) connectors.Channel {
			app := newPlayerApp()
			appSrv := httptest.NewServer(app)
			t.Cleanup(appSrv.Close)
			client, faults := httpfault.Wrap(appSrv.Client())
			ch := &refChannel{mode: mode, breaks: breaks, app: appSrv.URL, client: client}
			hook := httptest.NewServer(ch)
			t.Cleanup(hook.Close)
			envs.Put(t, &refChannelEnv{app: app, hook: hook.URL, faults: faults, updates: map[string]int{}})
			return ch
		},
		PlayerSends: func(t *testing.T, _ connectors.Channel, address normalize.Address, externalID, text string) error {
			env := envs.Get(t)
			if mode == pollMode {
				id := env.app.add(externalID, string(address), text)
				env.mu.Lock()
				env.updates[externalID] = id
				env.mu.Unlock()
				return nil
			}
			in := map[string]string{"id": externalID, "address": string(address), "text": text}
			return env.acks.Record(externalID, hookPost(t.Context(), env.hook, in))
		},
		Received: func(t *testing.T, address normalize.Address) []string {
			return envs.Get(t).app.received(string(address))
		},
		Idempotent: true,
		Acknowledged: func(t *testing.T, _ normalize.Address, externalID string) bool {
			env := envs.Get(t)
			if mode == pollMode {
				env.mu.Lock()
				id := env.updates[externalID]
				env.mu.Unlock()
				return env.app.confirmed(id)
			}
			return env.acks.Acknowledged(externalID)
		},
		FailSend: func(t *testing.T, f httpfault.Fault) {
			envs.Get(t).faults.Next(pathIs("/send"), f)
		},
	}
}

// --- the helpdesk ---

// ticketSystem is the remote of the reference helpdesk: POST /tickets opens a conversation's
// ticket, POST /tickets/{ticket}/messages appends a message; both deduplicate by
// Idempotency-Key when one is sent.
type ticketSystem struct {
	mu      sync.Mutex
	tickets map[string]string   // ticket → conversation
	held    map[string][]string // conversation → message IDs in order
	keys    map[string]string   // Idempotency-Key → answered ID
	n       int
}

func newTicketSystem() *ticketSystem {
	return &ticketSystem{tickets: map[string]string{}, held: map[string][]string{}, keys: map[string]string{}}
}

func (s *ticketSystem) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get("Idempotency-Key")
	var in struct {
		ConversationID string `json:"conversation_id"`
		MessageID      string `json:"message_id"`
	}
	if r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&in) != nil {
		http.Error(w, "malformed request", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := s.keys[key]; ok && key != "" {
		_ = json.NewEncoder(w).Encode(map[string]string{"id": id})
		return
	}
	s.n++
	var id string
	switch ticket, ok := strings.CutSuffix(strings.TrimPrefix(r.URL.Path, "/tickets/"), "/messages"); {
	case r.URL.Path == "/tickets" && in.ConversationID != "":
		id = fmt.Sprintf("T-%d", s.n)
		s.tickets[id] = in.ConversationID
		s.held[in.ConversationID] = []string{}
	case ok && s.tickets[ticket] != "" && in.MessageID != "":
		id = fmt.Sprintf("c-%d", s.n)
		conv := s.tickets[ticket]
		s.held[conv] = append(s.held[conv], in.MessageID)
	default:
		http.Error(w, "no such ticket, or a malformed request", http.StatusBadRequest)
		return
	}
	s.keys[key] = id
	_ = json.NewEncoder(w).Encode(map[string]string{"id": id})
}

func (s *ticketSystem) heldByConversation() map[normalize.ConversationID][]normalize.MessageID {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[normalize.ConversationID][]normalize.MessageID{}
	for conv, ids := range s.held {
		held := []normalize.MessageID{}
		for _, id := range ids {
			held = append(held, normalize.MessageID(id))
		}
		out[normalize.ConversationID(conv)] = held
	}
	return out
}

// refHelpdesk posts to the ticket system and takes agents' replies at its hook.
type refHelpdesk struct {
	breaks string
	base   string
	client *http.Client
	slot   connectors.SinkSlot
}

var _ connectors.Helpdesk = (*refHelpdesk)(nil)

func (h *refHelpdesk) Run(ctx context.Context, sink connectors.Sink) error {
	return h.slot.Hold(ctx, sink)
}

func (h *refHelpdesk) Post(ctx context.Context, conv normalize.Conversation, msgs []connectors.Delivery) (normalize.Ref, []normalize.ExternalID, error) {
	ticket := conv.Ticket
	if ticket == "" {
		var ans struct{ ID string }
		in := map[string]string{"conversation_id": string(conv.ID)}
		if err := postJSON(ctx, h.client, h.breaks, h.base+"/tickets", "open-"+string(conv.ID), in, &ans); err != nil {
			return "", nil, fmt.Errorf("ref helpdesk: open %s: %w", conv.ID, err)
		}
		ticket = normalize.Ref(ans.ID)
	}
	ids := make([]normalize.ExternalID, 0, len(msgs))
	for _, d := range msgs {
		key := string(d.ID)
		if h.breaks == noIdempotency {
			key = ""
		}
		var ans struct{ ID string }
		in := map[string]string{"message_id": string(d.ID), "text": d.Text}
		if err := postJSON(ctx, h.client, h.breaks, h.base+"/tickets/"+string(ticket)+"/messages", key, in, &ans); err != nil {
			err = fmt.Errorf("ref helpdesk: post %s: %w", d.ID, err)
			switch h.breaks {
			case wholeBatchIDs:
				for _, rest := range msgs[len(ids):] {
					ids = append(ids, normalize.ExternalID("unsure-"+rest.ID))
				}
			case noIDsOnFailure:
				ids = nil
			case dropsTicketOnError:
				return "", ids, err
			}
			return ticket, ids, err
		}
		ids = append(ids, normalize.ExternalID(ans.ID))
	}
	return ticket, ids, nil
}

// ServeHTTP is the hook: one agent reply, answered 2xx once stored.
func (h *refHelpdesk) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ReplyID string `json:"reply_id"`
		Ticket  string `json:"ticket"`
		Text    string `json:"text"`
	}
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.ReplyID == "" || in.Ticket == "" || in.Text == "" {
		http.Error(w, "malformed reply", http.StatusBadRequest)
		return
	}
	err := h.slot.Deliver(r.Context(), normalize.Message{
		Direction: normalize.Outbound, Source: "ref-helpdesk", ExternalID: normalize.ExternalID(in.ReplyID),
		Ticket: normalize.Ref(in.Ticket), Author: normalize.Author{Role: normalize.RoleAgent, DisplayName: "Agent"},
		Kind: normalize.KindText, Text: in.Text, SentAt: time.Now().UTC(),
	})
	if h.breaks == ackDespiteFailure && !errors.Is(err, connectors.ErrNotRunning) {
		err = nil
	}
	if status, reason := connectors.HookAnswer(w, err, discard); status != http.StatusOK {
		http.Error(w, reason, status)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// refHelpdeskEnv is one reference helpdesk with its ticket system.
type refHelpdeskEnv struct {
	remote *ticketSystem
	hook   string
	faults *httpfault.Transport
	acks   conformance.Acks
}

// refHelpdeskHarness connects the suite to a reference helpdesk that breaks breaks.
func refHelpdeskHarness(breaks string) conformance.HelpdeskHarness {
	var envs conformance.PerTest[*refHelpdeskEnv]
	reply := func(t *testing.T, ticket normalize.Ref, replyID, text string) error {
		env := envs.Get(t)
		in := map[string]string{"reply_id": replyID, "ticket": string(ticket), "text": text}
		return env.acks.Record(replyID, hookPost(t.Context(), env.hook, in))
	}
	return conformance.HelpdeskHarness{
		New: func(t *testing.T) connectors.Helpdesk {
			remote := newTicketSystem()
			srv := httptest.NewServer(remote)
			t.Cleanup(srv.Close)
			client, faults := httpfault.Wrap(srv.Client())
			hd := &refHelpdesk{breaks: breaks, base: srv.URL, client: client}
			hook := httptest.NewServer(hd)
			t.Cleanup(hook.Close)
			envs.Put(t, &refHelpdeskEnv{remote: remote, hook: hook.URL, faults: faults})
			return hd
		},
		Tickets: func(t *testing.T) map[normalize.ConversationID][]normalize.MessageID {
			return envs.Get(t).remote.heldByConversation()
		},
		AgentReply: func(t *testing.T, ticket normalize.Ref, replyID, text string) {
			var err error
			for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				if err = reply(t, ticket, replyID, text); err == nil {
					return
				}
			}
			t.Fatalf("the hook never acknowledged reply %s: %v", replyID, err)
		},
		Hook:       func(hd connectors.Helpdesk) http.Handler { return hd.(http.Handler) },
		AgentSends: reply,
		ReplyAcknowledged: func(t *testing.T, _ normalize.Ref, replyID string) bool {
			return envs.Get(t).acks.Acknowledged(replyID)
		},
		FailAfter: func(t *testing.T, k int, f httpfault.Fault) {
			envs.Get(t).faults.After(k, pathIs("/messages"), f)
		},
	}
}

// TestReferenceChannel shows that the reference channel keeps every promise: the self-test's
// broken copies fail only for what they break.
func TestReferenceChannel(t *testing.T) {
	for _, mode := range []string{hookMode, pollMode} {
		t.Run(mode, func(t *testing.T) { conformance.RunChannel(t, refChannelHarness(mode, "")) })
	}
}

// TestReferenceHelpdesk shows that the reference helpdesk keeps every promise.
func TestReferenceHelpdesk(t *testing.T) {
	conformance.RunHelpdesk(t, refHelpdeskHarness(""))
}
