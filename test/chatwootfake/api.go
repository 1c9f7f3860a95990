package chatwootfake

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// maxBody caps a request the fake reads: its tests' files are small.
const maxBody = 64 << 20

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	base := fmt.Sprintf("/api/v1/accounts/%d", s.opts.AccountID)
	mux.HandleFunc("GET "+base+"/contacts/search", s.api(s.searchContacts))
	mux.HandleFunc("POST "+base+"/contacts", s.api(s.createContact))
	mux.HandleFunc("POST "+base+"/contacts/{id}/contact_inboxes", s.api(s.createContactInbox))
	mux.HandleFunc("GET "+base+"/contacts/{id}/conversations", s.api(s.contactConversations))
	mux.HandleFunc("POST "+base+"/conversations", s.api(s.createConversation))
	mux.HandleFunc("GET "+base+"/conversations", s.api(s.listConversations))
	mux.HandleFunc("GET "+base+"/conversations/{id}", s.api(s.showConversation))
	mux.HandleFunc("GET "+base+"/conversations/{id}/messages", s.api(s.listMessages))
	mux.HandleFunc("POST "+base+"/conversations/{id}/messages", s.api(s.createMessage))
	mux.HandleFunc("POST "+base+"/conversations/{id}/labels", s.api(s.setLabels))
	mux.HandleFunc("POST "+base+"/conversations/{id}/custom_attributes", s.api(s.setCustomAttributes))
	mux.HandleFunc("POST "+base+"/conversations/{id}/toggle_priority", s.api(s.togglePriority))
	mux.HandleFunc("POST "+base+"/conversations/{id}/toggle_status", s.api(s.toggleStatus))
	mux.HandleFunc("GET /rails/active_storage/blobs/{id}/{name}", s.serveFile)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]any{"error": "Resource could not be found"})
	})
	return mux
}

// apiHandler handles an authenticated API request with the lock held; it returns the status
// and the JSON answer.
type apiHandler func(r *http.Request, body []byte) (int, any)

// api checks the token and the rate limit, then runs h under the lock.
func (s *Server) api(h apiHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			writeJSON(w, http.StatusRequestEntityTooLarge, map[string]any{"error": err.Error()})
			return
		}
		s.mu.Lock()
		s.requests = append(s.requests, r.Method+" "+r.URL.Path)
		if r.Header.Get("api_access_token") != s.opts.Token {
			s.mu.Unlock()
			writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "Invalid Access Token"})
			return
		}
		if !s.allow(w) {
			s.throttled++
			s.mu.Unlock()
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = io.WriteString(w, "Retry later\n")
			return
		}
		status, out := h(r, body)
		held := s.held[r]
		delete(s.held, r)
		s.mu.Unlock()
		if held {
			select {
			case <-s.release:
			case <-r.Context().Done(): // the client is gone: it never hears the answer
				return
			}
		}
		writeJSON(w, status, out)
	}
}

// allow counts a request against the rate limit and sets its headers.
func (s *Server) allow(w http.ResponseWriter) bool {
	if s.opts.RateLimit <= 0 {
		return true
	}
	now := time.Now()
	if now.Sub(s.window) >= s.opts.RateWindow {
		s.window, s.used = now, 0
	}
	reset := s.window.Add(s.opts.RateWindow)
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(s.opts.RateLimit))
	// Seconds to the window's end, rounded up (the RateLimit-Reset draft's form): Unix seconds
	// would round a short test window's end down into the past.
	h.Set("X-RateLimit-Reset", strconv.Itoa(max(1, int(math.Ceil(time.Until(reset).Seconds())))))
	if s.used >= s.opts.RateLimit {
		h.Set("X-RateLimit-Remaining", "0")
		h.Set("Retry-After", strconv.Itoa(max(1, int(time.Until(reset).Seconds()+0.999))))
		return false
	}
	s.used++
	h.Set("X-RateLimit-Remaining", strconv.Itoa(s.opts.RateLimit-s.used))
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}

var notFound = map[string]any{"error": "Resource could not be found"}

func invalid(msg string, attrs ...string) (int, any) {
	return http.StatusUnprocessableEntity, map[string]any{"message": msg, "attributes": attrs}
}

func pathID(r *http.Request) int {
	n, _ := strconv.Atoi(r.PathValue("id"))
	return n
}

func (s *Server) contactConversations(r *http.Request, _ []byte) (int, any) {
	id := pathID(r)
	if s.contact(id) == nil {
		return http.StatusNotFound, notFound
	}
	var out []any
	for _, cid := range s.sortedConversations() {
		if c := s.conversations[cid]; c.ContactID == id {
			out = append(out, s.conversationJSON(c))
		}
	}
	return http.StatusOK, map[string]any{"payload": orEmpty(out)}
}

func (s *Server) sortedConversations() []int {
	ids := make([]int, 0, len(s.conversations))
	for id := range s.conversations {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func (s *Server) conversationJSON(c *Conversation) map[string]any {
	// No timestamp: the description says a string, Chatwoot answers Unix seconds, and the
	// connector reads neither (testdata/chatwoot-openapi.yaml notes the deviation).
	return map[string]any{"id": c.ID, "account_id": s.opts.AccountID, "inbox_id": s.opts.InboxID, "status": c.Status,
		"priority": nilIfEmpty(c.Priority), "labels": orEmptyStrings(c.Labels), "custom_attributes": c.CustomAttributes,
		"additional_attributes": c.AdditionalAttributes, "can_reply": true, "channel": "Channel::Api",
		"contact_inbox": map[string]any{"source_id": c.SourceID, "contact_id": c.ContactID, "inbox_id": s.opts.InboxID},
		"meta":          map[string]any{"sender": map[string]any{"id": c.ContactID, "type": "contact"}, "assignee": assigneeJSON(c.Assignee)},
		"unread_count":  0, "updated_at": float64(c.UpdatedAt.UnixMicro()) / 1e6, "last_activity_at": c.lastActivity().Unix()}
}

// lastActivity is when the conversation last had a message or a change.
func (c *Conversation) lastActivity() time.Time {
	at := c.UpdatedAt
	if n := len(c.Messages); n > 0 && c.Messages[n-1].CreatedAt.After(at) {
		at = c.Messages[n-1].CreatedAt
	}
	return at
}

// listConversations lists the conversations of ?inbox_id= (every one without it) with
// ?status= (open by default, all for every status), 25 a page, the most recently active
// first, inside {"data": {"meta": ..., "payload": [...]}} as Chatwoot answers.
func (s *Server) listConversations(r *http.Request, _ []byte) (int, any) {
	q := r.URL.Query()
	status := q.Get("status")
	if status == "" {
		status = "open"
	}
	inbox, _ := strconv.Atoi(q.Get("inbox_id"))
	page, _ := strconv.Atoi(q.Get("page"))
	page = max(page, 1)
	var convs []*Conversation
	for _, c := range s.conversations {
		if (inbox == 0 || inbox == s.opts.InboxID) && (status == "all" || status == c.Status) {
			convs = append(convs, c)
		}
	}
	slices.SortFunc(convs, func(a, b *Conversation) int {
		if d := b.lastActivity().Compare(a.lastActivity()); d != 0 {
			return d
		}
		return b.ID - a.ID
	})
	const per = 25
	from, to := min((page-1)*per, len(convs)), min(page*per, len(convs))
	out := []any{}
	for _, c := range convs[from:to] {
		out = append(out, s.conversationJSON(c))
	}
	return http.StatusOK, map[string]any{"data": map[string]any{"meta": map[string]any{"all_count": len(convs)}, "payload": out}}
}

func orEmptyStrings(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

func (s *Server) createConversation(r *http.Request, body []byte) (int, any) {
	var in struct {
		SourceID             string         `json:"source_id"`
		InboxID              int            `json:"inbox_id"`
		ContactID            int            `json:"contact_id"`
		Status               string         `json:"status"`
		CustomAttributes     map[string]any `json:"custom_attributes"`
		AdditionalAttributes map[string]any `json:"additional_attributes"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return http.StatusBadRequest, map[string]any{"error": err.Error()}
	}
	if in.InboxID != s.opts.InboxID {
		return http.StatusNotFound, notFound
	}
	c := s.contact(in.ContactID)
	if c == nil || !slices.Contains(c.SourceIDs, in.SourceID) {
		return http.StatusNotFound, notFound // ContactInbox.find_by!(source_id)
	}
	if in.Status == "" {
		in.Status = "open"
	}
	if _, ok := map[string]bool{"open": true, "resolved": true, "pending": true}[in.Status]; !ok {
		return invalid("'"+in.Status+"' is not a valid status", "status")
	}
	conv := &Conversation{ID: s.id(), ContactID: c.ID, SourceID: in.SourceID, Status: in.Status, UpdatedAt: time.Now(),
		CustomAttributes: orEmptyMap(in.CustomAttributes), AdditionalAttributes: orEmptyMap(in.AdditionalAttributes)}
	s.conversations[conv.ID] = conv
	return http.StatusOK, s.conversationJSON(conv)
}

func orEmptyMap(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

func (s *Server) showConversation(r *http.Request, _ []byte) (int, any) {
	c, ok := s.conversations[pathID(r)]
	if !ok {
		return http.StatusNotFound, notFound
	}
	return http.StatusOK, s.conversationJSON(c)
}

// listMessages lists PageSize messages, oldest first: the newest, or those before ?before=.
func (s *Server) listMessages(r *http.Request, _ []byte) (int, any) {
	c, ok := s.conversations[pathID(r)]
	if !ok {
		return http.StatusNotFound, notFound
	}
	before, _ := strconv.Atoi(r.URL.Query().Get("before"))
	var older []Message
	for _, m := range c.Messages {
		if before == 0 || m.ID < before {
			older = append(older, m)
		}
	}
	older = older[max(0, len(older)-PageSize):]
	out := make([]any, 0, len(older))
	for _, m := range older {
		out = append(out, s.messageJSON(c, m, false))
	}
	return http.StatusOK, map[string]any{"meta": map[string]any{"labels": orEmptyStrings(c.Labels), "contact": map[string]any{"id": c.ContactID}},
		"payload": out}
}

// messageJSON is a message as the REST API answers it (message_type an integer, created_at
// Unix seconds) or, hook true, as a webhook carries it (both strings).
func (s *Server) messageJSON(c *Conversation, m Message, hook bool) map[string]any {
	atts := []any{}
	for _, a := range m.Attachments {
		atts = append(atts, map[string]any{"id": a.ID, "message_id": m.ID, "file_type": a.FileType, "account_id": s.opts.AccountID,
			"extension": nil, "data_url": fmt.Sprintf("%s/rails/active_storage/blobs/%d/%s", s.URL, a.ID, url.PathEscape(a.Name)),
			"thumb_url": "", "file_size": len(a.Content)})
	}
	sender := map[string]any{"id": m.SenderID, "name": m.SenderName, "type": m.SenderType}
	out := map[string]any{"id": m.ID, "content": m.Content, "inbox_id": s.opts.InboxID, "conversation_id": c.ID,
		"message_type": m.Type, "content_type": "text", "private": m.Private, "source_id": nilIfEmpty(m.SourceID),
		"created_at": m.CreatedAt.Unix(), "sender": sender, "attachments": atts, "content_attributes": map[string]any{}}
	if hook {
		out["message_type"] = typeNames[m.Type]
		out["created_at"] = m.CreatedAt.Format(time.RFC3339Nano)
	}
	return out
}

// messageEvent is the message_created webhook of m.
func (s *Server) messageEvent(c *Conversation, m Message) []byte {
	ev := s.messageJSON(c, m, true)
	ev["event"] = "message_created"
	ev["conversation"] = s.conversationJSON(c)
	ev["account"] = map[string]any{"id": s.opts.AccountID, "name": "Casino"}
	ev["inbox"] = map[string]any{"id": s.opts.InboxID, "name": "Gateway"}
	b, _ := json.Marshal(ev)
	return b
}

// createMessage takes JSON, or multipart/form-data with attachments[] files. An incoming
// message reopens a resolved conversation, as Chatwoot does.
func (s *Server) createMessage(r *http.Request, body []byte) (int, any) {
	c, ok := s.conversations[pathID(r)]
	if !ok {
		return http.StatusNotFound, notFound
	}
	var in struct {
		Content     string `json:"content"`
		MessageType string `json:"message_type"`
		Private     bool   `json:"private"`
		SourceID    string `json:"source_id"`
	}
	var files []Attachment
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "multipart/form-data" {
		form, err := multipart.NewReader(strings.NewReader(string(body)), params["boundary"]).ReadForm(maxBody)
		if err != nil {
			return http.StatusBadRequest, map[string]any{"error": err.Error()}
		}
		in.Content = first(form.Value["content"])
		in.MessageType = first(form.Value["message_type"])
		in.Private = first(form.Value["private"]) == "true"
		in.SourceID = first(form.Value["source_id"])
		for _, fh := range form.File["attachments[]"] {
			f, err := fh.Open()
			if err != nil {
				return http.StatusBadRequest, map[string]any{"error": err.Error()}
			}
			b, _ := io.ReadAll(f)
			f.Close()
			typ := fh.Header.Get("Content-Type")
			files = append(files, Attachment{ID: s.id(), Name: fh.Filename, Type: typ, Content: b, FileType: fileType(typ)})
		}
	} else if err := json.Unmarshal(body, &in); err != nil {
		return http.StatusBadRequest, map[string]any{"error": err.Error()}
	}
	if strings.TrimSpace(in.Content) == "" && len(files) == 0 {
		return invalid("Content can't be blank", "content")
	}
	typ := Outgoing
	switch in.MessageType {
	case "incoming":
		typ = Incoming
	case "", "outgoing":
	default:
		return invalid("'"+in.MessageType+"' is not a valid message_type", "message_type")
	}
	m := Message{ID: s.id(), Type: typ, Private: in.Private, Content: in.Content, SourceID: in.SourceID, Attachments: files,
		CreatedAt: time.Now().UTC(), SenderType: "user", SenderID: 1, SenderName: "Gateway"}
	if typ == Incoming {
		m.SenderType, m.SenderID, m.SenderName = "contact", c.ContactID, ""
	}
	c.Messages = append(c.Messages, m)
	if s.holds > 0 {
		s.holds--
		s.held[r] = true
		s.heldCh <- fmt.Sprintf("%s %s (message %d)", r.Method, r.URL.Path, m.ID)
	}
	s.sendAsync(s.messageEvent(c, m))
	if typ == Incoming && c.Status == "resolved" {
		s.sendAsync(s.setStatus(c, "open"))
	}
	return http.StatusOK, s.messageJSON(c, m, false)
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

func (s *Server) setLabels(r *http.Request, body []byte) (int, any) {
	c, ok := s.conversations[pathID(r)]
	if !ok {
		return http.StatusNotFound, notFound
	}
	var in struct {
		Labels []string `json:"labels"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return http.StatusBadRequest, map[string]any{"error": err.Error()}
	}
	c.Labels = slices.Clone(in.Labels) // Chatwoot replaces the labels with those given
	return http.StatusOK, map[string]any{"payload": orEmptyStrings(c.Labels)}
}

func (s *Server) setCustomAttributes(r *http.Request, body []byte) (int, any) {
	c, ok := s.conversations[pathID(r)]
	if !ok {
		return http.StatusNotFound, notFound
	}
	var in struct {
		CustomAttributes map[string]any `json:"custom_attributes"`
	}
	if err := json.Unmarshal(body, &in); err != nil || in.CustomAttributes == nil {
		return invalid("custom_attributes is required", "custom_attributes")
	}
	for k, v := range in.CustomAttributes {
		c.CustomAttributes[k] = v
	}
	return http.StatusOK, map[string]any{"custom_attributes": c.CustomAttributes}
}

func (s *Server) togglePriority(r *http.Request, body []byte) (int, any) {
	c, ok := s.conversations[pathID(r)]
	if !ok {
		return http.StatusNotFound, notFound
	}
	var in struct {
		Priority string `json:"priority"`
	}
	_ = json.Unmarshal(body, &in)
	switch in.Priority {
	case "urgent", "high", "medium", "low":
		c.Priority = in.Priority
	case "none", "":
		c.Priority = ""
	default:
		return invalid("'"+in.Priority+"' is not a valid priority", "priority")
	}
	return http.StatusOK, nil
}

func (s *Server) toggleStatus(r *http.Request, body []byte) (int, any) {
	c, ok := s.conversations[pathID(r)]
	if !ok {
		return http.StatusNotFound, notFound
	}
	var in struct {
		Status string `json:"status"`
	}
	_ = json.Unmarshal(body, &in)
	if _, ok := map[string]bool{"open": true, "resolved": true, "pending": true, "snoozed": true}[in.Status]; !ok {
		return invalid("'"+in.Status+"' is not a valid status", "status")
	}
	if in.Status != c.Status {
		s.sendAsync(s.setStatus(c, in.Status))
	}
	return http.StatusOK, map[string]any{"meta": map[string]any{}, "payload": map[string]any{"success": true, "conversation_id": c.ID, "current_status": c.Status}}
}

// serveFile serves an attachment the way Chatwoot's data_url does: no token, the link is
// the permission.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request) {
	id := pathID(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conversations {
		for _, m := range c.Messages {
			for _, a := range m.Attachments {
				if a.ID == id {
					w.Header().Set("Content-Type", a.Type)
					_, _ = w.Write(a.Content)
					return
				}
			}
		}
	}
	http.NotFound(w, r)
}

func assigneeJSON(a *Agent) any {
	if a == nil {
		return nil
	}
	return map[string]any{"id": a.ID, "name": a.Name, "available_name": a.Name, "type": "user"}
}
