package freshdeskfake

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime"
	"mime/multipart"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/casino-support/gateway/test/fakehold"
)

// maxFiles is Freshdesk's limit of one request's attachments together.
const maxFiles = 20 << 20

// serve answers a request, or holds the answer of a ticket write HoldWrites picked: it is
// done in full, but its answer never comes (the caller dies waiting, or gives up).
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	fakehold.Serve(w, r, &s.mu, &s.holds, s.route, func(r *http.Request) bool {
		return r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/api/v2/tickets")
	})
}

// route routes a request after authentication and the rate limit, as Freshdesk does.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	route := r.Method + " " + routeOf(r.URL.Path)
	s.calls[route]++
	p := strings.TrimSuffix(r.URL.Path, "/")
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	if r.Method == http.MethodGet && len(parts) == 3 && parts[0] == "files" {
		s.download(w, parts[1]) // a signed file-store URL: no credentials
		return
	}
	if !s.authorized(r) {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"code": "invalid_credentials", "message": "You have to be logged in to perform this action."})
		return
	}
	if !s.allow(w) {
		return
	}
	switch {
	case r.Method == http.MethodGet && p == "/api/v2/contacts":
		s.listContacts(w, r)
	case r.Method == http.MethodPost && p == "/api/v2/contacts":
		s.createContact(w, r)
	case r.Method == http.MethodGet && len(parts) == 4 && parts[2] == "agents":
		s.showAgent(w, parts[3])
	case r.Method == http.MethodPost && p == "/api/v2/tickets":
		s.createTicket(w, r)
	case r.Method == http.MethodGet && p == "/api/v2/tickets":
		s.listTickets(w, r)
	case len(parts) == 4 && parts[2] == "tickets" && r.Method == http.MethodGet:
		if t, ok := s.ticketOf(w, parts[3]); ok {
			writeJSON(w, http.StatusOK, t)
		}
	case len(parts) == 4 && parts[2] == "tickets" && r.Method == http.MethodPut:
		s.updateTicket(w, r, parts[3])
	case len(parts) == 5 && parts[2] == "tickets" && parts[4] == "notes" && r.Method == http.MethodPost:
		s.addNote(w, r, parts[3])
	case len(parts) == 5 && parts[2] == "tickets" && parts[4] == "conversations" && r.Method == http.MethodGet:
		s.listConversations(w, r, parts[3])
	default:
		writeJSON(w, http.StatusNotFound, map[string]any{"code": "invalid_url", "message": "The requested URL is not found"})
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
	b, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Basic ")
	if !ok {
		return false
	}
	raw, err := base64.StdEncoding.DecodeString(b)
	return err == nil && string(raw) == APIKey+":X"
}

// allow counts the request against the minute's quota and sets the rate-limit headers; past
// the quota it answers 429 with Retry-After.
func (s *Server) allow(w http.ResponseWriter) bool {
	w.Header().Set("X-RateLimit-Used-CurrentRequest", "1")
	if s.limit <= 0 {
		w.Header().Set("X-RateLimit-Total", "700")
		w.Header().Set("X-RateLimit-Remaining", "699")
		return true
	}
	now := s.now()
	if now.Sub(s.window) >= time.Minute {
		s.window, s.used = now, 0
	}
	w.Header().Set("X-RateLimit-Total", strconv.Itoa(s.limit))
	if s.used >= s.limit {
		wait := int(time.Minute-now.Sub(s.window))/int(time.Second) + 1
		w.Header().Set("Retry-After", strconv.Itoa(wait))
		w.Header().Set("X-RateLimit-Remaining", "0")
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"code": "rate_limit_exceeded",
			"message": fmt.Sprintf("You have exceeded the limit of requests per minute. Retry after %d seconds.", wait)})
		return false
	}
	s.used++
	w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(s.limit-s.used))
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// invalid is Freshdesk's 400 for a request that fails validation.
func invalid(w http.ResponseWriter, field, code, msg string) {
	writeJSON(w, http.StatusBadRequest, map[string]any{"description": "Validation failed",
		"errors": []map[string]any{{"field": field, "message": msg, "code": code}}})
}

func notFound(w http.ResponseWriter) { w.WriteHeader(http.StatusNotFound) } // Freshdesk's 404 has no body

// form is a request's fields, from JSON or multipart/form-data, with its files.
type form struct {
	values map[string][]string
	files  []File
	json   map[string]any
}

func (f form) str(k string) string {
	if v, ok := f.json[k]; ok {
		switch x := v.(type) {
		case string:
			return x
		case float64:
			return strconv.FormatInt(int64(x), 10)
		case bool:
			return strconv.FormatBool(x)
		}
		return ""
	}
	if v := f.values[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func (f form) has(k string) bool {
	_, ok := f.json[k]
	return ok || len(f.values[k]) > 0
}

func (f form) num(k string) (int64, bool) {
	n, err := strconv.ParseInt(f.str(k), 10, 64)
	return n, err == nil
}

func (f form) list(k string) []string {
	if v, ok := f.json[k].([]any); ok {
		var out []string
		for _, x := range v {
			out = append(out, fmt.Sprint(x))
		}
		return out
	}
	return f.values[k+"[]"]
}

func (f form) customFields() map[string]any {
	out := map[string]any{}
	if v, ok := f.json["custom_fields"].(map[string]any); ok {
		return v
	}
	for k, v := range f.values {
		if name, ok := strings.CutPrefix(k, "custom_fields["); ok && len(v) > 0 {
			out[strings.TrimSuffix(name, "]")] = v[0]
		}
	}
	return out
}

// readForm reads a JSON or multipart body; it answers the error itself.
func readForm(w http.ResponseWriter, r *http.Request) (form, bool) {
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/json":
		var m map[string]any
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&m); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"code": "invalid_json", "message": "Request body has invalid json format"})
			return form{}, false
		}
		return form{json: m}, true
	case "multipart/form-data":
		mr := multipart.NewReader(io.LimitReader(r.Body, maxFiles+1<<20), params["boundary"])
		f := form{values: map[string][]string{}}
		var total int64
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				writeJSON(w, http.StatusBadRequest, map[string]any{"code": "invalid_multipart", "message": err.Error()})
				return form{}, false
			}
			b, _ := io.ReadAll(part)
			if part.FileName() != "" {
				if part.FormName() != "attachments[]" {
					invalid(w, part.FormName(), "invalid_value", "It should be attachments[]")
					return form{}, false
				}
				total += int64(len(b))
				f.files = append(f.files, File{Name: part.FileName(), ContentType: part.Header.Get("Content-Type"), Content: b})
				continue
			}
			f.values[part.FormName()] = append(f.values[part.FormName()], string(b))
		}
		if total > maxFiles {
			invalid(w, "attachments", "invalid_size", "The cumulative size of all attachments should not exceed 20 MB")
			return form{}, false
		}
		return f, true
	}
	writeJSON(w, http.StatusUnsupportedMediaType, map[string]any{"code": "invalid_content_type",
		"message": "Content-Type header should have application/json or multipart/form-data"})
	return form{}, false
}

func (s *Server) listContacts(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	out := []Contact{}
	ids := slices.Sorted(maps.Keys(s.contacts))
	for _, id := range ids {
		c := s.contacts[id]
		if c.Deleted {
			continue
		}
		if e := q.Get("email"); e != "" && (c.Email == nil || !strings.EqualFold(*c.Email, e)) {
			continue
		}
		if x := q.Get("unique_external_id"); x != "" && (c.UniqueExternalID == nil || *c.UniqueExternalID != x) {
			continue
		}
		out = append(out, *c)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) createContact(w http.ResponseWriter, r *http.Request) {
	f, ok := readForm(w, r)
	if !ok {
		return
	}
	email, ext := f.str("email"), f.str("unique_external_id")
	switch {
	case f.str("name") == "":
		invalid(w, "name", "missing_field", "It should be a/an String")
		return
	case email == "" && ext == "" && f.str("phone") == "":
		invalid(w, "requester_id", "missing_field", "Please fill at least 1 of email, mobile, phone, twitter_id, unique_external_id fields")
		return
	case email != "" && !strings.Contains(email, "@"):
		invalid(w, "email", "invalid_value", "It should be in the 'valid email address' format")
		return
	}
	for _, c := range s.contacts {
		if (email != "" && c.Email != nil && strings.EqualFold(*c.Email, email)) || (ext != "" && c.UniqueExternalID != nil && *c.UniqueExternalID == ext) {
			field := "email"
			if ext != "" {
				field = "unique_external_id"
			}
			writeJSON(w, http.StatusConflict, map[string]any{"description": "Validation failed", "errors": []map[string]any{{
				"field": field, "additional_info": map[string]any{"user_id": c.ID}, "message": "It should be a unique value", "code": "duplicate_value"}}})
			return
		}
	}
	c := &Contact{ID: s.id(), Name: f.str("name")}
	if email != "" {
		c.Email = &email
	}
	if ext != "" {
		c.UniqueExternalID = &ext
	}
	c.CreatedAt = s.stamp()
	c.UpdatedAt = c.CreatedAt
	s.contacts[c.ID] = c
	writeJSON(w, http.StatusCreated, c)
}

func (s *Server) showAgent(w http.ResponseWriter, raw string) {
	id, _ := strconv.ParseInt(raw, 10, 64)
	a, ok := s.agents[id]
	if !ok {
		notFound(w)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

func (s *Server) requester(id int64) (*Contact, bool) {
	c, ok := s.contacts[id]
	return c, ok && !c.Deleted
}

func (s *Server) createTicket(w http.ResponseWriter, r *http.Request) {
	f, ok := readForm(w, r)
	if !ok {
		return
	}
	rid, _ := f.num("requester_id")
	status, _ := f.num("status")
	priority, _ := f.num("priority")
	source, _ := f.num("source")
	switch {
	case !f.has("requester_id") && !f.has("email") && !f.has("unique_external_id"):
		invalid(w, "requester_id", "missing_field", "Please fill at least 1 of requester_id, phone, email, twitter_id, facebook_id, unique_external_id fields")
		return
	case f.has("requester_id") && func() bool { _, ok := s.requester(rid); return !ok }():
		invalid(w, "requester_id", "invalid_value", "There is no contact matching the given requester_id")
		return
	case strings.TrimSpace(f.str("subject")) == "":
		invalid(w, "subject", "missing_field", "It should be a/an String")
		return
	case f.str("description") == "":
		invalid(w, "description", "missing_field", "It should be a/an String")
		return
	case status < StatusOpen || status > StatusClosed:
		invalid(w, "status", "invalid_value", "It should be one of these values: '2,3,4,5'")
		return
	case priority < 1 || priority > 4:
		invalid(w, "priority", "invalid_value", "It should be one of these values: '1,2,3,4'")
		return
	case f.has("source") && !slices.Contains([]int64{1, 2, 3, 5, 6, 7, 9, 11, 10}, source):
		invalid(w, "source", "invalid_value", "It should be one of these values: '1,2,3,5,6,7,9,11,10'")
		return
	}
	if !f.has("requester_id") {
		invalid(w, "requester_id", "invalid_value", "the fake takes requester_id only")
		return
	}
	t := &Ticket{ID: s.nextTicket(), Subject: f.str("subject"), Description: f.str("description"), Status: int(status),
		Priority: int(priority), Source: int(source), RequesterID: rid, Tags: f.list("tags"), CustomFields: f.customFields(),
		Attachments: []Attachment{}}
	if t.Tags == nil {
		t.Tags = []string{}
	}
	if g, ok := f.num("group_id"); ok {
		t.GroupID = &g
	}
	for _, file := range f.files {
		t.Attachments = append(t.Attachments, s.addFile(file.Name, file.ContentType, file.Content))
	}
	t.DescriptionText = plainText(t.Description)
	t.CreatedAt = s.stamp()
	t.UpdatedAt = t.CreatedAt
	s.tickets[t.ID] = t
	writeJSON(w, http.StatusCreated, t)
}

// nextTicket numbers tickets on their own, as Freshdesk does (#1, #2, ...).
func (s *Server) nextTicket() int64 { return int64(len(s.tickets) + 1) }

func (s *Server) ticketOf(w http.ResponseWriter, raw string) (*Ticket, bool) {
	id, err := strconv.ParseInt(raw, 10, 64)
	t, ok := s.tickets[id]
	if err != nil || !ok {
		notFound(w)
		return nil, false
	}
	return t, true
}

func (s *Server) updateTicket(w http.ResponseWriter, r *http.Request, raw string) {
	t, ok := s.ticketOf(w, raw)
	if !ok {
		return
	}
	f, ok := readForm(w, r)
	if !ok {
		return
	}
	if f.has("status") {
		n, _ := f.num("status")
		if n < StatusOpen || n > StatusClosed {
			invalid(w, "status", "invalid_value", "It should be one of these values: '2,3,4,5'")
			return
		}
		t.Status = int(n)
	}
	if f.has("priority") {
		n, _ := f.num("priority")
		if n < 1 || n > 4 {
			invalid(w, "priority", "invalid_value", "It should be one of these values: '1,2,3,4'")
			return
		}
		t.Priority = int(n)
	}
	for k, v := range f.customFields() {
		t.CustomFields[k] = v
	}
	t.UpdatedAt = s.stamp()
	writeJSON(w, http.StatusOK, t)
}

func (s *Server) addNote(w http.ResponseWriter, r *http.Request, raw string) {
	t, ok := s.ticketOf(w, raw)
	if !ok {
		return
	}
	f, ok := readForm(w, r)
	if !ok {
		return
	}
	if f.str("body") == "" {
		invalid(w, "body", "missing_field", "It should be a/an String")
		return
	}
	user := s.apiAgent
	if f.has("user_id") {
		uid, _ := f.num("user_id")
		_, contact := s.requester(uid)
		if _, agent := s.agents[uid]; !contact && !agent {
			invalid(w, "user_id", "invalid_value", "There is no contact or agent matching the given user_id")
			return
		}
		user = uid
	}
	c := Conversation{Body: f.str("body"), Source: 2, Private: f.str("private") != "false", Incoming: f.str("incoming") == "true", UserID: user}
	for _, file := range f.files {
		c.Attachments = append(c.Attachments, s.addFile(file.Name, file.ContentType, file.Content))
	}
	c = s.addConversation(t, c)
	writeJSON(w, http.StatusCreated, c)
}

// pageOf cuts items to the page asked for (page from 1, per_page up to 100, 30 by default)
// and sets the Link header of the next; false when the parameters are refused (answered).
func pageOf[T any](w http.ResponseWriter, r *http.Request, items []T) ([]T, bool) {
	q := r.URL.Query()
	page, per := 1, 30
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			invalid(w, "page", "invalid_value", "It should be a Positive Integer")
			return nil, false
		}
		page = n
	}
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			invalid(w, "per_page", "invalid_value", "It should be a Positive Integer less than or equal to 100")
			return nil, false
		}
		per = n
	}
	from := min((page-1)*per, len(items))
	to := min(from+per, len(items))
	if to < len(items) {
		next := *r.URL
		q.Set("page", strconv.Itoa(page+1))
		next.RawQuery = q.Encode()
		next.Scheme, next.Host = "http", r.Host
		w.Header().Set("Link", fmt.Sprintf(`<%s>; rel="next"`, next.String()))
	}
	return items[from:to], true
}

func (s *Server) listTickets(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var since time.Time
	if v := q.Get("updated_since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			invalid(w, "updated_since", "invalid_value", "It should be in the 'combined date and time ISO8601' format")
			return
		}
		since = t
	} else {
		since = s.clock.Add(-30 * 24 * time.Hour) // Freshdesk's default: the last 30 days
	}
	if inc := q.Get("include"); inc != "" && inc != "description" && inc != "requester" && inc != "stats" {
		invalid(w, "include", "invalid_value", "It should be one of these values: 'requester,stats,description'")
		return
	}
	var rid int64
	if v := q.Get("requester_id"); v != "" {
		rid, _ = strconv.ParseInt(v, 10, 64)
	}
	var out []Ticket
	for _, t := range s.tickets {
		if rid != 0 && t.RequesterID != rid {
			continue
		}
		if up, _ := time.Parse(time.RFC3339, t.UpdatedAt); up.Before(since) {
			continue
		}
		c := *t
		if q.Get("include") != "description" {
			c.Description, c.DescriptionText = "", "" // lists carry no description unless asked
		}
		out = append(out, c)
	}
	by := q.Get("order_by")
	if by == "" {
		by = "created_at"
	}
	slices.SortFunc(out, func(a, b Ticket) int {
		ka, kb := a.CreatedAt, b.CreatedAt
		if by == "updated_at" {
			ka, kb = a.UpdatedAt, b.UpdatedAt
		}
		if c := strings.Compare(ka, kb); c != 0 {
			return c
		}
		return int(a.ID - b.ID)
	})
	if q.Get("order_type") != "asc" {
		slices.Reverse(out)
	}
	page, ok := pageOf(w, r, out)
	if !ok {
		return
	}
	if page == nil {
		page = []Ticket{}
	}
	writeJSON(w, http.StatusOK, page)
}

func (s *Server) listConversations(w http.ResponseWriter, r *http.Request, raw string) {
	t, ok := s.ticketOf(w, raw)
	if !ok {
		return
	}
	page, ok := pageOf(w, r, t.Conversations)
	if !ok {
		return
	}
	if page == nil {
		page = []Conversation{}
	}
	writeJSON(w, http.StatusOK, page)
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
