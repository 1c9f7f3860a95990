// Package zendeskfake is a fake Zendesk Support API (v2) for tests, built from the official
// reference (developer.zendesk.com/api-reference/ticketing) and checked against the schemas
// of Zendesk's published OpenAPI description kept in
// connectors/helpdesk/zendesk/testdata/zendesk-openapi.yaml: API-token and OAuth
// authentication, users' create_or_update, uploads and their tokens, tickets with
// external_id look-up, Idempotency-Key on creation, comments and audits with cursor
// pagination (page[size], meta.has_more, links.next), the incremental ticket export, the
// real error bodies (RecordNotFound, RecordInvalid, closed tickets), the X-Rate-Limit and
// X-Rate-Limit-Remaining headers with 429 and Retry-After past the quota, and webhooks
// signed as Zendesk signs them (base64 HMAC-SHA256 over timestamp + body).
//
// Agents act through methods (AgentComment, SetStatus); each action notifies the
// configured webhook, retrying like Zendesk, unless notification is left to the test.
package zendeskfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/casino-support/gateway/connectors/hmacsig"
	"github.com/casino-support/gateway/test/fakehold"
)

// Credentials of the fake's API agent.
const (
	Email      = "gateway@casino.example"
	Token      = "zd-api-token-0123456789"
	OAuthToken = "zd-oauth-token-0123456789"
)

// Server is the fake. New starts it; Close stops it.
type Server struct {
	*httptest.Server

	mu       sync.Mutex
	next     int64
	users    map[int64]*User
	tickets  map[int64]*Ticket
	audits   map[int64][]Audit // by ticket, in order
	uploads  map[string][]Attachment
	files    map[int64][]byte // attachment id → content
	idem     map[string]idemAnswer
	seq      int64           // change sequence of the incremental export
	changed  map[int64]int64 // ticket → its last change's sequence
	apiAgent int64

	limit     int // requests per minute, 0 none
	used      int
	window    time.Time
	hookURL   string
	secret    []byte
	autoHook  bool
	hookTries int
	calls     map[string]int
	now       func() time.Time
	holds     fakehold.Writes
	// ExportPage is the incremental export's page size (Zendesk's is 1000).
	ExportPage int
}

// User is a Zendesk user.
type User struct {
	ID         int64  `json:"id"`
	Name       string `json:"name"`
	Email      string `json:"email,omitempty"`
	ExternalID string `json:"external_id,omitempty"`
	Role       string `json:"role"`
}

// Ticket is a ticket with its comments.
type Ticket struct {
	ID           int64         `json:"id"`
	ExternalID   string        `json:"external_id"`
	Subject      string        `json:"subject"`
	Status       string        `json:"status"`
	Priority     string        `json:"priority"`
	RequesterID  int64         `json:"requester_id"`
	AssigneeID   *int64        `json:"assignee_id"`
	GroupID      *int64        `json:"group_id"`
	BrandID      *int64        `json:"brand_id"`
	Tags         []string      `json:"tags"`
	CustomFields []CustomField `json:"custom_fields"`
	// ViaFollowupSourceID is the closed ticket this one follows up. Zendesk takes it on
	// creation only (write-only); answers show the link in Via.
	ViaFollowupSourceID *int64          `json:"-"`
	Via                 map[string]any  `json:"via"`
	FollowupIDs         []int64         `json:"followup_ids"`
	CreatedAt           string          `json:"created_at"`
	UpdatedAt           string          `json:"updated_at"`
	Comments            []Comment       `json:"-"`
	IdempotencyKeys     map[string]bool `json:"-"`
}

// CustomField is one custom field's value.
type CustomField struct {
	ID    int64 `json:"id"`
	Value any   `json:"value"`
}

// Comment is a ticket comment.
type Comment struct {
	ID          int64        `json:"id"`
	Type        string       `json:"type"`
	AuthorID    int64        `json:"author_id"`
	Body        string       `json:"body"`
	HTMLBody    string       `json:"html_body"`
	PlainBody   string       `json:"plain_body"`
	Public      bool         `json:"public"`
	Attachments []Attachment `json:"attachments"`
	AuditID     int64        `json:"audit_id"`
	CreatedAt   string       `json:"created_at"`
}

// Attachment is a file of a comment or an upload.
type Attachment struct {
	ID          int64  `json:"id"`
	FileName    string `json:"file_name"`
	ContentURL  string `json:"content_url"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
}

// Audit is one update of a ticket.
type Audit struct {
	ID        int64            `json:"id"`
	TicketID  int64            `json:"ticket_id"`
	AuthorID  int64            `json:"author_id"`
	CreatedAt string           `json:"created_at"`
	Events    []map[string]any `json:"events"`
	Metadata  map[string]any   `json:"metadata"`
	Via       map[string]any   `json:"via"`
}

type idemAnswer struct {
	bodySum [32]byte
	status  int
	body    []byte
}

// New starts the fake with its API agent.
func New() *Server {
	s := &Server{users: map[int64]*User{}, tickets: map[int64]*Ticket{}, audits: map[int64][]Audit{},
		uploads: map[string][]Attachment{}, files: map[int64][]byte{}, idem: map[string]idemAnswer{},
		changed: map[int64]int64{}, calls: map[string]int{}, next: 1000, now: time.Now, ExportPage: 1000, hookTries: 3}
	s.apiAgent = s.addUser(User{Name: "Gateway API", Email: Email, Role: "admin"})
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// SetWebhook makes agent actions notify url, signed with secret; auto sends the
// notification (with Zendesk's few retries) after every agent action.
func (s *Server) SetWebhook(url, secret string, auto bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hookURL, s.secret, s.autoHook = url, []byte(secret), auto
}

// HoldWrites makes the next n successful ticket writes (creations, comments) take effect and
// then hold their answers until the caller hangs up, as if the connection broke after Zendesk
// committed; each held write is named on the returned channel.
func (s *Server) HoldWrites(n int) <-chan string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.holds.Hold(n)
}

// SetRateLimit sets the requests allowed per minute (0: unlimited).
func (s *Server) SetRateLimit(perMinute int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limit, s.used, s.window = perMinute, 0, s.now()
}

// Calls returns how many requests reached route ("POST /api/v2/tickets").
func (s *Server) Calls(route string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[route]
}

// AddAgent adds an agent and returns their ID.
func (s *Server) AddAgent(name string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addUser(User{Name: name, Email: strings.ToLower(strings.ReplaceAll(name, " ", ".")) + "@casino.example", Role: "agent"})
}

// DeleteUser deletes a user, as an admin merging two users deletes one of them.
func (s *Server) DeleteUser(id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.users, id)
}

// Tickets returns copies of every ticket with its comments, by ID.
func (s *Server) Tickets() map[int64]Ticket {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[int64]Ticket{}
	for id, t := range s.tickets {
		c := *t
		c.Comments = slices.Clone(t.Comments)
		out[id] = c
	}
	return out
}

// Ticket returns a copy of one ticket.
func (s *Server) Ticket(id int64) (Ticket, bool) {
	t, ok := s.Tickets()[id]
	return t, ok
}

// User returns a copy of a user.
func (s *Server) User(id int64) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return User{}, false
	}
	return *u, true
}

// File returns an attachment's content.
func (s *Server) File(id int64) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.files[id]
}

// File is a file an agent attaches.
type File struct {
	Name, Type string
	Content    []byte
}

// AgentComment adds an agent's comment (public: a reply the requester sees; else an
// internal note) and returns its ID; it notifies the webhook when auto is set.
func (s *Server) AgentComment(ticket, agent int64, body string, public bool, files ...File) (int64, error) {
	s.mu.Lock()
	t, ok := s.tickets[ticket]
	if !ok {
		s.mu.Unlock()
		return 0, fmt.Errorf("no ticket %d", ticket)
	}
	if t.Status == "closed" {
		s.mu.Unlock()
		return 0, fmt.Errorf("ticket %d is closed", ticket)
	}
	var atts []Attachment
	for _, f := range files {
		atts = append(atts, s.addFile(f.Name, f.Type, f.Content))
	}
	au := s.newAudit(t, agent)
	c := s.addComment(t, &au, agent, body, public, atts)
	if t.Status == "new" {
		s.change(t, &au, "status", "open")
	}
	s.commit(t, au)
	s.mu.Unlock()
	s.afterAction(ticket)
	return c.ID, nil
}

// SetStatus sets a ticket's status as agent (0: Zendesk's automations) and notifies.
func (s *Server) SetStatus(ticket, agent int64, status string) error {
	s.mu.Lock()
	t, ok := s.tickets[ticket]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("no ticket %d", ticket)
	}
	if t.Status == "closed" {
		s.mu.Unlock()
		return fmt.Errorf("ticket %d is closed: Zendesk allows no change", ticket)
	}
	if agent == 0 {
		agent = -1
	}
	au := s.newAudit(t, agent)
	s.change(t, &au, "status", status)
	s.commit(t, au)
	s.mu.Unlock()
	s.afterAction(ticket)
	return nil
}

// Assign sets a ticket's assignee as agent and notifies.
func (s *Server) Assign(ticket, agent, assignee int64) error {
	s.mu.Lock()
	t, ok := s.tickets[ticket]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("no ticket %d", ticket)
	}
	au := s.newAudit(t, agent)
	prev := ""
	if t.AssigneeID != nil {
		prev = strconv.FormatInt(*t.AssigneeID, 10)
	}
	t.AssigneeID = &assignee
	au.Events = append(au.Events, map[string]any{"id": s.id(), "type": "Change", "field_name": "assignee_id",
		"value": strconv.FormatInt(assignee, 10), "previous_value": nullable(prev)})
	s.commit(t, au)
	s.mu.Unlock()
	s.afterAction(ticket)
	return nil
}

func (s *Server) afterAction(ticket int64) {
	s.mu.Lock()
	auto := s.autoHook
	tries := s.hookTries
	s.mu.Unlock()
	if !auto {
		return
	}
	go func() {
		// Zendesk retries a failed webhook a few times, then gives up (the gateway's
		// reconciling poll covers the rest).
		for i := range tries {
			if s.Notify(ticket) == nil {
				return
			}
			time.Sleep(time.Duration(i+1) * 200 * time.Millisecond)
		}
	}()
}

// Notify sends the webhook of the trigger docs/zendesk.md sets up, once, signed, and
// returns an error unless it was answered 2xx.
func (s *Server) Notify(ticket int64) error {
	s.mu.Lock()
	url, secret := s.hookURL, s.secret
	t, ok := s.tickets[ticket]
	var body []byte
	if ok {
		body, _ = json.Marshal(map[string]string{"ticket_id": strconv.FormatInt(t.ID, 10), "status": t.Status,
			"external_id": t.ExternalID, "updated_at": t.UpdatedAt})
	}
	s.mu.Unlock()
	if url == "" || !ok {
		return fmt.Errorf("no webhook or no ticket %d", ticket)
	}
	return SendSigned(url, secret, s.now(), body)
}

// SendSigned posts body to url signed as Zendesk signs webhooks.
func SendSigned(url string, secret []byte, at time.Time, body []byte) error {
	ts := at.UTC().Format(time.RFC3339)
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Zendesk Webhook")
	req.Header.Set("X-Zendesk-Webhook-Id", "01FAKEWEBHOOK")
	req.Header.Set("X-Zendesk-Webhook-Signature-Timestamp", ts)
	req.Header.Set("X-Zendesk-Webhook-Signature", Signature(secret, ts, body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook answered %d: %s", resp.StatusCode, strings.TrimSpace(string(msg)))
	}
	return nil
}

// Signature is base64(HMAC-SHA256(secret, timestamp + body)).
func Signature(secret []byte, ts string, body []byte) string {
	return hmacsig.Zendesk.Sign(secret, ts, body)
}

// --- internals; s.mu held ---

func (s *Server) id() int64 {
	s.next++
	return s.next
}

func (s *Server) stamp() string { return s.now().UTC().Format(time.RFC3339) }

func (s *Server) addUser(u User) int64 {
	u.ID = s.id()
	s.users[u.ID] = &u
	return u.ID
}

func (s *Server) addFile(name, typ string, content []byte) Attachment {
	a := Attachment{ID: s.id(), FileName: name, ContentType: typ, Size: int64(len(content))}
	a.ContentURL = fmt.Sprintf("%s/attachments/token/%d/?name=%s", s.URL, a.ID, name)
	s.files[a.ID] = bytes.Clone(content)
	return a
}

func (s *Server) newAudit(t *Ticket, author int64) Audit {
	return Audit{ID: s.id(), TicketID: t.ID, AuthorID: author, CreatedAt: s.stamp(),
		Metadata: map[string]any{"system": map[string]any{}, "custom": map[string]any{}},
		Via:      map[string]any{"channel": "api"}}
}

func (s *Server) addComment(t *Ticket, au *Audit, author int64, body string, public bool, atts []Attachment) Comment {
	if atts == nil {
		atts = []Attachment{}
	}
	c := Comment{ID: s.id(), Type: "Comment", AuthorID: author, Body: body, HTMLBody: "<p>" + body + "</p>", PlainBody: body,
		Public: public, Attachments: atts, AuditID: au.ID, CreatedAt: s.stamp()}
	t.Comments = append(t.Comments, c)
	au.Events = append(au.Events, map[string]any{"id": c.ID, "type": "Comment", "author_id": author, "body": body,
		"html_body": c.HTMLBody, "plain_body": body, "public": public, "attachments": atts, "audit_id": au.ID})
	return c
}

func (s *Server) change(t *Ticket, au *Audit, field, value string) {
	prev := ""
	if field == "status" {
		prev, t.Status = t.Status, value
	}
	au.Events = append(au.Events, map[string]any{"id": s.id(), "type": "Change", "field_name": field, "value": value,
		"previous_value": nullable(prev)})
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (s *Server) commit(t *Ticket, au Audit) {
	t.UpdatedAt = s.stamp()
	s.audits[t.ID] = append(s.audits[t.ID], au)
	s.seq++
	s.changed[t.ID] = s.seq
}
