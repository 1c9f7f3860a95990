// Package helpscoutfake is a fake Help Scout Mailbox API 2.0 for tests, built from the
// official reference (developer.helpscout.com/mailbox-api): OAuth2 client credentials with
// expiring access tokens, customers, conversations with their tags, custom fields and status,
// customer threads, notes and agents' replies with inline base64 attachments, HAL lists
// numbered from page 1 (_embedded, page.totalPages), the vnd.error bodies, the
// X-RateLimit-Limit-Minute / X-RateLimit-Remaining-Minute headers with 429 and
// X-RateLimit-Retry-After past the quota, and webhooks signed as Help Scout signs them
// (X-HelpScout-Signature: base64 HMAC-SHA1 of the body) with the conversation as the body.
// Its exchanges with the connector are checked against the operations the reference
// documents, transcribed in connectors/helpdesk/helpscout/testdata/helpscout-openapi.yaml.
//
// Agents act through methods (AgentReply, AgentNote, SetStatus); each action notifies the
// configured webhook when auto is set.
package helpscoutfake

import (
	"bytes"
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
)

// Credentials of the fake's app and its inbox.
const (
	ClientID     = "hs-app-id-0123456789"
	ClientSecret = "hs-app-secret-0123456789"
	MailboxID    = 321
)

// Server is the fake. New starts it; Close stops it.
type Server struct {
	*httptest.Server

	mu         sync.Mutex
	next       int64
	users      map[int64]*User
	customers  map[int64]*Customer
	convs      map[int64]*Conversation
	files      map[int64][]byte
	tokens     map[string]time.Time // access token → expiry
	tokenTTL   time.Duration
	tokensMade int
	limit      int
	used       int
	window     time.Time
	hookURL    string
	secret     []byte
	autoHook   bool
	calls      map[string]int
	now        func() time.Time
	holdWrites int
	held       chan string
	appUser    int64
	// ThreadPage and ConversationPage are the page sizes of the thread and conversation lists.
	ThreadPage, ConversationPage int
}

// User is a Help Scout user (an agent).
type User struct {
	ID                 int64
	First, Last, Email string
}

// Customer is a Help Scout customer.
type Customer struct {
	ID         int64
	FirstName  string
	LastName   string
	Emails     []string
	Chats      []map[string]string
	Background string
}

// Conversation is a conversation with its threads.
type Conversation struct {
	ID, Number int64
	Subject    string
	Status     string
	Type       string
	MailboxID  int64
	Tags       []string
	CustomerID int64
	Fields     map[int64]string
	AutoReply  bool
	CreatedAt  time.Time
	ModifiedAt time.Time
	Threads    []Thread
}

// Thread is one thread of a conversation.
type Thread struct {
	ID          int64
	Type        string // customer, reply, note, lineitem
	Status      string // the status it set, or nochange
	State       string
	Body        string
	ByUser      int64 // the user who wrote it, 0 for the customer
	CustomerID  int64
	Action      string
	Attachments []Attachment
	CreatedAt   time.Time
}

// Attachment is a thread's file.
type Attachment struct {
	ID       int64
	Filename string
	MimeType string
	Size     int64
}

// File is a file an agent attaches.
type File struct {
	Name, Type string
	Content    []byte
}

// New starts the fake with the app's user.
func New() *Server {
	s := &Server{users: map[int64]*User{}, customers: map[int64]*Customer{}, convs: map[int64]*Conversation{},
		files: map[int64][]byte{}, tokens: map[string]time.Time{}, tokenTTL: 2 * time.Hour, calls: map[string]int{},
		now: time.Now, held: make(chan string, 16), next: 1000, ThreadPage: 25, ConversationPage: 25}
	s.appUser = s.addUser("Gateway", "App")
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// SetWebhook makes agent actions notify url, signed with secret; auto sends the
// notification after every agent action (retried a few times, like Help Scout).
func (s *Server) SetWebhook(url, secret string, auto bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hookURL, s.secret, s.autoHook = url, []byte(secret), auto
}

// SetTokenTTL sets the lifetime of access tokens handed out from now on.
func (s *Server) SetTokenTTL(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenTTL = d
}

// RevokeTokens makes every access token handed out so far invalid.
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
}

// TokensIssued is how many access tokens the fake handed out.
func (s *Server) TokensIssued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokensMade
}

// SetRateLimit sets the requests allowed per minute (0: unlimited).
func (s *Server) SetRateLimit(perMinute int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limit, s.used, s.window = perMinute, 0, s.now()
}

// HoldWrites makes the next n successful conversation writes (creations, threads) take effect
// and then hold their answers until the caller hangs up, as if the connection broke after Help
// Scout committed; each held write is named on the returned channel.
func (s *Server) HoldWrites(n int) <-chan string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.holdWrites = n
	return s.held
}

// Calls returns how many requests reached route ("POST /v2/conversations").
func (s *Server) Calls(route string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[route]
}

// AddAgent adds a user and returns their ID.
func (s *Server) AddAgent(first, last string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addUser(first, last)
}

// Conversations returns copies of every conversation with its threads, by ID.
func (s *Server) Conversations() map[int64]Conversation {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[int64]Conversation{}
	for id, c := range s.convs {
		cp := *c
		cp.Threads, cp.Tags = slices.Clone(c.Threads), slices.Clone(c.Tags)
		out[id] = cp
	}
	return out
}

// Conversation returns a copy of one conversation.
func (s *Server) Conversation(id int64) (Conversation, bool) {
	c, ok := s.Conversations()[id]
	return c, ok
}

// Customer returns a copy of a customer.
func (s *Server) Customer(id int64) (Customer, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.customers[id]
	if !ok {
		return Customer{}, false
	}
	return *c, true
}

// File returns an attachment's content.
func (s *Server) File(id int64) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.files[id]
}

// AgentReply adds an agent's published reply and returns its thread ID.
func (s *Server) AgentReply(conv, user int64, text string, files ...File) (int64, error) {
	return s.agentThread(conv, user, "reply", text, files)
}

// AgentNote adds an agent's note (never shown to the customer) and returns its thread ID.
func (s *Server) AgentNote(conv, user int64, text string) (int64, error) {
	return s.agentThread(conv, user, "note", text, nil)
}

func (s *Server) agentThread(conv, user int64, typ, text string, files []File) (int64, error) {
	s.mu.Lock()
	c, ok := s.convs[conv]
	if !ok {
		s.mu.Unlock()
		return 0, fmt.Errorf("no conversation %d", conv)
	}
	var atts []Attachment
	for _, f := range files {
		atts = append(atts, s.addFile(f.Name, f.Type, f.Content))
	}
	// An agent's reply makes an active conversation pending in Help Scout's default ("Reply
	// and set to pending" is not the default): the status stays.
	t := s.addThread(c, Thread{Type: typ, Status: "nochange", Body: "<div>" + strings.ReplaceAll(text, "\n", "<br>") + "</div>", ByUser: user, Attachments: atts})
	s.mu.Unlock()
	s.afterAction(conv, "convo.agent.reply.created")
	return t.ID, nil
}

// SetStatus sets a conversation's status as user (a line item thread records it).
func (s *Server) SetStatus(conv, user int64, status string) error {
	s.mu.Lock()
	c, ok := s.convs[conv]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("no conversation %d", conv)
	}
	c.Status = status
	s.addThread(c, Thread{Type: "lineitem", Status: status, Action: "changed-ticket-status", ByUser: user,
		Body: ""})
	s.mu.Unlock()
	s.afterAction(conv, "convo.status")
	return nil
}

func (s *Server) afterAction(conv int64, event string) {
	s.mu.Lock()
	auto := s.autoHook
	s.mu.Unlock()
	if !auto {
		return
	}
	go func() {
		for i := range 3 {
			if s.Notify(conv, event) == nil {
				return
			}
			time.Sleep(time.Duration(i+1) * 200 * time.Millisecond)
		}
	}()
}

// Notify sends the webhook of event for conv once, signed, with the conversation as its body,
// and returns an error unless it was answered 2xx.
func (s *Server) Notify(conv int64, event string) error {
	s.mu.Lock()
	url, secret := s.hookURL, s.secret
	c, ok := s.convs[conv]
	var body []byte
	if ok {
		body, _ = json.Marshal(s.conversationJSON(c))
	}
	s.mu.Unlock()
	if url == "" || !ok {
		return fmt.Errorf("no webhook or no conversation %d", conv)
	}
	return SendSigned(url, secret, event, body)
}

// SendSigned posts body to url signed as Help Scout signs webhooks.
func SendSigned(url string, secret []byte, event string, body []byte) error {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-HelpScout-Event", event)
	req.Header.Set("X-HelpScout-Signature", hmacsig.HelpScout.Sign(secret, "", body))
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

// --- internals; s.mu held ---

func (s *Server) id() int64 {
	s.next++
	return s.next
}

func (s *Server) addUser(first, last string) int64 {
	u := &User{ID: s.id(), First: first, Last: last, Email: strings.ToLower(first+"."+last) + "@casino.example"}
	s.users[u.ID] = u
	return u.ID
}

func (s *Server) addFile(name, typ string, content []byte) Attachment {
	a := Attachment{ID: s.id(), Filename: name, MimeType: typ, Size: int64(len(content))}
	s.files[a.ID] = bytes.Clone(content)
	return a
}

func (s *Server) addThread(c *Conversation, t Thread) Thread {
	t.ID, t.CreatedAt = s.id(), s.now().UTC()
	if t.State == "" {
		t.State = "published"
	}
	c.Threads = append(c.Threads, t)
	c.ModifiedAt = t.CreatedAt
	return t
}
