package zammad

import (
	"encoding/json"
	"strconv"
	"strings"
)

// The parts of Zammad's JSON the connector reads and writes (REST API v1, with expand=true
// where association names are wanted).

// ticket is a ticket as read; attrs holds every key, for the custom attributes.
type ticket struct {
	ID        int64  `json:"id"`
	Number    string `json:"number"`
	Title     string `json:"title"`
	State     string `json:"state"`
	UpdatedAt string `json:"updated_at"`
	attrs     map[string]json.RawMessage
}

func (t *ticket) UnmarshalJSON(b []byte) error {
	type plain ticket
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*t = ticket(p)
	return json.Unmarshal(b, &t.attrs)
}

// attr returns a custom attribute's value as text ("" when absent or null).
func (t ticket) attr(name string) string {
	raw, ok := t.attrs[name]
	if !ok {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return ""
}

// articleOut is an article as written: on a new ticket (without TicketID) or on its own.
type articleOut struct {
	TicketID    int64     `json:"ticket_id,omitempty"`
	Subject     string    `json:"subject,omitempty"`
	Body        string    `json:"body"`
	ContentType string    `json:"content_type"`
	Type        string    `json:"type"`
	Sender      string    `json:"sender"`
	Internal    bool      `json:"internal"`
	OriginByID  int64     `json:"origin_by_id,omitempty"`
	Attachments []fileOut `json:"attachments,omitempty"`
}

type fileOut struct {
	Filename string `json:"filename"`
	Data     string `json:"data"` // base64
	MimeType string `json:"mime-type"`
}

// article is an article as read.
type article struct {
	ID          int64        `json:"id"`
	TicketID    int64        `json:"ticket_id"`
	Type        string       `json:"type"`
	Sender      string       `json:"sender"`
	Body        string       `json:"body"`
	ContentType string       `json:"content_type"`
	Internal    bool         `json:"internal"`
	CreatedByID int64        `json:"created_by_id"`
	CreatedAt   string       `json:"created_at"`
	Attachments []attachment `json:"attachments"`
}

type attachment struct {
	ID          int64             `json:"id"`
	Filename    string            `json:"filename"`
	Preferences map[string]string `json:"preferences"`
}

func (a attachment) mediaType() string {
	for _, k := range []string{"Content-Type", "Mime-Type"} {
		if v := a.Preferences[k]; v != "" {
			return v
		}
	}
	return "application/octet-stream"
}

// history is one entry of GET /api/v1/ticket_history/{id}.
type history struct {
	ID          int64  `json:"id"`
	Type        string `json:"type"`
	Object      string `json:"object"`
	Attribute   string `json:"attribute"`
	ValueFrom   string `json:"value_from"`
	ValueTo     string `json:"value_to"`
	IDTo        *int64 `json:"id_to"`
	CreatedByID int64  `json:"created_by_id"`
	CreatedAt   string `json:"created_at"`
}

type user struct {
	ID        int64    `json:"id,omitempty"`
	Login     string   `json:"login,omitempty"`
	Firstname string   `json:"firstname,omitempty"`
	Lastname  string   `json:"lastname,omitempty"`
	Email     string   `json:"email,omitempty"`
	Note      string   `json:"note,omitempty"`
	Roles     []string `json:"roles,omitempty"`
}

func (u user) name() string {
	if n := strings.TrimSpace(u.Firstname + " " + u.Lastname); n != "" {
		return n
	}
	return u.Login
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
