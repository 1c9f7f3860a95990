package conformance_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
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
	dropsAttachments      = "drops-attachments"       // messages are posted without their files
	racyOpen              = "racy-open"               // a ticket is opened after a look-up that found none, without a key
	replyIDByText         = "reply-id-by-text"        // an agent's reply is keyed by its text
	echoForeignID         = "echo-foreign-id"         // comments are keyed apart from the IDs Post returns
	notesAsReplies        = "notes-as-replies"        // internal notes are delivered as replies
	statusIDByStatus      = "status-id-by-status"     // a status change is keyed by ticket and status
	retryAfterSecondsOnly = "retry-after-seconds"     // a Retry-After HTTP date is not read
	noFollowUp            = "no-follow-up"            // a closed ticket's follow-up is opened like the first ticket
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
	case breaks == retryAfterSecondsOnly && status == http.StatusTooManyRequests:
		secs, err := strconv.Atoi(resp.Header.Get("Retry-After"))
		if err != nil {
			secs = 1
		}
		return connectors.RetryAfter(time.Duration(secs)*time.Second, plain)
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
// ticket, POST /tickets/{ticket}/messages appends a message with its files; both deduplicate
// by Idempotency-Key when one is sent. GET /tickets?conversation=ID finds a conversation's
// ticket, slowly, as a search index does.
type ticketSystem struct {
	mu      sync.Mutex
	tickets map[string]string   // ticket → conversation
	byConv  map[string][]string // conversation → its tickets, in order of creation
	held    map[string][]string // ticket → message IDs in order
	files   map[string][]conformance.File
	follows map[string]string // follow-up ticket → the closed ticket it follows up
	keys    map[string]string // Idempotency-Key → answered ID
	n       int
}

func newTicketSystem() *ticketSystem {
	return &ticketSystem{tickets: map[string]string{}, byConv: map[string][]string{}, held: map[string][]string{},
		files: map[string][]conformance.File{}, follows: map[string]string{}, keys: map[string]string{}}
}

// refFile is a file as the reference helpdesk posts it.
type refFile struct {
	Name      string `json:"name"`
	MediaType string `json:"media_type"`
	Content   []byte `json:"content"` // base64 in JSON
}

func (s *ticketSystem) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && r.URL.Path == "/tickets" {
		s.mu.Lock()
		found := append([]string(nil), s.byConv[r.URL.Query().Get("conversation")]...)
		s.mu.Unlock()
		time.Sleep(50 * time.Millisecond) // the index lags: what was created meanwhile is not found
		_ = json.NewEncoder(w).Encode(found)
		return
	}
	key := r.Header.Get("Idempotency-Key")
	var in struct {
		ConversationID string    `json:"conversation_id"`
		FollowUpOf     string    `json:"follow_up_of"`
		MessageID      string    `json:"message_id"`
		Files          []refFile `json:"files"`
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
		s.byConv[in.ConversationID] = append(s.byConv[in.ConversationID], id)
		if in.FollowUpOf != "" {
			s.follows[id] = in.FollowUpOf
		}
		s.held[id] = []string{}
	case ok && s.tickets[ticket] != "" && in.MessageID != "":
		id = fmt.Sprintf("c-%d", s.n)
		s.held[ticket] = append(s.held[ticket], in.MessageID)
		for _, f := range in.Files {
			s.files[id] = append(s.files[id], conformance.File{Name: f.Name, MediaType: f.MediaType, Content: f.Content})
		}
	default:
		http.Error(w, "no such ticket, or a malformed request", http.StatusBadRequest)
		return
	}
	s.keys[key] = id
	_ = json.NewEncoder(w).Encode(map[string]string{"id": id})
}

// heldByConversation returns what the remote holds per conversation; it fails t for a
// conversation on more than one ticket.
func (s *ticketSystem) heldByConversation(t *testing.T) map[normalize.ConversationID][]normalize.MessageID {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[normalize.ConversationID][]normalize.MessageID{}
	for conv, tickets := range s.byConv {
		for i, ticket := range tickets[1:] {
			if s.follows[ticket] != tickets[i] {
				t.Errorf("the remote holds conversation %s on %d tickets: %v", conv, len(tickets), tickets)
			}
		}
		held := []normalize.MessageID{}
		for _, id := range s.held[tickets[len(tickets)-1]] {
			held = append(held, normalize.MessageID(id))
		}
		out[normalize.ConversationID(conv)] = held
	}
	return out
}

func (s *ticketSystem) followUpOf(ticket string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.follows[ticket]
}

func (s *ticketSystem) filesOf(comment string) []conformance.File {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.files[comment])
}

// refHelpdesk posts to the ticket system and takes its events at its hook.
type refHelpdesk struct {
	breaks string
	base   string
	client *http.Client
	blobs  connectors.Blobs
	slot   connectors.SinkSlot
}

var _ connectors.Helpdesk = (*refHelpdesk)(nil)

func (h *refHelpdesk) Run(ctx context.Context, sink connectors.Sink) error {
	return h.slot.Hold(ctx, sink)
}

func (h *refHelpdesk) Post(ctx context.Context, conv normalize.Conversation, msgs []connectors.Delivery) (normalize.Ref, []normalize.ExternalID, error) {
	ticket := conv.Ticket
	if ticket == "" {
		var err error
		if ticket, err = h.open(ctx, conv); err != nil {
			return "", nil, fmt.Errorf("ref helpdesk: open %s: %w", conv.ID, err)
		}
	}
	ids := make([]normalize.ExternalID, 0, len(msgs))
	for _, d := range msgs {
		key := string(d.ID)
		if h.breaks == noIdempotency {
			key = ""
		}
		var ans struct{ ID string }
		in := map[string]any{"message_id": string(d.ID), "text": d.Text}
		files, err := h.files(ctx, d.Message)
		if err == nil {
			in["files"] = files
			err = postJSON(ctx, h.client, h.breaks, h.base+"/tickets/"+string(ticket)+"/messages", key, in, &ans)
		}
		if err != nil {
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

// open creates conv's ticket under an idempotency key, or (racyOpen) looks for it first and
// creates one when the look-up finds none, which overlapping attempts both do.
func (h *refHelpdesk) open(ctx context.Context, conv normalize.Conversation) (normalize.Ref, error) {
	key := "open-" + string(conv.ID)
	in := map[string]string{"conversation_id": string(conv.ID)}
	if conv.FollowUpOf != "" && h.breaks != noFollowUp {
		key += "-after-" + string(conv.FollowUpOf)
		in["follow_up_of"] = string(conv.FollowUpOf)
	}
	if h.breaks == racyOpen {
		key = ""
		var found []string
		if err := getJSON(ctx, h.client, h.base+"/tickets?conversation="+string(conv.ID), &found); err != nil {
			return "", err
		}
		if n := len(found); n > 0 && normalize.Ref(found[n-1]) != conv.FollowUpOf {
			return normalize.Ref(found[n-1]), nil
		}
	}
	var ans struct{ ID string }
	if err := postJSON(ctx, h.client, h.breaks, h.base+"/tickets", key, in, &ans); err != nil {
		return "", err
	}
	return normalize.Ref(ans.ID), nil
}

// files reads m's attachments from the blob store, to post them inline.
func (h *refHelpdesk) files(ctx context.Context, m normalize.Message) ([]refFile, error) {
	if h.breaks == dropsAttachments {
		return nil, nil
	}
	var out []refFile
	for _, a := range m.Attachments {
		rc, err := h.blobs.Open(ctx, a.BlobRef)
		if err != nil {
			return nil, connectors.Permanent(fmt.Errorf("open %s: %w", a.BlobRef, err))
		}
		content, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", a.BlobRef, err)
		}
		out = append(out, refFile{Name: a.Name, MediaType: a.MediaType, Content: content})
	}
	return out, nil
}

// getJSON GETs url and decodes a 200 answer into out.
func getJSON(ctx context.Context, client *http.Client, url string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return connectors.Permanent(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return connectors.HTTPStatusError(resp, time.Now())
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// refEvent is what the ticket system sends the hook: a comment added to a ticket (an agent's
// reply, an internal note with Public false, or a message the gateway posted itself, by the
// author "gateway"), or a status change.
type refEvent struct {
	Type   string `json:"type"` // "comment" or "status"
	ID     string `json:"id"`   // the comment's ID, or the status change's event ID
	Ticket string `json:"ticket"`
	Text   string `json:"text"`
	Public bool   `json:"public"`
	Author string `json:"author"`
	Status string `json:"status"`
}

// ServeHTTP is the hook: one event, answered 2xx once stored.
func (h *refHelpdesk) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	var in refEvent
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.ID == "" || in.Ticket == "" {
		http.Error(w, "malformed event", http.StatusBadRequest)
		return
	}
	msg := normalize.Message{
		Direction: normalize.Outbound, Source: "ref-helpdesk", ExternalID: normalize.ExternalID(in.ID),
		Ticket: normalize.Ref(in.Ticket), Author: normalize.Author{Role: normalize.RoleAgent, DisplayName: "Agent"},
		Kind: normalize.KindText, Text: in.Text, SentAt: time.Now().UTC(),
	}
	switch {
	case in.Type == "comment" && in.Text != "":
		// A comment's external ID is its ID in the ticket system, the same Post returned when
		// the gateway posted it: the store drops the gateway's own comments as duplicates.
		switch {
		case h.breaks == echoForeignID:
			msg.ExternalID = "comment-" + msg.ExternalID
		case h.breaks == replyIDByText && in.Author != "gateway":
			msg.ExternalID = normalize.ExternalID(fmt.Sprintf("text-%x", sha256.Sum256([]byte(in.Text))))
		}
		if !in.Public && h.breaks != notesAsReplies {
			msg.Kind = normalize.KindNote
		}
	case in.Type == "status" && slices.Contains([]string{"open", "pending", "closed"}, in.Status):
		msg.Kind, msg.Status = normalize.KindSystem, normalize.Status(in.Status)
		msg.Text = "Status set to " + in.Status
		msg.ExternalID = normalize.ExternalID("status-" + in.ID)
		if h.breaks == statusIDByStatus {
			msg.ExternalID = normalize.ExternalID("status-" + in.Ticket + "-" + in.Status)
		}
	default:
		http.Error(w, "malformed event", http.StatusBadRequest)
		return
	}
	err := h.slot.Deliver(r.Context(), msg)
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
	blobs  *conformance.MemBlobs
	acks   conformance.Acks
}

// refHelpdeskHarness connects the suite to a reference helpdesk that breaks breaks.
func refHelpdeskHarness(breaks string) conformance.HelpdeskHarness {
	var envs conformance.PerTest[*refHelpdeskEnv]
	send := func(t *testing.T, ev refEvent) error {
		env := envs.Get(t)
		return env.acks.Record(ev.ID, hookPost(t.Context(), env.hook, ev))
	}
	// deliver sends ev until the hook acknowledges it, as the ticket system does.
	deliver := func(t *testing.T, ev refEvent) {
		var err error
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if err = send(t, ev); err == nil {
				return
			}
		}
		t.Fatalf("the hook never acknowledged event %s: %v", ev.ID, err)
	}
	comment := func(ticket normalize.Ref, id, text string) refEvent {
		return refEvent{Type: "comment", ID: id, Ticket: string(ticket), Text: text, Public: true, Author: "agent"}
	}
	return conformance.HelpdeskHarness{
		New: func(t *testing.T) connectors.Helpdesk {
			remote := newTicketSystem()
			srv := httptest.NewServer(remote)
			t.Cleanup(srv.Close)
			client, faults := httpfault.Wrap(srv.Client())
			blobs := &conformance.MemBlobs{}
			hd := &refHelpdesk{breaks: breaks, base: srv.URL, client: client, blobs: blobs}
			hook := httptest.NewServer(hd)
			t.Cleanup(hook.Close)
			envs.Put(t, &refHelpdeskEnv{remote: remote, hook: hook.URL, faults: faults, blobs: blobs})
			return hd
		},
		Tickets: func(t *testing.T) map[normalize.ConversationID][]normalize.MessageID {
			return envs.Get(t).remote.heldByConversation(t)
		},
		AgentReply: func(t *testing.T, ticket normalize.Ref, replyID, text string) {
			deliver(t, comment(ticket, replyID, text))
		},
		Hook: func(hd connectors.Helpdesk) http.Handler { return hd.(http.Handler) },
		AgentSends: func(t *testing.T, ticket normalize.Ref, replyID, text string) error {
			return send(t, comment(ticket, replyID, text))
		},
		ReplyAcknowledged: func(t *testing.T, _ normalize.Ref, replyID string) bool {
			return envs.Get(t).acks.Acknowledged(replyID)
		},
		FailAfter: func(t *testing.T, k int, f httpfault.Fault) {
			envs.Get(t).faults.After(k, pathIs("/messages"), f)
		},
		Blobs: func(t *testing.T) connectors.Blobs { return envs.Get(t).blobs },
		Files: func(t *testing.T, _ normalize.Ref, _ normalize.MessageID, ext normalize.ExternalID) []conformance.File {
			return envs.Get(t).remote.filesOf(string(ext))
		},
		AgentNote: func(t *testing.T, ticket normalize.Ref, noteID, text string) {
			ev := comment(ticket, noteID, text)
			ev.Public = false
			deliver(t, ev)
		},
		EchoOf: func(t *testing.T, ticket normalize.Ref, posted connectors.Delivery, ext normalize.ExternalID) {
			ev := comment(ticket, string(ext), posted.Text)
			ev.Author = "gateway"
			deliver(t, ev)
		},
		FollowUpOf: func(t *testing.T, ticket normalize.Ref) normalize.Ref {
			return normalize.Ref(envs.Get(t).remote.followUpOf(string(ticket)))
		},
		SetStatus: func(t *testing.T, ticket normalize.Ref, status normalize.Status) {
			deliver(t, refEvent{Type: "status", ID: "event-" + string(normalize.NewMessageID()), Ticket: string(ticket), Status: string(status)})
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
