package helpscoutfake

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"time"
)

// serve answers a request, or holds the answer of a write HoldWrites picked: it is done in
// full, but its answer never comes (the caller dies waiting, or gives up).
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	rec := httptest.NewRecorder()
	s.mu.Lock()
	s.route(rec, r)
	hold := s.holdWrites > 0 && r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/v2/conversations") && rec.Code/100 == 2
	if hold {
		s.holdWrites--
	}
	held := s.held
	s.mu.Unlock()
	if hold {
		select {
		case held <- r.Method + " " + r.URL.Path:
		default:
		}
		select {
		case <-r.Context().Done():
		case <-time.After(time.Minute):
		}
		return
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	s.calls[r.Method+" "+routeOf(r.URL.Path)]++
	if r.Method == http.MethodPost && r.URL.Path == "/v2/oauth2/token" {
		s.token(w, r)
		return
	}
	if !s.authorized(r) {
		vndError(w, http.StatusUnauthorized, "Unauthorized", "", "")
		return
	}
	if !s.allow(w, r) {
		return
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	var id int64
	if len(parts) >= 3 {
		id, _ = strconv.ParseInt(parts[2], 10, 64)
	}
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/v2/customers":
		s.createCustomer(w, r)
	case r.Method == http.MethodPost && r.URL.Path == "/v2/conversations":
		s.createConversation(w, r)
	case r.Method == http.MethodGet && r.URL.Path == "/v2/conversations":
		s.listConversations(w, r)
	case len(parts) < 3 || parts[1] != "conversations" || s.convs[id] == nil:
		vndError(w, http.StatusNotFound, "Not Found", "", "")
	case len(parts) == 3 && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, s.conversationJSON(s.convs[id]))
	case len(parts) == 3 && r.Method == http.MethodPatch:
		s.patchConversation(w, r, s.convs[id])
	case len(parts) == 4 && parts[3] == "tags" && r.Method == http.MethodPut:
		s.putTags(w, r, s.convs[id])
	case len(parts) == 4 && parts[3] == "fields" && r.Method == http.MethodPut:
		s.putFields(w, r, s.convs[id])
	case len(parts) == 4 && (parts[3] == "customer" || parts[3] == "notes") && r.Method == http.MethodPost:
		s.createThread(w, r, s.convs[id], parts[3])
	case len(parts) == 4 && parts[3] == "threads" && r.Method == http.MethodGet:
		s.listThreads(w, r, s.convs[id])
	case len(parts) == 6 && parts[3] == "attachments" && parts[5] == "data" && r.Method == http.MethodGet:
		s.attachmentData(w, s.convs[id], parts[4])
	default:
		vndError(w, http.StatusNotFound, "Not Found", "", "")
	}
}

// routeOf names a path with its IDs replaced, for Calls.
func routeOf(path string) string {
	parts := strings.Split(path, "/")
	for i, p := range parts {
		if _, err := strconv.ParseInt(p, 10, 64); err == nil {
			parts[i] = "{id}"
		}
	}
	return strings.Join(parts, "/")
}

// token is the OAuth2 client credentials grant.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type", "error_description": "grant_type must be client_credentials"})
		return
	}
	if r.PostForm.Get("client_id") != ClientID || r.PostForm.Get("client_secret") != ClientSecret {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client", "error_description": "Bad client credentials"})
		return
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	tok := hex.EncodeToString(b)
	s.tokens[tok] = s.now().Add(s.tokenTTL)
	s.tokensMade++
	writeJSON(w, http.StatusOK, map[string]any{"token_type": "bearer", "access_token": tok, "expires_in": int(s.tokenTTL / time.Second)})
}

func (s *Server) authorized(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	exp, known := s.tokens[tok]
	return ok && known && s.now().Before(exp)
}

// allow counts the request against the minute's quota (Help Scout counts writes twice) and
// sets the rate-limit headers; past the quota it answers 429 with X-RateLimit-Retry-After.
func (s *Server) allow(w http.ResponseWriter, r *http.Request) bool {
	if s.limit <= 0 {
		w.Header().Set("X-RateLimit-Limit-Minute", "400")
		w.Header().Set("X-RateLimit-Remaining-Minute", "399")
		return true
	}
	now := s.now()
	if now.Sub(s.window) >= time.Minute {
		s.window, s.used = now, 0
	}
	cost := 1
	if r.Method != http.MethodGet {
		cost = 2
	}
	w.Header().Set("X-RateLimit-Limit-Minute", strconv.Itoa(s.limit))
	if s.used+cost > s.limit {
		wait := int(time.Minute-now.Sub(s.window))/int(time.Second) + 1
		w.Header().Set("X-RateLimit-Retry-After", strconv.Itoa(wait))
		w.Header().Set("X-RateLimit-Remaining-Minute", "0")
		vndError(w, http.StatusTooManyRequests, "Too many requests", "", "")
		return false
	}
	s.used += cost
	w.Header().Set("X-RateLimit-Remaining-Minute", strconv.Itoa(s.limit-s.used))
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// vndError is Help Scout's error body (application/vnd.error+json), with the offending
// field's error embedded when there is one.
func vndError(w http.ResponseWriter, status int, message, path, detail string) {
	body := map[string]any{"logRef": fmt.Sprintf("%x", time.Now().UnixNano()), "message": message}
	if path != "" {
		body["_embedded"] = map[string]any{"errors": []map[string]string{{"path": path, "message": detail, "source": "JSON"}}}
	}
	w.Header().Set("Content-Type", "application/vnd.error+json;charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func invalid(w http.ResponseWriter, path, detail string) {
	vndError(w, http.StatusBadRequest, "Bad request", path, detail)
}

func decode(r *http.Request, v any) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, 70<<20))
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func created(w http.ResponseWriter, location string, id int64) {
	w.Header().Set("Resource-ID", strconv.FormatInt(id, 10))
	w.Header().Set("Location", location)
	w.WriteHeader(http.StatusCreated)
}

type customerIn struct {
	ID        int64  `json:"id"`
	Email     string `json:"email"`
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
}

type fileIn struct {
	FileName string `json:"fileName"`
	MimeType string `json:"mimeType"`
	Data     string `json:"data"`
}

type threadIn struct {
	Type        string      `json:"type"`
	Customer    *customerIn `json:"customer"`
	Text        string      `json:"text"`
	Attachments []fileIn    `json:"attachments"`
}

func (s *Server) createCustomer(w http.ResponseWriter, r *http.Request) {
	var in struct {
		FirstName  string              `json:"firstName"`
		LastName   string              `json:"lastName"`
		Emails     []map[string]string `json:"emails"`
		Chats      []map[string]string `json:"chats"`
		Background string              `json:"background"`
	}
	if err := decode(r, &in); err != nil {
		invalid(w, "", "Unparseable JSON: "+err.Error())
		return
	}
	if len(in.FirstName) > 40 || len(in.LastName) > 40 {
		invalid(w, "firstName", "must be 40 characters or fewer")
		return
	}
	c := &Customer{ID: s.id(), FirstName: in.FirstName, LastName: in.LastName, Chats: in.Chats, Background: in.Background}
	for _, e := range in.Emails {
		c.Emails = append(c.Emails, e["value"])
	}
	s.customers[c.ID] = c
	created(w, fmt.Sprintf("%s/v2/customers/%d", s.URL, c.ID), c.ID)
}

// customerOf finds the customer of a request: by id, else by e-mail (created when new, as
// Help Scout does).
func (s *Server) customerOf(in *customerIn) (int64, string) {
	switch {
	case in == nil:
		return 0, "may not be null"
	case in.ID != 0:
		if s.customers[in.ID] == nil {
			return 0, "customer not found"
		}
		return in.ID, ""
	case strings.Contains(in.Email, "@"):
		for _, c := range s.customers {
			if slices.Contains(c.Emails, in.Email) {
				return c.ID, ""
			}
		}
		c := &Customer{ID: s.id(), FirstName: in.FirstName, LastName: in.LastName, Emails: []string{in.Email}}
		s.customers[c.ID] = c
		return c.ID, ""
	}
	return 0, "must contain a valid customer id or an email address"
}

func (s *Server) files64(in []fileIn) ([]Attachment, string) {
	var out []Attachment
	for _, f := range in {
		b, err := base64.StdEncoding.DecodeString(f.Data)
		if err != nil || f.FileName == "" || f.MimeType == "" {
			return nil, "attachments need fileName, mimeType and base64 data"
		}
		out = append(out, s.addFile(f.FileName, f.MimeType, b))
	}
	return out, ""
}

func (s *Server) createConversation(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Subject   string         `json:"subject"`
		Customer  *customerIn    `json:"customer"`
		MailboxID int64          `json:"mailboxId"`
		Type      string         `json:"type"`
		Status    string         `json:"status"`
		Tags      []string       `json:"tags"`
		Fields    []fieldIn      `json:"fields"`
		AutoReply bool           `json:"autoReply"`
		Threads   []threadIn     `json:"threads"`
		Extra     map[string]any `json:"-"`
	}
	if err := decode(r, &in); err != nil {
		invalid(w, "", "Unparseable JSON: "+err.Error())
		return
	}
	switch {
	case strings.TrimSpace(in.Subject) == "":
		invalid(w, "subject", "may not be empty")
		return
	case in.MailboxID != MailboxID:
		invalid(w, "mailboxId", "mailbox not found")
		return
	case !slices.Contains([]string{"email", "chat", "phone"}, in.Type):
		invalid(w, "type", "must be one of email, chat, phone")
		return
	case !slices.Contains([]string{"active", "pending", "closed"}, in.Status):
		invalid(w, "status", "must be one of active, pending, closed")
		return
	case len(in.Threads) == 0:
		invalid(w, "threads", "may not be empty")
		return
	}
	cust, problem := s.customerOf(in.Customer)
	if problem != "" {
		invalid(w, "customer", problem)
		return
	}
	c := &Conversation{ID: s.id(), Subject: in.Subject, Status: in.Status, Type: in.Type, MailboxID: in.MailboxID,
		CustomerID: cust, Fields: map[int64]string{}, AutoReply: in.AutoReply, CreatedAt: s.now().UTC()}
	c.Number = c.ID - 1000
	c.Tags = normTags(in.Tags)
	for _, f := range in.Fields {
		c.Fields[f.ID] = f.Value
	}
	for _, t := range in.Threads {
		if t.Type != "customer" && t.Type != "note" && t.Type != "reply" {
			invalid(w, "threads[].type", "must be one of customer, reply, note")
			return
		}
		atts, problem := s.files64(t.Attachments)
		if problem != "" {
			invalid(w, "threads[].attachments", problem)
			return
		}
		s.addThread(c, Thread{Type: t.Type, Status: in.Status, Body: t.Text, CustomerID: cust, Attachments: atts})
	}
	s.convs[c.ID] = c
	created(w, fmt.Sprintf("%s/v2/conversations/%d", s.URL, c.ID), c.ID)
}

type fieldIn struct {
	ID    int64  `json:"id"`
	Value string `json:"value"`
}

func normTags(in []string) []string {
	var out []string
	for _, t := range in {
		if t = strings.ToLower(strings.TrimSpace(t)); t != "" {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (s *Server) createThread(w http.ResponseWriter, r *http.Request, c *Conversation, kind string) {
	var in threadIn
	if err := decode(r, &in); err != nil {
		invalid(w, "", "Unparseable JSON: "+err.Error())
		return
	}
	if strings.TrimSpace(in.Text) == "" {
		invalid(w, "text", "may not be empty")
		return
	}
	atts, problem := s.files64(in.Attachments)
	if problem != "" {
		invalid(w, "attachments", problem)
		return
	}
	t := Thread{Type: "note", Status: "nochange", Body: in.Text, ByUser: s.appUser, Attachments: atts}
	if kind == "customer" {
		cust, problem := s.customerOf(in.Customer)
		if problem != "" {
			invalid(w, "customer", problem)
			return
		}
		t = Thread{Type: "customer", Status: "nochange", Body: in.Text, CustomerID: cust, Attachments: atts}
		if c.Status != "active" {
			// A customer's reply makes the conversation active again.
			c.Status, t.Status = "active", "active"
		}
	}
	t = s.addThread(c, t)
	created(w, fmt.Sprintf("%s/v2/conversations/%d/threads/%d", s.URL, c.ID, t.ID), t.ID)
}

func (s *Server) patchConversation(w http.ResponseWriter, r *http.Request, c *Conversation) {
	var in struct {
		Op    string `json:"op"`
		Path  string `json:"path"`
		Value any    `json:"value"`
	}
	if err := decode(r, &in); err != nil || in.Op != "replace" {
		invalid(w, "op", "must be replace")
		return
	}
	v, _ := in.Value.(string)
	switch in.Path {
	case "/status":
		if !slices.Contains([]string{"active", "pending", "closed", "spam"}, v) {
			invalid(w, "value", "must be one of active, pending, closed, spam")
			return
		}
		if c.Status != v {
			c.Status = v
			s.addThread(c, Thread{Type: "lineitem", Status: v, Action: "changed-ticket-status", ByUser: s.appUser})
		}
	case "/subject":
		c.Subject = v
	default:
		invalid(w, "path", "unsupported path")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) putTags(w http.ResponseWriter, r *http.Request, c *Conversation) {
	var in struct {
		Tags []string `json:"tags"`
	}
	if err := decode(r, &in); err != nil {
		invalid(w, "tags", err.Error())
		return
	}
	c.Tags, c.ModifiedAt = normTags(in.Tags), s.now().UTC()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) putFields(w http.ResponseWriter, r *http.Request, c *Conversation) {
	var in struct {
		Fields []fieldIn `json:"fields"`
	}
	if err := decode(r, &in); err != nil {
		invalid(w, "fields", err.Error())
		return
	}
	for _, f := range in.Fields {
		c.Fields[f.ID] = f.Value
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) listConversations(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	status := q.Get("status")
	if status == "" {
		status = "active"
	}
	var since time.Time
	if v := q.Get("modifiedSince"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			invalid(w, "modifiedSince", "must be an ISO 8601 date")
			return
		}
		since = t
	}
	var list []*Conversation
	for _, c := range s.convs {
		switch {
		case q.Get("mailbox") != "" && q.Get("mailbox") != strconv.FormatInt(c.MailboxID, 10):
		case status != "all" && c.Status != status:
		case q.Get("tag") != "" && !slices.Contains(c.Tags, strings.ToLower(q.Get("tag"))):
		case !since.IsZero() && c.ModifiedAt.Before(since):
		default:
			list = append(list, c)
		}
	}
	key := func(c *Conversation) int64 { return c.CreatedAt.UnixNano()*1 + c.ID }
	if q.Get("sortField") == "modifiedAt" {
		key = func(c *Conversation) int64 { return c.ModifiedAt.UnixNano() }
	}
	slices.SortFunc(list, func(a, b *Conversation) int {
		d := key(a) - key(b)
		if d == 0 {
			d = a.ID - b.ID
		}
		if q.Get("sortOrder") != "asc" {
			d = -d
		}
		return int(max(-1, min(1, d)))
	})
	items, pg, ok := s.pageOf(w, r, len(list), s.ConversationPage)
	if !ok {
		return
	}
	out := []any{}
	for _, c := range list[items[0]:items[1]] {
		out = append(out, s.conversationJSON(c))
	}
	writeJSON(w, http.StatusOK, map[string]any{"_embedded": map[string]any{"conversations": out}, "page": pg,
		"_links": map[string]any{"self": map[string]string{"href": s.URL + r.URL.RequestURI()}}})
}

// pageOf reads ?page= (numbered from 1) and returns the slice bounds and the page block.
func (s *Server) pageOf(w http.ResponseWriter, r *http.Request, total, size int) ([2]int, map[string]int, bool) {
	n := 1
	if v := r.URL.Query().Get("page"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			invalid(w, "page", "must be a positive number")
			return [2]int{}, nil, false
		}
	}
	pages := (total + size - 1) / size
	lo, hi := min((n-1)*size, total), min(n*size, total)
	return [2]int{lo, hi}, map[string]int{"size": size, "totalElements": total, "totalPages": pages, "number": n}, true
}

func (s *Server) listThreads(w http.ResponseWriter, r *http.Request, c *Conversation) {
	threads := slices.Clone(c.Threads)
	slices.Reverse(threads) // newest first, as Help Scout lists them
	items, pg, ok := s.pageOf(w, r, len(threads), s.ThreadPage)
	if !ok {
		return
	}
	out := []any{}
	for _, t := range threads[items[0]:items[1]] {
		out = append(out, s.threadJSON(c, t))
	}
	writeJSON(w, http.StatusOK, map[string]any{"_embedded": map[string]any{"threads": out}, "page": pg})
}

func (s *Server) attachmentData(w http.ResponseWriter, c *Conversation, raw string) {
	id, _ := strconv.ParseInt(raw, 10, 64)
	for _, t := range c.Threads {
		for _, a := range t.Attachments {
			if a.ID == id {
				writeJSON(w, http.StatusOK, map[string]string{"data": base64.StdEncoding.EncodeToString(s.files[id])})
				return
			}
		}
	}
	vndError(w, http.StatusNotFound, "Not Found", "", "")
}

func (s *Server) conversationJSON(c *Conversation) map[string]any {
	tags := []map[string]any{}
	for i, t := range c.Tags {
		tags = append(tags, map[string]any{"id": 100 + i, "color": "#929499", "tag": t})
	}
	fields := []map[string]any{}
	for id, v := range c.Fields {
		fields = append(fields, map[string]any{"id": id, "name": fmt.Sprintf("field %d", id), "value": v, "text": v})
	}
	cust := s.customers[c.CustomerID]
	pc := map[string]any{"id": c.CustomerID, "type": "customer"}
	if cust != nil {
		pc["first"], pc["last"] = cust.FirstName, cust.LastName
		if len(cust.Emails) > 0 {
			pc["email"] = cust.Emails[0]
		}
	}
	return map[string]any{"id": c.ID, "number": c.Number, "threads": len(c.Threads), "type": c.Type, "folderId": 1,
		"status": c.Status, "state": "published", "subject": c.Subject, "mailboxId": c.MailboxID,
		"createdAt": c.CreatedAt.Format(time.RFC3339), "userUpdatedAt": c.ModifiedAt.Format(time.RFC3339),
		"primaryCustomer": pc, "tags": tags, "customFields": fields,
		"_links": map[string]any{"self": map[string]string{"href": fmt.Sprintf("%s/v2/conversations/%d", s.URL, c.ID)},
			"threads": map[string]string{"href": fmt.Sprintf("%s/v2/conversations/%d/threads", s.URL, c.ID)}}}
}

func (s *Server) threadJSON(c *Conversation, t Thread) map[string]any {
	by := map[string]any{"id": t.CustomerID, "type": "customer"}
	if t.ByUser != 0 {
		u := s.users[t.ByUser]
		by = map[string]any{"id": u.ID, "type": "user", "first": u.First, "last": u.Last, "email": u.Email}
	}
	atts := []map[string]any{}
	for _, a := range t.Attachments {
		atts = append(atts, map[string]any{"id": a.ID, "filename": a.Filename, "mimeType": a.MimeType, "size": a.Size,
			"_links": map[string]any{"data": map[string]string{"href": fmt.Sprintf("%s/v2/conversations/%d/attachments/%d/data", s.URL, c.ID, a.ID)}}})
	}
	out := map[string]any{"id": t.ID, "type": t.Type, "status": t.Status, "state": t.State, "body": t.Body,
		"source":   map[string]string{"type": "api", "via": map[bool]string{true: "user", false: "customer"}[t.ByUser != 0]},
		"customer": map[string]any{"id": c.CustomerID}, "createdBy": by, "createdAt": t.CreatedAt.Format(time.RFC3339),
		"_embedded": map[string]any{"attachments": atts}}
	if t.Action != "" {
		out["action"] = map[string]any{"type": t.Action, "text": "changed the status to " + t.Status}
	}
	return out
}
