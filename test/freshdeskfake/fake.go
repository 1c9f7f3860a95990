// Package freshdeskfake is a fake Freshdesk API (v2) for tests, built from the official
// reference (developers.freshdesk.com/api) and checked against the schemas kept in
// connectors/helpdesk/freshdesk/testdata/freshdesk-openapi.yaml: API-key Basic
// authentication (key as user, "X" as password), contacts listed by email or
// unique_external_id and created with 409 duplicate_value on a taken one, tickets created
// and notes added as JSON or as multipart/form-data with attachments[] (20 MB together),
// tickets listed by requester_id or updated_since with include=description and page/per_page
// pagination (Link rel="next"), conversations, agents, the real error bodies ("Validation
// failed" with errors[], invalid_credentials), the X-RateLimit-Total,
// X-RateLimit-Remaining and X-RateLimit-Used-CurrentRequest headers with 429 and Retry-After
// past the quota, and automation-rule webhooks carrying a shared secret header (Freshdesk
// signs nothing).
//
// Agents act through methods (AgentReply, AgentNote, SetStatus); each action notifies the
// configured webhook when auto notification is on.
package freshdeskfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/casino-support/gateway/test/fakehold"
)

// APIKey is the fake's API agent's key.
const APIKey = "fd-api-key-0123456789"

// Ticket statuses.
const (
	StatusOpen     = 2
	StatusPending  = 3
	StatusResolved = 4
	StatusClosed   = 5
)

// Server is the fake. New starts it; Close stops it.
type Server struct {
	*httptest.Server

	mu       sync.Mutex
	next     int64
	contacts map[int64]*Contact
	agents   map[int64]*Agent
	tickets  map[int64]*Ticket
	files    map[int64][]byte // attachment id → content
	clock    time.Time        // advances a second per change, so updated_at tells changes apart
	apiAgent int64

	limit      int // requests per minute, 0 none
	used       int
	window     time.Time
	hookURL    string
	hookHeader string
	secret     string
	autoHook   bool
	calls      map[string]int
	holds      fakehold.Writes
	now        func() time.Time
}

// Contact is a Freshdesk contact.
type Contact struct {
	ID               int64   `json:"id"`
	Name             string  `json:"name"`
	Email            *string `json:"email"`
	UniqueExternalID *string `json:"unique_external_id"`
	CreatedAt        string  `json:"created_at"`
	UpdatedAt        string  `json:"updated_at"`
	Deleted          bool    `json:"-"`
}

// Agent is a Freshdesk agent.
type Agent struct {
	ID      int64 `json:"id"`
	Contact struct {
		Name  string `json:"name"`
		Email string `json:"email"`
	} `json:"contact"`
}

// Ticket is a ticket with its conversations.
type Ticket struct {
	ID              int64          `json:"id"`
	Subject         string         `json:"subject"`
	Description     string         `json:"description"`
	DescriptionText string         `json:"description_text"`
	Status          int            `json:"status"`
	Priority        int            `json:"priority"`
	Source          int            `json:"source"`
	RequesterID     int64          `json:"requester_id"`
	ResponderID     *int64         `json:"responder_id"`
	GroupID         *int64         `json:"group_id"`
	Tags            []string       `json:"tags"`
	CustomFields    map[string]any `json:"custom_fields"`
	Attachments     []Attachment   `json:"attachments"`
	CreatedAt       string         `json:"created_at"`
	UpdatedAt       string         `json:"updated_at"`
	Conversations   []Conversation `json:"-"`
}

// Conversation is a reply or note.
type Conversation struct {
	ID          int64        `json:"id"`
	Body        string       `json:"body"`
	BodyText    string       `json:"body_text"`
	Incoming    bool         `json:"incoming"`
	Private     bool         `json:"private"`
	Source      int          `json:"source"`
	UserID      int64        `json:"user_id"`
	TicketID    int64        `json:"ticket_id"`
	Attachments []Attachment `json:"attachments"`
	CreatedAt   string       `json:"created_at"`
	UpdatedAt   string       `json:"updated_at"`
}

// Attachment is a file of a ticket or conversation.
type Attachment struct {
	ID            int64  `json:"id"`
	Name          string `json:"name"`
	ContentType   string `json:"content_type"`
	Size          int64  `json:"size"`
	AttachmentURL string `json:"attachment_url"`
	CreatedAt     string `json:"created_at"`
}

// File is an agent's file.
type File struct {
	Name, ContentType string
	Content           []byte
}

// New starts the fake with its API agent.
func New() *Server {
	s := &Server{contacts: map[int64]*Contact{}, agents: map[int64]*Agent{}, tickets: map[int64]*Ticket{},
		files: map[int64][]byte{}, calls: map[string]int{}, next: 1000,
		clock: time.Now().UTC().Truncate(time.Second), now: time.Now}
	s.apiAgent = s.AddAgent("Gateway API")
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// SetWebhook makes agent actions notify url with header: secret (the automation rule's
// custom header); auto sends the notification after every agent action.
func (s *Server) SetWebhook(url, header, secret string, auto bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hookURL, s.hookHeader, s.secret, s.autoHook = url, header, secret, auto
}

// HoldWrites makes the next n successful ticket writes (creations, notes) take effect and
// then hold their answers until the caller hangs up, as if the connection broke after
// Freshdesk committed; each held write is named on the returned channel.
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

// Calls returns how many requests reached route ("POST /api/v2/tickets/{id}/notes").
func (s *Server) Calls(route string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[route]
}

// AddAgent adds an agent and returns their ID.
func (s *Server) AddAgent(name string) int64 {
	if s.Server != nil {
		s.mu.Lock()
		defer s.mu.Unlock()
	}
	a := &Agent{ID: s.id()}
	a.Contact.Name, a.Contact.Email = name, strings.ToLower(strings.ReplaceAll(name, " ", "."))+"@casino.example"
	s.agents[a.ID] = a
	return a.ID
}

// DeleteContact deletes a contact for good, as merging two contacts does to the secondary
// one (its identifiers free again).
func (s *Server) DeleteContact(id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.contacts, id)
}

// Tickets returns a copy of every ticket by id.
func (s *Server) Tickets() map[int64]Ticket {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[int64]Ticket{}
	for id, t := range s.tickets {
		out[id] = *t
	}
	return out
}

// Ticket returns a copy of a ticket.
func (s *Server) Ticket(id int64) (Ticket, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tickets[id]
	if !ok {
		return Ticket{}, false
	}
	return *t, true
}

// Contacts returns a copy of every live contact.
func (s *Server) Contacts() []Contact {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Contact
	for _, c := range s.contacts {
		if !c.Deleted {
			out = append(out, *c)
		}
	}
	return out
}

// File returns an attachment's content.
func (s *Server) File(id int64) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.files[id]
}

// AgentReply has agent reply to the ticket (POST /tickets/{id}/reply), public, with files.
func (s *Server) AgentReply(ticket, agent int64, body string, files ...File) (int64, error) {
	return s.agentWrites(ticket, agent, body, 0, false, files)
}

// AgentNote has agent add a note; private unless public.
func (s *Server) AgentNote(ticket, agent int64, body string, public bool) (int64, error) {
	return s.agentWrites(ticket, agent, body, 2, !public, nil)
}

func (s *Server) agentWrites(ticket, agent int64, body string, source int, private bool, files []File) (int64, error) {
	s.mu.Lock()
	t, ok := s.tickets[ticket]
	if !ok {
		s.mu.Unlock()
		return 0, fmt.Errorf("no ticket %d", ticket)
	}
	var atts []Attachment
	for _, f := range files {
		atts = append(atts, s.addFile(f.Name, f.ContentType, f.Content))
	}
	c := s.addConversation(t, Conversation{Body: "<div>" + body + "</div>", Source: source, Private: private, UserID: agent, Attachments: atts})
	if source == 0 && t.Status == StatusPending {
		t.Status = StatusOpen
	}
	s.mu.Unlock()
	s.afterAction(ticket)
	return c.ID, nil
}

// SetStatus has an agent set the ticket's status.
func (s *Server) SetStatus(ticket int64, status int) error {
	s.mu.Lock()
	t, ok := s.tickets[ticket]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("no ticket %d", ticket)
	}
	t.Status = status
	t.UpdatedAt = s.stamp()
	s.mu.Unlock()
	s.afterAction(ticket)
	return nil
}

func (s *Server) afterAction(ticket int64) {
	s.mu.Lock()
	auto := s.autoHook
	s.mu.Unlock()
	if !auto {
		return
	}
	go func() {
		// An automation rule's webhook is retried a few times, then given up (the gateway's
		// reconciling poll covers the rest).
		for i := range 3 {
			if s.Notify(ticket) == nil {
				return
			}
			time.Sleep(time.Duration(i+1) * 200 * time.Millisecond)
		}
	}()
}

// Notify sends the webhook of the automation rule docs/freshdesk.md sets up, once, and
// returns an error unless it was answered 2xx.
func (s *Server) Notify(ticket int64) error {
	s.mu.Lock()
	url, header, secret := s.hookURL, s.hookHeader, s.secret
	t, ok := s.tickets[ticket]
	var body []byte
	if ok {
		body, _ = json.Marshal(map[string]any{"ticket_id": fmt.Sprint(t.ID), "ticket_status": statusName(t.Status)})
	}
	s.mu.Unlock()
	if url == "" || !ok {
		return fmt.Errorf("no webhook or no ticket %d", ticket)
	}
	return Send(url, header, secret, body)
}

// Send posts body to url as an automation rule's "Trigger Webhook" does, with the custom
// header.
func Send(url, header, secret string, body []byte) error {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Freshdesk")
	if header != "" {
		req.Header.Set(header, secret)
	}
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

func statusName(s int) string {
	return map[int]string{StatusOpen: "Open", StatusPending: "Pending", StatusResolved: "Resolved", StatusClosed: "Closed"}[s]
}

// --- internals; s.mu held ---

func (s *Server) id() int64 {
	s.next++
	return s.next
}

// stamp is the time of a change: the clock moves a second each time, as Freshdesk's
// second-precision updated_at would between an agent's clicks.
func (s *Server) stamp() string {
	s.clock = s.clock.Add(time.Second)
	return s.clock.Format(time.RFC3339)
}

func (s *Server) addFile(name, typ string, content []byte) Attachment {
	a := Attachment{ID: s.id(), Name: name, ContentType: typ, Size: int64(len(content))}
	a.AttachmentURL = fmt.Sprintf("%s/files/%d/%s", s.URL, a.ID, name)
	a.CreatedAt = s.clock.Format(time.RFC3339)
	s.files[a.ID] = content
	return a
}

func (s *Server) addConversation(t *Ticket, c Conversation) Conversation {
	c.ID, c.TicketID = s.id(), t.ID
	c.BodyText = plainText(c.Body)
	c.CreatedAt = s.stamp()
	c.UpdatedAt = c.CreatedAt
	if c.Attachments == nil {
		c.Attachments = []Attachment{}
	}
	t.Conversations = append(t.Conversations, c)
	t.UpdatedAt = c.CreatedAt
	return c
}

var (
	breakTags = regexp.MustCompile(`(?i)<br\s*/?>|</(div|p|li)>`)
	anyTag    = regexp.MustCompile(`<[^>]*>`)
)

// plainText is Freshdesk's body_text of an HTML body.
func plainText(body string) string {
	s := breakTags.ReplaceAllString(body, "\n")
	s = anyTag.ReplaceAllString(s, "")
	s = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&quot;", `"`, "&#34;", `"`, "&#39;", "'", "&amp;", "&").Replace(s)
	return strings.TrimSpace(s)
}
