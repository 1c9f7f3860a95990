package zendesk

import (
	"encoding/json"
	"strconv"
)

// The parts of Zendesk's JSON the connector reads and writes (Support API v2; see
// testdata/zendesk-openapi.yaml for the schemas they follow).

type ticket struct {
	ID           int64         `json:"id,omitempty"`
	ExternalID   string        `json:"external_id,omitempty"`
	Subject      string        `json:"subject,omitempty"`
	Status       string        `json:"status,omitempty"`
	Priority     string        `json:"priority,omitempty"`
	RequesterID  int64         `json:"requester_id,omitempty"`
	GroupID      int64         `json:"group_id,omitempty"`
	BrandID      int64         `json:"brand_id,omitempty"`
	Tags         []string      `json:"tags,omitempty"`
	CustomFields []customField `json:"custom_fields,omitempty"`
	Comment      *comment      `json:"comment,omitempty"`
	// ViaFollowupSourceID, on creation, links the new ticket to a closed one as its follow-up.
	ViaFollowupSourceID int64  `json:"via_followup_source_id,omitempty"`
	UpdatedAt           string `json:"updated_at,omitempty"`
}

type customField struct {
	ID    int64 `json:"id"`
	Value any   `json:"value"`
}

type comment struct {
	ID       int64    `json:"id,omitempty"`
	Body     string   `json:"body,omitempty"`
	Public   bool     `json:"public"`
	AuthorID int64    `json:"author_id,omitempty"`
	Uploads  []string `json:"uploads,omitempty"`
}

type user struct {
	ID         int64  `json:"id,omitempty"`
	Name       string `json:"name,omitempty"`
	Email      string `json:"email,omitempty"`
	ExternalID string `json:"external_id,omitempty"`
	Role       string `json:"role,omitempty"`
	// SkipVerifyEmail keeps Zendesk from mailing a verification to a player created with
	// an address the gateway already knows.
	SkipVerifyEmail bool `json:"skip_verify_email,omitempty"`
	Verified        bool `json:"verified,omitempty"`
}

// audit is one update of a ticket with its events.
type audit struct {
	ID        int64   `json:"id"`
	TicketID  int64   `json:"ticket_id"`
	AuthorID  int64   `json:"author_id"`
	CreatedAt string  `json:"created_at"`
	Events    []event `json:"events"`
}

// event is one event of an audit: a Comment (with Body, Public, AuthorID, Attachments) or a
// Change of a field (FieldName, Value, PreviousValue); other types are passed over.
type event struct {
	ID            int64        `json:"id"`
	Type          string       `json:"type"`
	AuthorID      int64        `json:"author_id"`
	Body          string       `json:"body"`
	PlainBody     string       `json:"plain_body"`
	Public        bool         `json:"public"`
	Attachments   []attachment `json:"attachments"`
	FieldName     string       `json:"field_name"`
	Value         flexString   `json:"value"`
	PreviousValue flexString   `json:"previous_value"`
}

type attachment struct {
	ID          int64  `json:"id"`
	FileName    string `json:"file_name"`
	ContentURL  string `json:"content_url"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
}

// flexString reads a Change event's value, which is a string, a number, null or, for tags,
// an array.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*f = flexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err == nil {
		*f = flexString(n.String())
		return nil
	}
	*f = "" // null, arrays: not read
	return nil
}

// cursorPage is the meta and links of a cursor-paginated list.
type cursorPage struct {
	Meta struct {
		HasMore     bool   `json:"has_more"`
		AfterCursor string `json:"after_cursor"`
	} `json:"meta"`
	Links struct {
		Next string `json:"next"`
	} `json:"links"`
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
