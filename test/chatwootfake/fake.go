// Package chatwootfake is a Chatwoot server for tests: the part of the Application API the
// gateway's chatwoot connector uses (contacts, contact inboxes, conversations, messages with
// attachments, labels, custom attributes, priority and status), with Chatwoot's answers,
// error bodies, pagination and rate-limit headers, and the API-channel inbox's webhooks
// (message_created, conversation_status_changed), signed as Chatwoot signs them or unsigned
// as older releases send them.
//
// It is built from Chatwoot's API documentation (swagger/swagger.json of chatwoot/chatwoot,
// trimmed into connectors/helpdesk/chatwoot/testdata) and its source where the documentation
// is silent: messages list 20 a page, oldest first, older pages with ?before=<id>; message_type
// is an integer in the REST answers and a string in webhooks; a 401 answers
// {"error":"Invalid Access Token"}, a 404 {"error":"Resource could not be found"}, a model
// validation 422 {"message":"...","attributes":[...]}; rack-attack throttles with 429
// "Retry later".
package chatwootfake

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/casino-support/gateway/connectors/hmacsig"
)

// Message types, as Chatwoot numbers them in REST answers.
const (
	Incoming = 0
	Outgoing = 1
	Activity = 2
)

var typeNames = []string{"incoming", "outgoing", "activity", "template"}

// PageSize is how many messages Chatwoot lists a page.
const PageSize = 20

// Options configure a Server.
type Options struct {
	Token     string // the api_access_token accepted; default "test-token"
	AccountID int    // default 1
	InboxID   int    // the API-channel inbox; default 1
	// RateLimit, when above 0, is how many API requests a RateWindow allows; the answers
	// carry X-RateLimit-Limit, -Remaining and -Reset, and a request over it is answered 429
	// with Retry-After.
	RateLimit  int
	RateWindow time.Duration // default a minute
}

// Attachment is a file of a message.
type Attachment struct {
	ID       int
	Name     string
	Type     string
	Content  []byte
	FileType string // image, audio, video, file
}

// Message is one message of a conversation.
type Message struct {
	ID          int
	Type        int // Incoming, Outgoing, Activity
	Private     bool
	Content     string
	SourceID    string
	SenderType  string // contact, user
	SenderID    int
	SenderName  string
	Attachments []Attachment
	CreatedAt   time.Time
}

// Conversation is one conversation of the inbox.
type Conversation struct {
	ID                   int
	ContactID            int
	SourceID             string
	Status               string // open, resolved, pending, snoozed
	Priority             string
	Labels               []string
	CustomAttributes     map[string]any
	AdditionalAttributes map[string]any
	Messages             []Message
	Assignee             *Agent
	UpdatedAt            time.Time
}

// Contact is one contact of the account.
type Contact struct {
	ID          int
	Name        string
	Email       string
	Identifier  string
	PhoneNumber string
	SourceIDs   []string // of the inbox
}

// Webhook is the inbox's webhook: where events go, and the secret signing them ("" sends
// them unsigned, as Chatwoot releases before signing did).
type Webhook struct {
	URL    string
	Secret string
}

// Server is a fake Chatwoot account with one API-channel inbox.
type Server struct {
	*httptest.Server
	opts Options

	mu            sync.Mutex
	nextID        int
	contacts      []*Contact
	conversations map[int]*Conversation
	hook          Webhook
	requests      []string // "METHOD path" of every API request
	window        time.Time
	used          int
	throttled     int                    // requests answered 429
	holds         int                    // message creations whose answer is still to be held
	held          map[*http.Request]bool // requests whose answer is held
	heldCh        chan string
	release       chan struct{}
	deliveries    map[string]delivery // by X-Chatwoot-Delivery, for Redeliver
}

type delivery struct {
	body []byte
}

// New starts a fake Chatwoot; it is closed when t ends.
func New(t interface{ Cleanup(func()) }, opts Options) *Server {
	if opts.Token == "" {
		opts.Token = "test-token"
	}
	if opts.AccountID == 0 {
		opts.AccountID = 1
	}
	if opts.InboxID == 0 {
		opts.InboxID = 1
	}
	if opts.RateWindow == 0 {
		opts.RateWindow = time.Minute
	}
	s := &Server{opts: opts, nextID: 100, conversations: map[int]*Conversation{}, deliveries: map[string]delivery{},
		held: map[*http.Request]bool{}, release: make(chan struct{})}
	s.Server = httptest.NewServer(s.routes())
	t.Cleanup(func() {
		s.Release()
		s.Close()
	})
	return s
}

// HoldMessages makes the next n message creations happen in Chatwoot but keeps their answers
// back until Release (or Close): a client killed meanwhile never learns that they happened.
// The channel names each held request as it is held.
func (s *Server) HoldMessages(n int) <-chan string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.holds = n
	s.heldCh = make(chan string, n)
	return s.heldCh
}

// Release answers the held requests.
func (s *Server) Release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.release:
	default:
		close(s.release)
	}
}

// Token, AccountID and InboxID are what the connector is configured with.
func (s *Server) Token() string  { return s.opts.Token }
func (s *Server) AccountID() int { return s.opts.AccountID }
func (s *Server) InboxID() int   { return s.opts.InboxID }

// SetWebhook sets the inbox's webhook.
func (s *Server) SetWebhook(h Webhook) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hook = h
}

// Requests returns "METHOD path" of every API request so far.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Throttled returns how many requests were answered 429 for the rate limit.
func (s *Server) Throttled() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.throttled
}

// Conversations returns a copy of every conversation, by ID.
func (s *Server) Conversations() map[int]Conversation {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[int]Conversation{}
	for id, c := range s.conversations {
		out[id] = c.clone()
	}
	return out
}

// Conversation returns a copy of conversation id.
func (s *Server) Conversation(id int) (Conversation, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.conversations[id]
	if !ok {
		return Conversation{}, false
	}
	return c.clone(), true
}

// Contacts returns a copy of every contact.
func (s *Server) Contacts() []Contact {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Contact, len(s.contacts))
	for i, c := range s.contacts {
		out[i] = *c
		out[i].SourceIDs = slices.Clone(c.SourceIDs)
	}
	return out
}

func (c *Conversation) clone() Conversation {
	out := *c
	out.Labels = slices.Clone(c.Labels)
	out.CustomAttributes = maps.Clone(c.CustomAttributes)
	out.AdditionalAttributes = maps.Clone(c.AdditionalAttributes)
	out.Messages = slices.Clone(c.Messages)
	return out
}

// Agent is who writes an agent's message.
type Agent struct {
	ID   int
	Name string
}

// AgentReply adds an agent's outgoing message to conversation id (private: a note) and
// sends its message_created webhook once. It returns the message and the delivery's ID,
// which Redeliver sends again, and an error when the webhook was not answered 2xx.
func (s *Server) AgentReply(ctx context.Context, id int, agent Agent, text string, private bool, files ...Attachment) (Message, string, error) {
	s.mu.Lock()
	c, ok := s.conversations[id]
	if !ok {
		s.mu.Unlock()
		return Message{}, "", fmt.Errorf("chatwootfake: no conversation %d", id)
	}
	m := Message{ID: s.id(), Type: Outgoing, Private: private, Content: text, SenderType: "user", SenderID: agent.ID,
		SenderName: agent.Name, CreatedAt: time.Now().UTC()}
	for _, f := range files {
		f.ID = s.id()
		if f.FileType == "" {
			f.FileType = fileType(f.Type)
		}
		m.Attachments = append(m.Attachments, f)
	}
	c.Messages = append(c.Messages, m)
	body := s.messageEvent(c, m)
	s.mu.Unlock()
	key, err := s.deliver(ctx, body)
	return m, key, err
}

// SetStatus sets conversation id's status as an agent does and sends the
// conversation_status_changed webhook once; see AgentReply.
func (s *Server) SetStatus(ctx context.Context, id int, status string) (string, error) {
	s.mu.Lock()
	c, ok := s.conversations[id]
	if !ok {
		s.mu.Unlock()
		return "", fmt.Errorf("chatwootfake: no conversation %d", id)
	}
	body := s.setStatus(c, status)
	s.mu.Unlock()
	return s.deliver(ctx, body)
}

// SetAssignee assigns conversation id to agent (nil unassigns) and sends the
// conversation_updated webhook once; see AgentReply.
func (s *Server) SetAssignee(ctx context.Context, id int, agent *Agent) (string, error) {
	s.mu.Lock()
	c, ok := s.conversations[id]
	if !ok {
		s.mu.Unlock()
		return "", fmt.Errorf("chatwootfake: no conversation %d", id)
	}
	prev := c.Assignee
	c.Assignee, c.UpdatedAt = agent, time.Now()
	ev := s.conversationJSON(c)
	ev["event"] = "conversation_updated"
	ev["changed_attributes"] = []any{map[string]any{"assignee_id": map[string]any{"previous_value": agentID(prev), "current_value": agentID(agent)}}}
	body, _ := json.Marshal(ev)
	s.mu.Unlock()
	return s.deliver(ctx, body)
}

func agentID(a *Agent) any {
	if a == nil {
		return nil
	}
	return a.ID
}

// Echo sends the message_created webhook of message msg of conversation id again, as
// Chatwoot sends one for every message created, the API's own included.
func (s *Server) Echo(ctx context.Context, id, msg int) (string, error) {
	s.mu.Lock()
	c, ok := s.conversations[id]
	var body []byte
	if ok {
		for _, m := range c.Messages {
			if m.ID == msg {
				body = s.messageEvent(c, m)
			}
		}
	}
	s.mu.Unlock()
	if body == nil {
		return "", fmt.Errorf("chatwootfake: no message %d in conversation %d", msg, id)
	}
	return s.deliver(ctx, body)
}

// Redeliver sends the webhook delivery key again, as Chatwoot retries one, with the same
// X-Chatwoot-Delivery and a fresh timestamp and signature.
func (s *Server) Redeliver(ctx context.Context, key string) error {
	s.mu.Lock()
	d, ok := s.deliveries[key]
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("chatwootfake: no delivery %s", key)
	}
	return s.post(ctx, key, d.body)
}

func (s *Server) setStatus(c *Conversation, status string) []byte {
	prev := c.Status
	c.Status = status
	c.UpdatedAt = time.Now()
	ev := s.conversationJSON(c)
	ev["event"] = "conversation_status_changed"
	ev["changed_attributes"] = []any{map[string]any{"status": map[string]any{"previous_value": prev, "current_value": status}}}
	b, _ := json.Marshal(ev)
	return b
}

// deliver sends a new webhook delivery of body; "" and nil when no webhook is set.
func (s *Server) deliver(ctx context.Context, body []byte) (string, error) {
	key := randomID()
	s.mu.Lock()
	s.deliveries[key] = delivery{body: body}
	s.mu.Unlock()
	return key, s.post(ctx, key, body)
}

func (s *Server) post(ctx context.Context, key string, body []byte) error {
	s.mu.Lock()
	hook := s.hook
	s.mu.Unlock()
	if hook.URL == "" {
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hook.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Chatwoot")
	if hook.Secret != "" {
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		req.Header.Set("X-Chatwoot-Timestamp", ts)
		req.Header.Set("X-Chatwoot-Signature", hmacsig.Chatwoot.Sign([]byte(hook.Secret), ts, body))
		req.Header.Set("X-Chatwoot-Delivery", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("webhook answered %d: %s", resp.StatusCode, strings.TrimSpace(string(b)))
	}
	return nil
}

// sendAsync sends a webhook of what the API did, as Chatwoot's background jobs do, once.
func (s *Server) sendAsync(body []byte) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = s.deliver(ctx, body)
	}()
}

func (s *Server) id() int {
	s.nextID++
	return s.nextID
}

func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func fileType(mediaType string) string {
	mt, _, _ := mime.ParseMediaType(mediaType)
	switch {
	case strings.HasPrefix(mt, "image/"):
		return "image"
	case strings.HasPrefix(mt, "audio/"):
		return "audio"
	case strings.HasPrefix(mt, "video/"):
		return "video"
	}
	return "file"
}
