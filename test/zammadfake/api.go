package zammadfake

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/casino-support/gateway/test/fakehold"
)

// maxBody bounds a request body (Zammad's own limit is in nginx: client_max_body_size 50M).
const maxBody = 50 << 20

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	fakehold.Serve(w, r, &s.mu, &s.holds, s.route, func(r *http.Request) bool {
		return r.Method == http.MethodPost && (r.URL.Path == "/api/v1/tickets" || r.URL.Path == "/api/v1/ticket_articles")
	})
}

// route authenticates, counts the request against the proxy's quota and routes it.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimSuffix(r.URL.Path, "/")
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	s.calls[r.Method+" "+routeOf(parts)]++
	if r.Header.Get("Authorization") != "Token token="+Token {
		writeError(w, http.StatusUnauthorized, "Invalid token!")
		return
	}
	if !s.allow(w) {
		return
	}
	actor := s.apiUser
	if from := r.Header.Get("From"); from != "" {
		u := s.lookupUser(from)
		if u == nil {
			writeError(w, http.StatusUnauthorized, fmt.Sprintf("No such user '%s'", from))
			return
		}
		actor = u.ID
	}
	switch {
	case r.Method == http.MethodGet && p == "/api/v1/users/search":
		s.searchUsers(w, r)
	case r.Method == http.MethodPost && p == "/api/v1/users":
		s.createUser(w, r)
	case r.Method == http.MethodGet && len(parts) == 4 && parts[2] == "users":
		s.showUser(w, parts[3])
	case r.Method == http.MethodPost && p == "/api/v1/tickets":
		s.createTicket(w, r, actor)
	case r.Method == http.MethodGet && p == "/api/v1/tickets":
		s.listTickets(w, r, actor)
	case r.Method == http.MethodGet && p == "/api/v1/tickets/search":
		s.searchTickets(w, r)
	case r.Method == http.MethodGet && len(parts) == 4 && parts[2] == "tickets":
		if t := s.ticketOr404(w, parts[3], actor); t != nil {
			writeJSON(w, http.StatusOK, s.ticketJSON(t))
		}
	case r.Method == http.MethodPut && len(parts) == 4 && parts[2] == "tickets":
		s.updateTicket(w, r, parts[3], actor)
	case r.Method == http.MethodPost && p == "/api/v1/ticket_articles":
		s.createArticle(w, r, actor)
	case r.Method == http.MethodGet && len(parts) == 5 && parts[2] == "ticket_articles" && parts[3] == "by_ticket":
		if t := s.ticketOr404(w, parts[4], actor); t != nil {
			writeJSON(w, http.StatusOK, s.visibleArticles(t, actor))
		}
	case r.Method == http.MethodGet && len(parts) == 4 && parts[2] == "ticket_history":
		if t := s.ticketOr404(w, parts[3], actor); t != nil {
			writeJSON(w, http.StatusOK, map[string]any{"history": append([]History{}, s.history[t.ID]...), "assets": map[string]any{}})
		}
	case r.Method == http.MethodGet && len(parts) == 6 && parts[2] == "ticket_attachment":
		s.download(w, parts[3:], actor)
	case r.Method == http.MethodGet && p == "/api/v1/links":
		s.listLinks(w, r)
	default:
		writeError(w, http.StatusNotFound, "No route matches ["+r.Method+"] \""+r.URL.Path+"\"")
	}
}

func routeOf(parts []string) string {
	out := make([]string, len(parts))
	for i, p := range parts {
		if _, err := strconv.ParseInt(p, 10, 64); err == nil {
			p = "{id}"
		}
		out[i] = p
	}
	return "/" + strings.Join(out, "/")
}

// allow counts the request against the minute's quota; past it, 429 with Retry-After.
func (s *Server) allow(w http.ResponseWriter) bool {
	if s.limit <= 0 {
		return true
	}
	now := s.now()
	if now.Sub(s.window) >= time.Minute {
		s.used, s.window = 0, now
	}
	w.Header().Set("X-RateLimit-Limit", strconv.Itoa(s.limit))
	if s.used >= s.limit {
		wait := int(time.Minute-now.Sub(s.window))/int(time.Second) + 1
		w.Header().Set("Retry-After", strconv.Itoa(wait))
		w.Header().Set("X-RateLimit-Remaining", "0")
		writeError(w, http.StatusTooManyRequests, "Too many requests")
		return false
	}
	s.used++
	w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(s.limit-s.used))
	return true
}

func (s *Server) lookupUser(key string) *User {
	if id, err := strconv.ParseInt(key, 10, 64); err == nil {
		return s.users[id]
	}
	key = strings.ToLower(key)
	for _, u := range s.users {
		if u.Login == key || (u.Email != "" && u.Email == key) {
			return u
		}
	}
	return nil
}

func (s *Server) isAgent(id int64) bool {
	u, ok := s.users[id]
	return ok && (slices.Contains(u.Roles, "Agent") || slices.Contains(u.Roles, "Admin"))
}

// searchUsers answers query=login:"x" or email:"x" (the search index's field syntax), or
// plain text matched against login, e-mail and names as Zammad without its search index
// does (SQL LIKE), as a list with expand=true. With SearchIndex off, the field syntax finds
// nothing, as that Zammad's would not.
func (s *Server) searchUsers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query().Get("query")
	field, value, ok := strings.Cut(q, ":")
	value = strings.ToLower(strings.Trim(value, `"`))
	out := []User{}
	for _, u := range s.users {
		switch {
		case ok && !s.noIndex && (field == "login" || field == "email"):
			if (field == "login" && u.Login == value) || (field == "email" && u.Email == value) {
				out = append(out, *u)
			}
		case !ok || s.noIndex:
			text := strings.ToLower(q)
			if strings.Contains(u.Login, text) || strings.Contains(u.Email, text) || strings.Contains(strings.ToLower(u.Firstname+" "+u.Lastname), text) {
				out = append(out, *u)
			}
		}
	}
	slices.SortFunc(out, func(a, b User) int { return int(a.ID - b.ID) })
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) {
	var in User
	if !decode(w, r, &in) {
		return
	}
	in.Login, in.Email = strings.ToLower(in.Login), strings.ToLower(in.Email)
	if in.Login == "" {
		in.Login = in.Email
	}
	if in.Login == "" {
		writeError(w, http.StatusUnprocessableEntity, "Attribute 'login' required!")
		return
	}
	for _, u := range s.users {
		if in.Email != "" && u.Email == in.Email {
			writeError(w, http.StatusUnprocessableEntity, fmt.Sprintf("Email address '%s' is already used for another user.", in.Email))
			return
		}
		if u.Login == in.Login {
			writeError(w, http.StatusUnprocessableEntity, fmt.Sprintf("Login '%s' is already used for another user.", in.Login))
			return
		}
	}
	if len(in.Roles) == 0 {
		in.Roles = []string{"Customer"}
	}
	id := s.addUser(in)
	writeJSON(w, http.StatusCreated, s.users[id])
}

func (s *Server) showUser(w http.ResponseWriter, raw string) {
	id, _ := strconv.ParseInt(raw, 10, 64)
	u, ok := s.users[id]
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("Couldn't find User with 'id'=%s", raw))
		return
	}
	writeJSON(w, http.StatusOK, u)
}

// articleIn is an article as the API takes it.
type articleIn struct {
	TicketID    int64   `json:"ticket_id"`
	Subject     string  `json:"subject"`
	Body        *string `json:"body"`
	ContentType string  `json:"content_type"`
	Type        string  `json:"type"`
	Sender      string  `json:"sender"`
	Internal    bool    `json:"internal"`
	OriginByID  *int64  `json:"origin_by_id"`
	Attachments []struct {
		Filename string `json:"filename"`
		Data     string `json:"data"`
		MimeType string `json:"mime-type"`
	} `json:"attachments"`
}

// article checks and adds an article as actor, forcing a customer's to sender Customer,
// type note or web and public, as Zammad's CreatesTicketArticles does.
func (s *Server) article(w http.ResponseWriter, t *Ticket, actor int64, in articleIn) (Article, bool) {
	if in.Body == nil {
		writeError(w, http.StatusUnprocessableEntity, `Need at least article: { body: "some text" }`)
		return Article{}, false
	}
	a := Article{Type: in.Type, Sender: in.Sender, Subject: in.Subject, Body: *in.Body, ContentType: in.ContentType, Internal: in.Internal, OriginByID: in.OriginByID}
	if a.Type == "" {
		a.Type = "note"
	}
	if a.Sender == "" {
		a.Sender = "Customer"
		if s.isAgent(actor) {
			a.Sender = "Agent"
		}
	}
	if a.ContentType == "" {
		a.ContentType = "text/plain"
	}
	if !s.isAgent(actor) {
		a.Sender, a.Internal = "Customer", false
		if a.Type != "note" && a.Type != "web" {
			a.Type = "note"
		}
	}
	var files []Attachment
	for i, f := range in.Attachments {
		if f.Filename == "" || f.Data == "" || f.MimeType == "" {
			writeError(w, http.StatusUnprocessableEntity, fmt.Sprintf("Attachment needs 'mime-type', 'filename' and 'data' params for attachment with index '%d'", i))
			return Article{}, false
		}
		content, err := base64.StdEncoding.Strict().DecodeString(strings.NewReplacer("\r", "", "\n", "").Replace(f.Data))
		if err != nil {
			writeError(w, http.StatusUnprocessableEntity, fmt.Sprintf("Invalid base64 for attachment with index '%d'", i))
			return Article{}, false
		}
		files = append(files, s.addFile(f.Filename, f.MimeType, content))
	}
	a = s.addArticle(t, actor, a)
	t.Articles[len(t.Articles)-1].Attachments = append(t.Articles[len(t.Articles)-1].Attachments, files...)
	a.Attachments = t.Articles[len(t.Articles)-1].Attachments
	return a, true
}

var priorities = []string{"1 low", "2 normal", "3 high"}

var states = []string{"new", "open", "pending reminder", "pending close", "closed", "merged"}

func (s *Server) createTicket(w http.ResponseWriter, r *http.Request, actor int64) {
	var in map[string]json.RawMessage
	if !decode(w, r, &in) {
		return
	}
	str := func(k string) string {
		var v string
		_ = json.Unmarshal(in[k], &v)
		return v
	}
	t := &Ticket{Title: str("title"), Group: str("group"), State: str("state"), Priority: str("priority"), Attributes: map[string]any{}}
	if t.Title == "" {
		writeError(w, http.StatusUnprocessableEntity, "Title can't be blank")
		return
	}
	if _, ok := s.groups[t.Group]; !ok {
		writeError(w, http.StatusUnprocessableEntity, "Group can't be blank")
		return
	}
	if t.State == "" {
		t.State = "new"
	}
	if t.Priority == "" {
		t.Priority = "2 normal"
	}
	if !slices.Contains(states, t.State) || !slices.Contains(priorities, t.Priority) {
		writeError(w, http.StatusUnprocessableEntity, fmt.Sprintf("No lookup value found for 'state' or 'priority': %q, %q", t.State, t.Priority))
		return
	}
	var customer json.Number
	_ = json.Unmarshal(in["customer_id"], &customer)
	cid, _ := customer.Int64()
	if !s.isAgent(actor) {
		cid = actor
	}
	if email, ok := strings.CutPrefix(str("customer_id"), "guess:"); ok {
		if u := s.lookupUser(email); u != nil {
			cid = u.ID
		} else {
			cid = s.addUser(User{Login: strings.ToLower(email), Email: strings.ToLower(email), Roles: []string{"Customer"}})
		}
	}
	if _, ok := s.users[cid]; !ok {
		writeError(w, http.StatusUnprocessableEntity, "Customer can't be blank")
		return
	}
	var art articleIn
	if raw, ok := in["article"]; ok {
		if err := json.Unmarshal(raw, &art); err != nil {
			writeError(w, http.StatusUnprocessableEntity, "article: "+err.Error())
			return
		}
	}
	var links map[string]map[string][]json.Number
	if raw, ok := in["links"]; ok {
		if err := json.Unmarshal(raw, &links); err != nil {
			writeError(w, http.StatusUnprocessableEntity, "Invalid link structure")
			return
		}
	}
	known := map[string]bool{"title": true, "group": true, "state": true, "priority": true, "customer_id": true, "article": true, "links": true, "tags": true}
	for k, v := range in {
		if !known[k] {
			var val any
			_ = json.Unmarshal(v, &val)
			t.Attributes[k] = val
		}
	}
	for _, tag := range strings.Split(str("tags"), ",") {
		if tag = strings.TrimSpace(tag); tag != "" && !slices.Contains(t.Tags, tag) {
			t.Tags = append(t.Tags, tag)
		}
	}
	s.number++
	t.ID, t.Number, t.CustomerID, t.CreatedAt, t.UpdatedAt = s.id(), strconv.FormatInt(s.number, 10), cid, s.stamp(), s.stamp()
	s.tickets[t.ID] = t
	if art.Body != nil {
		if _, ok := s.article(w, t, actor, art); !ok {
			delete(s.tickets, t.ID) // one transaction in Zammad
			return
		}
	}
	for _, ids := range links["Ticket"] {
		for _, n := range ids {
			other, _ := n.Int64()
			if _, ok := s.tickets[other]; ok {
				s.links[t.ID] = append(s.links[t.ID], other)
				s.links[other] = append(s.links[other], t.ID)
			}
		}
	}
	writeJSON(w, http.StatusCreated, s.ticketJSON(t))
}

// readable reports whether actor may read t: agents read all, customers their own.
func (s *Server) readable(t *Ticket, actor int64) bool {
	return s.isAgent(actor) || t.CustomerID == actor
}

func (s *Server) ticketOr404(w http.ResponseWriter, raw string, actor int64) *Ticket {
	id, _ := strconv.ParseInt(raw, 10, 64)
	t, ok := s.tickets[id]
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("Couldn't find Ticket with 'id'=%s", raw))
		return nil
	}
	if !s.readable(t, actor) {
		writeError(w, http.StatusForbidden, "Not authorized")
		return nil
	}
	return t
}

// listTickets is GET /api/v1/tickets: the tickets actor may read, in id order, page and
// per_page (default 100 as paginate_with(max: 100) falls back to the maximum).
func (s *Server) listTickets(w http.ResponseWriter, r *http.Request, actor int64) {
	page, per := pagination(r, 100, 100)
	var ids []int64
	for id, t := range s.tickets {
		if s.readable(t, actor) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	out := []map[string]any{}
	for i := (page - 1) * per; i < len(ids) && i < page*per; i++ {
		out = append(out, s.ticketJSON(s.tickets[ids[i]]))
	}
	writeJSON(w, http.StatusOK, out)
}

// searchTickets answers the one query the poller sends, updated_at:>=now-<N>s (the search
// index's date math), sorted by updated_at ascending, with expand=true: a list.
func (s *Server) searchTickets(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	page, per := pagination(r, 50, 200)
	since, ok := strings.CutPrefix(q.Get("query"), "updated_at:>=")
	if !ok || q.Get("sort_by") != "updated_at" || q.Get("order_by") != "asc" {
		writeError(w, http.StatusUnprocessableEntity, "the fake answers only query=updated_at:>=now-<N>s&sort_by=updated_at&order_by=asc")
		return
	}
	if s.noIndex {
		writeJSON(w, http.StatusOK, []any{}) // Zammad without its index searches titles for the text
		return
	}
	secs, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(since, "now-"), "s"), 10, 64)
	if err != nil || !strings.HasPrefix(since, "now-") || !strings.HasSuffix(since, "s") {
		writeError(w, http.StatusUnprocessableEntity, "the fake answers only updated_at:>=now-<N>s")
		return
	}
	from := s.now().Add(-time.Duration(secs) * time.Second)
	var list []*Ticket
	for _, t := range s.tickets {
		if at, _ := time.Parse(time.RFC3339, t.UpdatedAt); !at.Before(from) {
			list = append(list, t)
		}
	}
	slices.SortFunc(list, func(a, b *Ticket) int {
		if c := strings.Compare(a.UpdatedAt, b.UpdatedAt); c != 0 {
			return c
		}
		return int(a.ID - b.ID)
	})
	out := []map[string]any{}
	for i := (page - 1) * per; i < len(list) && i < page*per; i++ {
		out = append(out, s.ticketJSON(list[i]))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) updateTicket(w http.ResponseWriter, r *http.Request, raw string, actor int64) {
	t := s.ticketOr404(w, raw, actor)
	if t == nil {
		return
	}
	var in map[string]json.RawMessage
	if !decode(w, r, &in) {
		return
	}
	for k, v := range in {
		var val any
		_ = json.Unmarshal(v, &val)
		switch k {
		case "id", "number", "article", "customer_id", "group":
		case "state":
			st, _ := val.(string)
			if !slices.Contains(states, st) {
				writeError(w, http.StatusUnprocessableEntity, fmt.Sprintf("No lookup value found for 'state': %q", st))
				return
			}
			s.setState(t, actor, st)
		case "priority":
			p, _ := val.(string)
			if !slices.Contains(priorities, p) {
				writeError(w, http.StatusUnprocessableEntity, fmt.Sprintf("No lookup value found for 'priority': %q", p))
				return
			}
			if p != t.Priority {
				s.record(t, actor, "priority", t.Priority, p, nil, nil)
			}
			t.Priority = p
		case "title":
			t.Title, _ = val.(string)
		default:
			t.Attributes[k] = val
		}
	}
	t.UpdatedAt = s.stamp()
	writeJSON(w, http.StatusOK, s.ticketJSON(t))
}

// createArticle is POST /api/v1/ticket_articles. A customer's article on a closed ticket is
// a follow-up: refused when the group wants a new ticket, else it reopens the ticket.
func (s *Server) createArticle(w http.ResponseWriter, r *http.Request, actor int64) {
	var in articleIn
	if !decode(w, r, &in) {
		return
	}
	t := s.ticketOr404(w, strconv.FormatInt(in.TicketID, 10), actor)
	if t == nil {
		return
	}
	if t.State == "merged" {
		writeError(w, http.StatusUnprocessableEntity, "Ticket is merged and can't receive articles.")
		return
	}
	reopen := false
	if t.State == "closed" && !s.isAgent(actor) {
		if s.groups[t.Group] == FollowUpNewTicket {
			writeError(w, http.StatusUnprocessableEntity, "Cannot follow-up on a closed ticket. Please create a new ticket.")
			return
		}
		reopen = true
	}
	a, ok := s.article(w, t, actor, in)
	if !ok {
		return
	}
	if reopen {
		s.setState(t, actor, "open")
	}
	writeJSON(w, http.StatusCreated, a)
	if s.autoHook {
		go s.afterAction(t.ID, a.ID) // a trigger on "article created" fires for the customer's too
	}
}

func (s *Server) visibleArticles(t *Ticket, actor int64) []Article {
	out := []Article{}
	for _, a := range t.Articles {
		if a.Internal && !s.isAgent(actor) {
			continue
		}
		out = append(out, a)
	}
	return out
}

func (s *Server) download(w http.ResponseWriter, ids []string, actor int64) {
	t := s.ticketOr404(w, ids[0], actor)
	if t == nil {
		return
	}
	aid, _ := strconv.ParseInt(ids[1], 10, 64)
	fid, _ := strconv.ParseInt(ids[2], 10, 64)
	for _, a := range t.Articles {
		if a.ID != aid {
			continue
		}
		for _, f := range a.Attachments {
			if f.ID == fid {
				w.Header().Set("Content-Type", f.Preferences["Content-Type"])
				w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", f.Filename))
				w.WriteHeader(http.StatusOK)
				_, _ = w.Write(s.files[fid])
				return
			}
		}
	}
	writeError(w, http.StatusNotFound, "No such attachment")
}

// listLinks is GET /api/v1/links?link_object=Ticket&link_object_value=<id>.
func (s *Server) listLinks(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	id, _ := strconv.ParseInt(q.Get("link_object_value"), 10, 64)
	links := []map[string]any{}
	if q.Get("link_object") == "Ticket" {
		for _, other := range s.links[id] {
			links = append(links, map[string]any{"link_type": "normal", "link_object": "Ticket", "link_object_value": other})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"links": links, "assets": map[string]any{}})
}

func pagination(r *http.Request, def, max int) (page, per int) {
	page, _ = strconv.Atoi(r.URL.Query().Get("page"))
	per, _ = strconv.Atoi(r.URL.Query().Get("per_page"))
	if l, err := strconv.Atoi(r.URL.Query().Get("limit")); err == nil && per == 0 {
		per = l
	}
	if page < 1 {
		page = 1
	}
	if per < 1 {
		per = def
	}
	return page, min(per, max)
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		writeError(w, http.StatusUnprocessableEntity, "Content-Type must be application/json")
		return false
	}
	if err := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxBody)).Decode(v); err != nil {
		writeError(w, http.StatusUnprocessableEntity, "Invalid JSON: "+err.Error())
		return false
	}
	return true
}

// writeError answers as Zammad's ApplicationController::HandlesErrors does.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg, "error_human": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
