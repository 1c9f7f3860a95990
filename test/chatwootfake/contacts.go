package chatwootfake

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// The contacts API: search, create, and a contact's inbox by source_id.

func (s *Server) contactJSON(c *Contact) map[string]any {
	inboxes := []any{}
	for _, sid := range c.SourceIDs {
		inboxes = append(inboxes, map[string]any{"source_id": sid, "inbox": map[string]any{"id": s.opts.InboxID, "channel_type": "Channel::Api"}})
	}
	return map[string]any{"id": c.ID, "name": c.Name, "email": nilIfEmpty(c.Email), "identifier": nilIfEmpty(c.Identifier),
		"phone_number": nilIfEmpty(c.PhoneNumber), "contact_inboxes": inboxes, "custom_attributes": map[string]any{},
		"additional_attributes": map[string]any{}, "thumbnail": ""}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// searchContacts matches q against name, e-mail, phone number and identifier, 15 a page, as
// Chatwoot's contacts search does.
func (s *Server) searchContacts(r *http.Request, _ []byte) (int, any) {
	q := strings.ToLower(r.URL.Query().Get("q"))
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	page = max(page, 1)
	var hits []any
	for _, c := range s.contacts {
		for _, f := range []string{c.Name, c.Email, c.PhoneNumber, c.Identifier} {
			if q != "" && strings.Contains(strings.ToLower(f), q) {
				hits = append(hits, s.contactJSON(c))
				break
			}
		}
	}
	const per = 15
	from, to := min((page-1)*per, len(hits)), min(page*per, len(hits))
	return http.StatusOK, map[string]any{"meta": map[string]any{"count": len(hits), "current_page": strconv.Itoa(page)}, "payload": orEmpty(hits[from:to])}
}

func orEmpty(v []any) []any {
	if v == nil {
		return []any{}
	}
	return v
}

func (s *Server) createContact(r *http.Request, body []byte) (int, any) {
	var in struct {
		InboxID     int    `json:"inbox_id"`
		Name        string `json:"name"`
		Email       string `json:"email"`
		Identifier  string `json:"identifier"`
		PhoneNumber string `json:"phone_number"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return http.StatusBadRequest, map[string]any{"error": err.Error()}
	}
	if in.InboxID != s.opts.InboxID {
		return http.StatusNotFound, notFound
	}
	for _, c := range s.contacts {
		if in.Email != "" && strings.EqualFold(c.Email, in.Email) {
			return invalid("Email has already been taken", "email")
		}
		if in.Identifier != "" && c.Identifier == in.Identifier {
			return invalid("Identifier has already been taken", "identifier")
		}
	}
	if in.PhoneNumber != "" && !validPhone(in.PhoneNumber) {
		return invalid("Phone number should be in e164 format", "phone_number")
	}
	c := &Contact{ID: s.id(), Name: in.Name, Email: strings.ToLower(in.Email), Identifier: in.Identifier, PhoneNumber: in.PhoneNumber,
		SourceIDs: []string{randomID()}}
	s.contacts = append(s.contacts, c)
	return http.StatusOK, map[string]any{"payload": map[string]any{"contact": s.contactJSON(c),
		"contact_inbox": map[string]any{"source_id": c.SourceIDs[0], "inbox": map[string]any{"id": s.opts.InboxID}}}}
}

func validPhone(p string) bool {
	if len(p) < 8 || len(p) > 16 || p[0] != '+' || p[1] == '0' {
		return false
	}
	for _, r := range p[1:] {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func (s *Server) contact(id int) *Contact {
	for _, c := range s.contacts {
		if c.ID == id {
			return c
		}
	}
	return nil
}

// createContactInbox answers the contact inbox of source_id, creating it when new (Chatwoot's
// ContactInboxBuilder finds an existing one by source_id).
func (s *Server) createContactInbox(r *http.Request, body []byte) (int, any) {
	c := s.contact(pathID(r))
	if c == nil {
		return http.StatusNotFound, notFound
	}
	var in struct {
		InboxID  int    `json:"inbox_id"`
		SourceID string `json:"source_id"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return http.StatusBadRequest, map[string]any{"error": err.Error()}
	}
	if in.InboxID != s.opts.InboxID {
		return http.StatusNotFound, notFound
	}
	if in.SourceID == "" {
		in.SourceID = randomID()
	}
	for _, o := range s.contacts {
		if o != c && slices.Contains(o.SourceIDs, in.SourceID) {
			return invalid("Source has already been taken", "source_id")
		}
	}
	if !slices.Contains(c.SourceIDs, in.SourceID) {
		c.SourceIDs = append(c.SourceIDs, in.SourceID)
	}
	return http.StatusOK, map[string]any{"source_id": in.SourceID, "inbox": map[string]any{"id": s.opts.InboxID, "channel_type": "Channel::Api"}}
}
