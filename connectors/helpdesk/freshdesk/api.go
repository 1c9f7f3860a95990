package freshdesk

import (
	"encoding/json"
	"strconv"
)

// The parts of Freshdesk's JSON the connector reads and writes (API v2,
// developers.freshdesk.com/api; see testdata/freshdesk-openapi.yaml for the schemas).

// Freshdesk's ticket statuses, priorities and sources.
const (
	statusOpen     = 2
	statusPending  = 3
	statusResolved = 4
	statusClosed   = 5

	sourceChat = 7
	// conversation sources: 0 a reply, 2 a note.
	convReply = 0
)

type ticket struct {
	ID              int64          `json:"id,omitempty"`
	Subject         string         `json:"subject,omitempty"`
	Description     string         `json:"description,omitempty"`
	DescriptionText string         `json:"description_text,omitempty"`
	Status          int            `json:"status,omitempty"`
	Priority        int            `json:"priority,omitempty"`
	Source          int            `json:"source,omitempty"`
	RequesterID     int64          `json:"requester_id,omitempty"`
	GroupID         int64          `json:"group_id,omitempty"`
	Tags            []string       `json:"tags,omitempty"`
	CustomFields    map[string]any `json:"custom_fields,omitempty"`
	UpdatedAt       string         `json:"updated_at,omitempty"`
	CreatedAt       string         `json:"created_at,omitempty"`
}

type contact struct {
	ID               int64  `json:"id,omitempty"`
	Name             string `json:"name,omitempty"`
	Email            string `json:"email,omitempty"`
	UniqueExternalID string `json:"unique_external_id,omitempty"`
}

// conversation is a reply or note on a ticket.
type conversation struct {
	ID          int64        `json:"id"`
	Body        string       `json:"body"`
	BodyText    string       `json:"body_text"`
	Incoming    bool         `json:"incoming"`
	Private     bool         `json:"private"`
	Source      int          `json:"source"`
	UserID      int64        `json:"user_id"`
	TicketID    int64        `json:"ticket_id"`
	CreatedAt   string       `json:"created_at"`
	Attachments []attachment `json:"attachments"`
}

type attachment struct {
	ID            int64  `json:"id"`
	Name          string `json:"name"`
	ContentType   string `json:"content_type"`
	Size          int64  `json:"size"`
	AttachmentURL string `json:"attachment_url"`
}

type agent struct {
	ID      int64 `json:"id"`
	Contact struct {
		Name  string `json:"name"`
		Email string `json:"email"`
	} `json:"contact"`
}

// apiError is Freshdesk's error body: {"description","errors":[{field,message,code}]} for a
// validation failure, {"code","message"} for others.
type apiError struct {
	Description string `json:"description"`
	Code        string `json:"code"`
	Message     string `json:"message"`
	Errors      []struct {
		Field          string          `json:"field"`
		Message        string          `json:"message"`
		Code           string          `json:"code"`
		AdditionalInfo json.RawMessage `json:"additional_info"`
	} `json:"errors"`
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
