package zendeskfake

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/casino-support/gateway/test/fakehold"
)

// serve answers a request, or holds the answer of a ticket write HoldWrites picked: it is
// done in full, but its answer never comes (the caller dies waiting, or gives up).
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	fakehold.Serve(w, r, &s.mu, &s.holds, s.route, func(r *http.Request) bool {
		return (r.Method == http.MethodPost || r.Method == http.MethodPut) && strings.HasPrefix(r.URL.Path, "/api/v2/tickets")
	})
}

// route routes a request after authentication and the rate limit, as Zendesk does.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	route := r.Method + " " + routeOf(r.URL.Path)
	s.calls[route]++
	if !s.authorized(r) {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "Couldn't authenticate you"})
		return
	}
	if !s.allow(w) {
		return
	}
	p := strings.TrimSuffix(strings.TrimSuffix(r.URL.Path, "/"), ".json")
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	switch {
	case r.Method == http.MethodPost && p == "/api/v2/users/create_or_update":
		s.createOrUpdateUser(w, r)
	case r.Method == http.MethodGet && len(parts) == 4 && parts[2] == "users":
		s.showUser(w, parts[3])
	case r.Method == http.MethodPost && p == "/api/v2/uploads":
		s.upload(w, r)
	case r.Method == http.MethodPost && p == "/api/v2/tickets":
		s.createTicket(w, r)
	case r.Method == http.MethodGet && p == "/api/v2/tickets":
		s.listTickets(w, r)
	case len(parts) == 4 && parts[2] == "tickets" && r.Method == http.MethodGet:
		s.showTicket(w, parts[3])
	case len(parts) == 4 && parts[2] == "tickets" && r.Method == http.MethodPut:
		s.updateTicket(w, r, parts[3])
	case len(parts) == 5 && parts[2] == "tickets" && parts[4] == "comments" && r.Method == http.MethodGet:
		s.listComments(w, r, parts[3])
	case len(parts) == 5 && parts[2] == "tickets" && parts[4] == "audits" && r.Method == http.MethodGet:
		s.listAudits(w, r, parts[3])
	case r.Method == http.MethodGet && p == "/api/v2/incremental/tickets/cursor":
		s.export(w, r)
	case r.Method == http.MethodGet && len(parts) == 3 && parts[0] == "attachments" && parts[1] == "token":
		s.download(w, parts[2])
	default:
		notFound(w)
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

func (s *Server) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	if b, ok := strings.CutPrefix(h, "Bearer "); ok {
		return b == OAuthToken
	}
	if b, ok := strings.CutPrefix(h, "Basic "); ok {
		raw, err := base64.StdEncoding.DecodeString(b)
		return err == nil && string(raw) == Email+"/token:"+Token
	}
	return false
}

// allow counts the request against the minute's quota and sets the rate-limit headers; past
// the quota it answers 429 with Retry-After.
func (s *Server) allow(w http.ResponseWriter) bool {
	if s.limit <= 0 {
		w.Header().Set("X-Rate-Limit", "700")
		w.Header().Set("X-Rate-Limit-Remaining", "699")
		return true
	}
	now := s.now()
	if now.Sub(s.window) >= time.Minute {
		s.window, s.used = now, 0
	}
	w.Header().Set("X-Rate-Limit", strconv.Itoa(s.limit))
	if s.used >= s.limit {
		wait := int(time.Minute-now.Sub(s.window))/int(time.Second) + 1
		w.Header().Set("Retry-After", strconv.Itoa(wait))
		w.Header().Set("X-Rate-Limit-Remaining", "0")
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"error": "APIRateLimitExceeded",
			"description": "Number of allowed API requests per minute exceeded"})
		return false
	}
	s.used++
	w.Header().Set("X-Rate-Limit-Remaining", strconv.Itoa(s.limit-s.used))
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func notFound(w http.ResponseWriter) {
	writeJSON(w, http.StatusNotFound, map[string]any{"error": "RecordNotFound", "description": "Not found"})
}

// invalid is Zendesk's 422 for a record that fails validation.
func invalid(w http.ResponseWriter, field, desc string) {
	writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": "RecordInvalid", "description": "Record validation errors",
		"details": map[string]any{field: []map[string]any{{"description": desc, "error": "InvalidValue"}}}})
}

func badRequest(w http.ResponseWriter, desc string) {
	writeJSON(w, http.StatusBadRequest, map[string]any{"error": "InvalidEndpoint", "description": desc})
}

// badPage is the answer to cursor parameters Zendesk refuses: page[size] over 100, a cursor it
// did not hand out.
func badPage(w http.ResponseWriter) {
	writeJSON(w, http.StatusBadRequest, map[string]any{"error": "InvalidPaginationParameter",
		"description": "page[size] must be between 1 and 100, and page[after] a cursor of this list"})
}

func decode(r *http.Request, v any) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, 10<<20))
	if err != nil {
		return nil, err
	}
	return b, json.Unmarshal(b, v)
}

func (s *Server) createOrUpdateUser(w http.ResponseWriter, r *http.Request) {
	var in struct {
		User struct {
			Name            string `json:"name"`
			Email           string `json:"email"`
			ExternalID      string `json:"external_id"`
			SkipVerifyEmail bool   `json:"skip_verify_email"`
		} `json:"user"`
	}
	if _, err := decode(r, &in); err != nil {
		badRequest(w, "Unparseable JSON: "+err.Error())
		return
	}
	u := in.User
	if u.Name == "" {
		invalid(w, "name", "Name: is too short (minimum one character)")
		return
	}
	if u.Email == "" && u.ExternalID == "" {
		invalid(w, "email", "Email: cannot be blank when external_id is blank")
		return
	}
	for _, have := range s.users {
		if (u.Email != "" && strings.EqualFold(have.Email, u.Email)) || (u.ExternalID != "" && have.ExternalID == u.ExternalID) {
			have.Name = u.Name
			writeJSON(w, http.StatusOK, map[string]any{"user": have})
			return
		}
	}
	id := s.addUser(User{Name: u.Name, Email: strings.ToLower(u.Email), ExternalID: u.ExternalID, Role: "end-user"})
	writeJSON(w, http.StatusCreated, map[string]any{"user": s.users[id]})
}

func (s *Server) showUser(w http.ResponseWriter, raw string) {
	id, _ := strconv.ParseInt(raw, 10, 64)
	u, ok := s.users[id]
	if !ok {
		notFound(w)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": u})
}

func (s *Server) upload(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("filename")
	if name == "" {
		badRequest(w, "filename is required")
		return
	}
	content, err := io.ReadAll(io.LimitReader(r.Body, 50<<20))
	if err != nil {
		badRequest(w, err.Error())
		return
	}
	typ := r.Header.Get("Content-Type")
	a := s.addFile(name, typ, content)
	token := r.URL.Query().Get("token") // adds the file to an existing upload
	if token == "" {
		token = fmt.Sprintf("upl%d", s.id())
	}
	s.uploads[token] = append(s.uploads[token], a)
	writeJSON(w, http.StatusCreated, map[string]any{"upload": map[string]any{"token": token,
		"expires_at": s.now().Add(time.Hour).UTC().Format(time.RFC3339), "attachment": a, "attachments": s.uploads[token]}})
}

// ticketIn is the writable part of a ticket in create and update requests.
type ticketIn struct {
	ExternalID   *string       `json:"external_id"`
	Subject      string        `json:"subject"`
	Status       string        `json:"status"`
	Priority     string        `json:"priority"`
	RequesterID  int64         `json:"requester_id"`
	GroupID      int64         `json:"group_id"`
	BrandID      int64         `json:"brand_id"`
	Tags         []string      `json:"tags"`
	AddTags      []string      `json:"additional_tags"`
	CustomFields []CustomField `json:"custom_fields"`
	FollowupOf   int64         `json:"via_followup_source_id"`
	Comment      *struct {
		Body     string   `json:"body"`
		HTMLBody string   `json:"html_body"`
		Public   *bool    `json:"public"`
		AuthorID int64    `json:"author_id"`
		Uploads  []string `json:"uploads"`
	} `json:"comment"`
}

var priorities = []string{"", "low", "normal", "high", "urgent"}

func (s *Server) createTicket(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Ticket ticketIn `json:"ticket"`
	}
	raw, err := decode(r, &in)
	if err != nil {
		badRequest(w, "Unparseable JSON: "+err.Error())
		return
	}
	key := r.Header.Get("Idempotency-Key")
	sum := sha256.Sum256(raw)
	if key != "" {
		if prev, ok := s.idem[key]; ok {
			if prev.bodySum != sum {
				writeJSON(w, http.StatusBadRequest, map[string]any{"error": "IdempotentRequestError",
					"description": "Request parameters do not match the original request with this idempotency key"})
				return
			}
			w.Header().Set("X-Idempotency-Lookup", "hit")
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(prev.status)
			_, _ = w.Write(prev.body)
			return
		}
		w.Header().Set("X-Idempotency-Lookup", "miss")
	}
	t := in.Ticket
	switch {
	case t.Comment == nil || (strings.TrimSpace(t.Comment.Body) == "" && t.Comment.HTMLBody == ""):
		invalid(w, "description", "Description: cannot be blank")
		return
	case t.RequesterID == 0 || s.users[t.RequesterID] == nil:
		invalid(w, "requester", "Requester: is invalid")
		return
	case !slices.Contains(priorities, t.Priority):
		invalid(w, "priority", "Priority: is not valid")
		return
	}
	if t.FollowupOf != 0 {
		src, ok := s.tickets[t.FollowupOf]
		if !ok || src.Status != "closed" {
			invalid(w, "via_followup_source_id", "Via followup source: must be a closed ticket")
			return
		}
	}
	atts, ok := s.takeUploads(w, t.Comment.Uploads)
	if !ok {
		return
	}
	author := t.Comment.AuthorID
	if author == 0 {
		author = s.apiAgent
	}
	if s.users[author] == nil {
		invalid(w, "comment", "Comment author: is invalid")
		return
	}
	nt := &Ticket{ID: s.id(), Subject: t.Subject, Status: "new", Priority: t.Priority, RequesterID: t.RequesterID,
		Tags: dedupTags(t.Tags), CustomFields: t.CustomFields, CreatedAt: s.stamp(), FollowupIDs: []int64{}}
	if t.ExternalID != nil {
		nt.ExternalID = *t.ExternalID
	}
	if t.GroupID != 0 {
		nt.GroupID = &t.GroupID
	}
	if t.BrandID != 0 {
		nt.BrandID = &t.BrandID
	}
	nt.Via = map[string]any{"channel": "api", "source": map[string]any{"from": map[string]any{}, "to": map[string]any{}, "rel": nil}}
	if t.FollowupOf != 0 {
		nt.ViaFollowupSourceID = &t.FollowupOf
		nt.Via["source"] = map[string]any{"from": map[string]any{"ticket_id": t.FollowupOf}, "to": map[string]any{}, "rel": "follow_up"}
		src := s.tickets[t.FollowupOf]
		src.FollowupIDs = append(src.FollowupIDs, nt.ID)
	}
	if nt.Subject == "" {
		nt.Subject = firstLine(t.Comment.Body)
	}
	s.tickets[nt.ID] = nt
	au := s.newAudit(nt, s.apiAgent)
	au.Events = append(au.Events, map[string]any{"id": s.id(), "type": "Create", "field_name": "status", "value": "new"})
	public := t.Comment.Public == nil || *t.Comment.Public
	s.addComment(nt, &au, author, t.Comment.Body, public, atts)
	s.commit(nt, au)
	body, _ := json.Marshal(map[string]any{"ticket": nt, "audit": au})
	if key != "" {
		s.idem[key] = idemAnswer{bodySum: sum, status: http.StatusCreated, body: body}
	}
	w.Header().Set("Location", fmt.Sprintf("%s/api/v2/tickets/%d.json", s.URL, nt.ID))
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write(body)
}

func (s *Server) takeUploads(w http.ResponseWriter, tokens []string) ([]Attachment, bool) {
	var atts []Attachment
	for _, tok := range tokens {
		a, ok := s.uploads[tok]
		if !ok {
			invalid(w, "uploads", "Uploads: token "+tok+" is invalid or expired")
			return nil, false
		}
		atts = append(atts, a...)
		delete(s.uploads, tok)
	}
	return atts, true
}

func dedupTags(tags []string) []string {
	out := slices.Clone(tags)
	slices.Sort(out)
	out = slices.Compact(out)
	if out == nil {
		out = []string{}
	}
	return out
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}

// listTickets answers GET /api/v2/tickets?external_id=..., offset-paginated as Zendesk does.
func (s *Server) listTickets(w http.ResponseWriter, r *http.Request) {
	ext := r.URL.Query().Get("external_id")
	out := []*Ticket{}
	for _, t := range s.tickets {
		if ext == "" || t.ExternalID == ext {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b *Ticket) int { return int(a.ID - b.ID) })
	writeJSON(w, http.StatusOK, map[string]any{"tickets": out, "next_page": nil, "previous_page": nil, "count": len(out)})
}

func (s *Server) ticketOf(w http.ResponseWriter, raw string) (*Ticket, bool) {
	id, _ := strconv.ParseInt(raw, 10, 64)
	t, ok := s.tickets[id]
	if !ok {
		notFound(w)
	}
	return t, ok
}

func (s *Server) showTicket(w http.ResponseWriter, raw string) {
	if t, ok := s.ticketOf(w, raw); ok {
		writeJSON(w, http.StatusOK, map[string]any{"ticket": t})
	}
}

func (s *Server) updateTicket(w http.ResponseWriter, r *http.Request, raw string) {
	t, ok := s.ticketOf(w, raw)
	if !ok {
		return
	}
	var in struct {
		Ticket ticketIn `json:"ticket"`
	}
	if _, err := decode(r, &in); err != nil {
		badRequest(w, "Unparseable JSON: "+err.Error())
		return
	}
	if t.Status == "closed" {
		invalid(w, "status", "Status: closed prevents ticket update")
		return
	}
	u := in.Ticket
	if !slices.Contains(priorities, u.Priority) {
		invalid(w, "priority", "Priority: is not valid")
		return
	}
	au := s.newAudit(t, s.apiAgent)
	if c := u.Comment; c != nil {
		atts, ok := s.takeUploads(w, c.Uploads)
		if !ok {
			return
		}
		author := c.AuthorID
		if author == 0 {
			author = s.apiAgent
		}
		if s.users[author] == nil {
			invalid(w, "comment", "Comment author: is invalid")
			return
		}
		public := c.Public == nil || *c.Public
		s.addComment(t, &au, author, c.Body, public, atts)
		if s.users[author].Role == "end-user" && (t.Status == "solved" || t.Status == "pending") {
			s.change(t, &au, "status", "open") // a requester's comment reopens the ticket
		}
	}
	if u.Priority != "" && u.Priority != t.Priority {
		au.Events = append(au.Events, map[string]any{"id": s.id(), "type": "Change", "field_name": "priority", "value": u.Priority,
			"previous_value": nullable(t.Priority)})
		t.Priority = u.Priority
	}
	if u.Status != "" && u.Status != t.Status {
		s.change(t, &au, "status", u.Status)
	}
	for _, f := range u.CustomFields {
		i := slices.IndexFunc(t.CustomFields, func(c CustomField) bool { return c.ID == f.ID })
		if i < 0 {
			t.CustomFields = append(t.CustomFields, f)
		} else {
			t.CustomFields[i].Value = f.Value
		}
	}
	if u.Tags != nil {
		t.Tags = dedupTags(u.Tags)
	}
	t.Tags = dedupTags(append(t.Tags, u.AddTags...))
	s.commit(t, au)
	writeJSON(w, http.StatusOK, map[string]any{"ticket": t, "audit": au})
}

// page cuts items by the cursor parameters page[size] (at most 100) and page[after], and
// answers meta and links as Zendesk's cursor pagination does.
func page[T any](s *Server, r *http.Request, items []T) ([]T, map[string]any, map[string]any, bool) {
	size := 100
	if v := r.URL.Query().Get("page[size]"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return nil, nil, nil, false
		}
		size = n
	}
	start := 0
	if after := r.URL.Query().Get("page[after]"); after != "" {
		raw, err := base64.RawURLEncoding.DecodeString(after)
		n, cerr := strconv.Atoi(string(raw))
		if err != nil || cerr != nil || n < 0 || n > len(items) {
			return nil, nil, nil, false
		}
		start = n
	}
	end := min(start+size, len(items))
	more := end < len(items)
	cursor := base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(end)))
	next := any(nil)
	if more {
		q := r.URL.Query()
		q.Set("page[after]", cursor)
		q.Set("page[size]", strconv.Itoa(size))
		next = s.URL + r.URL.Path + "?" + q.Encode()
	}
	meta := map[string]any{"has_more": more, "after_cursor": cursor, "before_cursor": nil}
	links := map[string]any{"next": next, "prev": nil}
	return items[start:end], meta, links, true
}

func (s *Server) listComments(w http.ResponseWriter, r *http.Request, raw string) {
	t, ok := s.ticketOf(w, raw)
	if !ok {
		return
	}
	items, meta, links, ok := page(s, r, t.Comments)
	if !ok {
		badPage(w)
		return
	}
	if items == nil {
		items = []Comment{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"comments": items, "meta": meta, "links": links})
}

func (s *Server) listAudits(w http.ResponseWriter, r *http.Request, raw string) {
	t, ok := s.ticketOf(w, raw)
	if !ok {
		return
	}
	items, meta, links, ok := page(s, r, s.audits[t.ID])
	if !ok {
		badPage(w)
		return
	}
	if items == nil {
		items = []Audit{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"audits": items, "meta": meta, "links": links})
}

// export is the cursor-based incremental ticket export: the tickets changed after the
// cursor (or since start_time), in the order of their last change.
func (s *Server) export(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var after int64
	switch {
	case q.Get("cursor") != "":
		raw, err := base64.RawURLEncoding.DecodeString(q.Get("cursor"))
		n, cerr := strconv.ParseInt(string(raw), 10, 64)
		if err != nil || cerr != nil {
			badRequest(w, "invalid cursor")
			return
		}
		after = n
	case q.Get("start_time") != "":
		secs, err := strconv.ParseInt(q.Get("start_time"), 10, 64)
		if err != nil || time.Unix(secs, 0).After(s.now().Add(-time.Minute)) {
			badRequest(w, "start_time must be more than one minute in the past")
			return
		}
		after = 0 // the fake's history is short: everything is after any start time
	default:
		badRequest(w, "start_time or cursor is required")
		return
	}
	type ch struct {
		seq int64
		t   *Ticket
	}
	var all []ch
	for id, seq := range s.changed {
		if seq > after {
			all = append(all, ch{seq, s.tickets[id]})
		}
	}
	slices.SortFunc(all, func(a, b ch) int { return int(a.seq - b.seq) })
	end := min(len(all), s.ExportPage)
	out := make([]*Ticket, 0, end)
	last := after
	for _, c := range all[:end] {
		out = append(out, c.t)
		last = c.seq
	}
	cursor := base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(last, 10)))
	writeJSON(w, http.StatusOK, map[string]any{"tickets": out, "after_cursor": cursor, "before_cursor": nil,
		"after_url": s.URL + "/api/v2/incremental/tickets/cursor.json?cursor=" + cursor, "end_of_stream": end == len(all)})
}

func (s *Server) download(w http.ResponseWriter, raw string) {
	id, _ := strconv.ParseInt(raw, 10, 64)
	b, ok := s.files[id]
	if !ok {
		notFound(w)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	_, _ = w.Write(b)
}
