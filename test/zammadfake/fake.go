// Package zammadfake is a fake Zammad REST API (v1) for tests, built from the official
// documentation (docs.zammad.org api/, admin-docs.zammad.org manage/webhook) and Zammad's
// own controllers where the documentation is silent: token authentication
// ("Authorization: Token token=..."), acting as another user with the From header, users
// (search by login or email, create), tickets with custom object attributes, tags and links
// on creation, the index of the tickets the acting user may read (page/per_page, at most 100,
// in id order), articles (a customer's are forced to sender Customer, type note or web, never
// internal; a closed ticket refuses a customer's follow-up when its group says "new ticket"),
// attachments as base64 in the article and their download, the ticket's history (state and
// owner changes), the error bodies ({"error", "error_human"}) and trigger webhooks signed as
// Zammad signs them (X-Hub-Signature: sha1=<hex HMAC-SHA1(token, body)>, X-Zammad-Trigger,
// X-Zammad-Delivery).
//
// Zammad itself announces no API rate limit; deployments put one in front of it (a reverse
// proxy or Zammad's own limits on some endpoints answer 429). SetRateLimit makes the fake
// behave as such a proxy: X-RateLimit-Limit and X-RateLimit-Remaining on every answer, 429
// with Retry-After past the quota.
//
// Agents act through methods (AgentArticle, SetState, Assign); each action notifies the
// configured webhook when auto is set, retrying like Zammad; else the test calls Notify.
package zammadfake

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/casino-support/gateway/connectors/hmacsig"
	"github.com/casino-support/gateway/test/fakehold"
)

// Token is the API user's access token; its user has the permissions docs/zammad.md asks
// for (admin.user, ticket.agent).
const Token = "zammad-api-token-0123456789"

// Trigger is the name of the trigger the fake's webhooks come from (X-Zammad-Trigger).
const Trigger = "gateway: agent activity"

// Follow-up settings of a group (Zammad's follow_up_possible).
const (
	FollowUpYes       = "yes"        // a customer's article reopens a closed ticket
	FollowUpNewTicket = "new_ticket" // a customer's article on a closed ticket is refused
)

// Server is the fake. New starts it; Close stops it.
type Server struct {
	*httptest.Server

	mu        sync.Mutex
	next      int64
	users     map[int64]*User
	tickets   map[int64]*Ticket
	files     map[int64][]byte
	history   map[int64][]History // by ticket
	links     map[int64][]int64   // ticket → linked tickets (normal links, both ways)
	apiUser   int64
	groups    map[string]string // group → follow_up_possible
	number    int64
	limit     int
	used      int
	window    time.Time
	hookURL   string
	secret    []byte
	autoHook  bool
	hookTries int
	calls     map[string]int
	now       func() time.Time
	holds     fakehold.Writes
	noIndex   bool
}

// User is a Zammad user.
type User struct {
	ID        int64    `json:"id"`
	Login     string   `json:"login"`
	Firstname string   `json:"firstname"`
	Lastname  string   `json:"lastname"`
	Email     string   `json:"email"`
	Note      string   `json:"note"`
	Roles     []string `json:"roles"`
	Active    bool     `json:"active"`
}

// Ticket is a ticket with its articles. Attributes holds the custom object attributes.
type Ticket struct {
	ID         int64
	Number     string
	Title      string
	Group      string
	State      string
	Priority   string
	CustomerID int64
	OwnerID    int64
	Tags       []string
	Attributes map[string]any
	Articles   []Article
	CreatedAt  string
	UpdatedAt  string
}

// Article is one article of a ticket.
type Article struct {
	ID          int64        `json:"id"`
	TicketID    int64        `json:"ticket_id"`
	Type        string       `json:"type"`
	Sender      string       `json:"sender"`
	Subject     string       `json:"subject"`
	Body        string       `json:"body"`
	ContentType string       `json:"content_type"`
	Internal    bool         `json:"internal"`
	From        string       `json:"from"`
	CreatedByID int64        `json:"created_by_id"`
	OriginByID  *int64       `json:"origin_by_id"`
	CreatedBy   string       `json:"created_by"`
	Attachments []Attachment `json:"attachments"`
	CreatedAt   string       `json:"created_at"`
	UpdatedAt   string       `json:"updated_at"`
}

// Attachment is a file of an article.
type Attachment struct {
	ID          int64             `json:"id"`
	Filename    string            `json:"filename"`
	Size        string            `json:"size"`
	Preferences map[string]string `json:"preferences"`
}

// History is one entry of a ticket's history (GET /api/v1/ticket_history/{id}).
type History struct {
	ID               int64  `json:"id"`
	OID              int64  `json:"o_id"`
	HistoryType      string `json:"type"`
	HistoryObject    string `json:"object"`
	HistoryAttribute string `json:"attribute"`
	ValueFrom        string `json:"value_from"`
	ValueTo          string `json:"value_to"`
	IDFrom           *int64 `json:"id_from"`
	IDTo             *int64 `json:"id_to"`
	CreatedByID      int64  `json:"created_by_id"`
	CreatedAt        string `json:"created_at"`
}

// New starts the fake with its API user and the group "Users" (follow-ups reopen).
func New() *Server {
	s := &Server{users: map[int64]*User{}, tickets: map[int64]*Ticket{}, files: map[int64][]byte{},
		history: map[int64][]History{}, links: map[int64][]int64{}, groups: map[string]string{"Users": FollowUpYes},
		calls: map[string]int{}, now: time.Now, next: 100, number: 31000, hookTries: 5}
	s.apiUser = s.addUser(User{Login: "gateway-api", Firstname: "Gateway", Lastname: "API", Email: "gateway-api@casino.example", Roles: []string{"Admin", "Agent"}})
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// SetGroup adds or changes a group with its follow-up setting.
func (s *Server) SetGroup(name, followUp string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groups[name] = followUp
}

// SetWebhook makes agent actions notify url, signed with the HMAC token secret; auto sends the
// notification (with Zammad's retries) after every action, the customers' articles included.
func (s *Server) SetWebhook(url, secret string, auto bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hookURL, s.secret, s.autoHook = url, []byte(secret), auto
}

// SetSearchIndex turns the search index (Elasticsearch) on or off: without it, searches match
// plain text only and the ticket search the poller uses is refused.
func (s *Server) SetSearchIndex(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noIndex = !on
}

// SetRateLimit sets the requests allowed per minute (0: unlimited), as a proxy in front of
// Zammad would.
func (s *Server) SetRateLimit(perMinute int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limit, s.used, s.window = perMinute, 0, s.now()
}

// HoldWrites makes the next n successful writes of tickets or articles take effect and then
// hold their answers until the caller hangs up, as if the connection broke after Zammad
// committed; each held write is named on the returned channel.
func (s *Server) HoldWrites(n int) <-chan string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.holds.Hold(n)
}

// Calls returns how many requests reached route ("POST /api/v1/tickets").
func (s *Server) Calls(route string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[route]
}

// AddAgent adds an agent and returns their ID.
func (s *Server) AddAgent(name string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	first, last, _ := strings.Cut(name, " ")
	login := strings.ToLower(strings.ReplaceAll(name, " ", ".")) + "@casino.example"
	return s.addUser(User{Login: login, Email: login, Firstname: first, Lastname: last, Roles: []string{"Agent"}})
}

// Tickets returns copies of every ticket with its articles, by ID.
func (s *Server) Tickets() map[int64]Ticket {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[int64]Ticket{}
	for id, t := range s.tickets {
		out[id] = copyTicket(t)
	}
	return out
}

// Ticket returns a copy of one ticket.
func (s *Server) Ticket(id int64) (Ticket, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tickets[id]
	if !ok {
		return Ticket{}, false
	}
	return copyTicket(t), true
}

// User returns a copy of one user.
func (s *Server) User(id int64) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return User{}, false
	}
	return *u, true
}

// Users returns copies of every user.
func (s *Server) Users() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []User{}
	for _, u := range s.users {
		out = append(out, *u)
	}
	return out
}

// Links returns the tickets linked to ticket.
func (s *Server) Links(ticket int64) []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.links[ticket])
}

// File returns an attachment's content.
func (s *Server) File(id int64) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.files[id]
}

// File is an agent's attachment.
type File struct {
	Name, Type string
	Content    []byte
}

// AgentArticle makes agent write on ticket: a public reply (internal false, type email as
// Zammad's reply button does for an e-mail customer, else note) or an internal note; it returns
// the article's ID and notifies the webhook when auto is set.
func (s *Server) AgentArticle(ticket, agent int64, body string, internal bool, files ...File) (int64, error) {
	s.mu.Lock()
	t, ok := s.tickets[ticket]
	if !ok {
		s.mu.Unlock()
		return 0, fmt.Errorf("no ticket %d", ticket)
	}
	a := s.addArticle(t, agent, Article{Type: "note", Sender: "Agent", Body: body, ContentType: "text/html", Internal: internal})
	for _, f := range files {
		t.Articles[len(t.Articles)-1].Attachments = append(t.Articles[len(t.Articles)-1].Attachments, s.addFile(f.Name, f.Type, f.Content))
	}
	s.mu.Unlock()
	s.afterAction(ticket, a.ID)
	return a.ID, nil
}

// SetState makes agent set ticket's state ("open", "closed", "pending reminder", ...).
func (s *Server) SetState(ticket, agent int64, state string) error {
	s.mu.Lock()
	t, ok := s.tickets[ticket]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("no ticket %d", ticket)
	}
	s.setState(t, agent, state)
	s.mu.Unlock()
	s.afterAction(ticket, 0)
	return nil
}

// Assign makes agent give ticket to owner.
func (s *Server) Assign(ticket, agent, owner int64) error {
	s.mu.Lock()
	t, ok := s.tickets[ticket]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("no ticket %d", ticket)
	}
	from, to := t.OwnerID, owner
	s.record(t, agent, "owner", s.fullname(from), s.fullname(to), &from, &to)
	t.OwnerID = owner
	s.mu.Unlock()
	s.afterAction(ticket, 0)
	return nil
}

// afterAction notifies the webhook in the background when auto is set, retrying like Zammad
// (up to four retries), then giving up.
func (s *Server) afterAction(ticket, article int64) {
	s.mu.Lock()
	auto, tries := s.autoHook, s.hookTries
	s.mu.Unlock()
	if !auto {
		return
	}
	go func() {
		delivery := newDelivery()
		for i := range tries {
			if s.notify(ticket, article, delivery) == nil {
				return
			}
			time.Sleep(time.Duration(i+1) * 200 * time.Millisecond)
		}
	}()
}

// Notify sends the trigger's webhook for ticket once, with its newest article, signed; it
// returns the hook's refusal, if any.
func (s *Server) Notify(ticket int64) error { return s.notify(ticket, 0, newDelivery()) }

// NotifyArticle sends the trigger's webhook for one article of ticket.
func (s *Server) NotifyArticle(ticket, article int64) error {
	return s.notify(ticket, article, newDelivery())
}

func (s *Server) notify(ticket, article int64, delivery string) error {
	s.mu.Lock()
	url, secret := s.hookURL, s.secret
	t, ok := s.tickets[ticket]
	var body []byte
	if ok {
		payload := map[string]any{"ticket": s.ticketJSON(t)}
		for _, a := range t.Articles {
			if a.ID == article || (article == 0 && a.ID == t.Articles[len(t.Articles)-1].ID) {
				payload["article"] = a
			}
		}
		body, _ = json.Marshal(payload)
	}
	s.mu.Unlock()
	if url == "" || !ok {
		return fmt.Errorf("no webhook or no ticket %d", ticket)
	}
	return SendSigned(url, secret, delivery, body)
}

// SendSigned posts body to url as a Zammad trigger's webhook signed with the HMAC token.
func SendSigned(url string, secret []byte, delivery string, body []byte) error {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "Zammad User Agent")
	req.Header.Set("X-Zammad-Trigger", Trigger)
	req.Header.Set("X-Zammad-Delivery", delivery)
	if len(secret) > 0 {
		req.Header.Set("X-Hub-Signature", hmacsig.Zammad.Sign(secret, "", body))
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

func newDelivery() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// --- internals; s.mu held ---

func (s *Server) id() int64 {
	s.next++
	return s.next
}

func (s *Server) stamp() string { return s.now().UTC().Format("2006-01-02T15:04:05.000Z") }

func (s *Server) addUser(u User) int64 {
	u.ID, u.Active = s.id(), true
	s.users[u.ID] = &u
	return u.ID
}

func (s *Server) fullname(id int64) string {
	if u, ok := s.users[id]; ok {
		return strings.TrimSpace(u.Firstname + " " + u.Lastname)
	}
	return "-"
}

func (s *Server) addFile(name, typ string, content []byte) Attachment {
	a := Attachment{ID: s.id(), Filename: name, Size: fmt.Sprint(len(content)), Preferences: map[string]string{"Mime-Type": typ, "Content-Type": typ}}
	s.files[a.ID] = slices.Clone(content)
	return a
}

func (s *Server) addArticle(t *Ticket, by int64, a Article) Article {
	a.ID, a.TicketID, a.CreatedByID, a.CreatedAt, a.UpdatedAt = s.id(), t.ID, by, s.stamp(), s.stamp()
	if u, ok := s.users[by]; ok {
		a.CreatedBy = u.Login
		a.From = strings.TrimSpace(u.Firstname + " " + u.Lastname)
	}
	if a.Attachments == nil {
		a.Attachments = []Attachment{}
	}
	t.Articles = append(t.Articles, a)
	t.UpdatedAt = a.CreatedAt
	return a
}

func (s *Server) setState(t *Ticket, by int64, state string) {
	if t.State == state {
		return
	}
	s.record(t, by, "state", t.State, state, nil, nil)
	t.State = state
}

func (s *Server) record(t *Ticket, by int64, attr, from, to string, idFrom, idTo *int64) {
	s.history[t.ID] = append(s.history[t.ID], History{ID: s.id(), OID: t.ID, HistoryType: "updated", HistoryObject: "Ticket",
		HistoryAttribute: attr, ValueFrom: from, ValueTo: to, IDFrom: idFrom, IDTo: idTo, CreatedByID: by, CreatedAt: s.stamp()})
	t.UpdatedAt = s.stamp()
}

// ticketJSON is a ticket as Zammad answers it with expand=true: association names besides
// ids, custom attributes as top-level keys.
func (s *Server) ticketJSON(t *Ticket) map[string]any {
	out := map[string]any{}
	for k, v := range t.Attributes {
		out[k] = v
	}
	ids := make([]int64, 0, len(t.Articles))
	for _, a := range t.Articles {
		ids = append(ids, a.ID)
	}
	owner := "-"
	if u, ok := s.users[t.OwnerID]; ok {
		owner = u.Login
	}
	customer := ""
	if u, ok := s.users[t.CustomerID]; ok {
		customer = u.Login
	}
	for k, v := range map[string]any{"group_id": s.groupID(t.Group), "state_id": slices.Index(stateIDs, t.State) + 1,
		"priority_id": slices.Index(priorities, t.Priority) + 1,
		"id":          t.ID, "number": t.Number, "title": t.Title, "group": t.Group, "state": t.State,
		"priority": t.Priority, "customer_id": t.CustomerID, "customer": customer, "owner_id": t.OwnerID, "owner": owner,
		"article_ids": ids, "article_count": len(ids), "created_at": t.CreatedAt, "updated_at": t.UpdatedAt} {
		out[k] = v
	}
	return out
}

// stateIDs are Zammad's default states by id (1 new … 7 pending close); "removed" (6) is none
// the fake uses.
var stateIDs = []string{"new", "open", "pending reminder", "closed", "merged", "removed", "pending close"}

// groupID numbers the groups by name, "Users" first as in a new Zammad.
func (s *Server) groupID(name string) int {
	names := make([]string, 0, len(s.groups))
	for n := range s.groups {
		if n != "Users" {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return slices.Index(append([]string{"Users"}, names...), name) + 1
}

func copyTicket(t *Ticket) Ticket {
	c := *t
	c.Tags = slices.Clone(t.Tags)
	c.Articles = slices.Clone(t.Articles)
	c.Attributes = map[string]any{}
	for k, v := range t.Attributes {
		c.Attributes[k] = v
	}
	return c
}
