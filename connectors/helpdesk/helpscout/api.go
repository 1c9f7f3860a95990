package helpscout

import (
	"html"
	"strconv"
	"strings"

	"github.com/casino-support/gateway/normalize/htmltext"
)

// The parts of Help Scout's JSON (Mailbox API 2.0, HAL) the connector reads and writes; see
// testdata/helpscout-openapi.yaml for the schemas they follow.

type conversation struct {
	ID              int64         `json:"id"`
	Number          int64         `json:"number,omitempty"`
	Subject         string        `json:"subject,omitempty"`
	Status          string        `json:"status,omitempty"`
	MailboxID       int64         `json:"mailboxId,omitempty"`
	Tags            []tag         `json:"tags,omitempty"`
	PrimaryCustomer *customerRef  `json:"primaryCustomer,omitempty"`
	CreatedAt       string        `json:"createdAt,omitempty"`
	UserUpdatedAt   string        `json:"userUpdatedAt,omitempty"`
	CustomFields    []customField `json:"customFields,omitempty"`
}

type tag struct {
	ID  int64  `json:"id,omitempty"`
	Tag string `json:"tag"`
}

type customerRef struct {
	ID        int64  `json:"id,omitempty"`
	Email     string `json:"email,omitempty"`
	FirstName string `json:"firstName,omitempty"`
	LastName  string `json:"lastName,omitempty"`
}

type customField struct {
	ID    int64  `json:"id"`
	Value string `json:"value"`
}

// newThread is a thread the gateway writes: a customer thread or a note.
type newThread struct {
	Type        string       `json:"type,omitempty"` // only inside a new conversation
	Customer    *customerRef `json:"customer,omitempty"`
	Text        string       `json:"text"`
	Attachments []newFile    `json:"attachments,omitempty"`
	Imported    bool         `json:"imported,omitempty"`
}

// newFile is a file sent inline, base64, with the thread that carries it.
type newFile struct {
	FileName string `json:"fileName"`
	MimeType string `json:"mimeType"`
	Data     string `json:"data"`
}

// thread is a thread as Help Scout lists it.
type thread struct {
	ID        int64  `json:"id"`
	Type      string `json:"type"`   // customer, reply, note, lineitem, chat, phone, message, forwardparent, forwardchild
	Status    string `json:"status"` // active, pending, closed, spam, nochange: the conversation's status it set
	State     string `json:"state"`  // published, draft, underreview, hidden
	Body      string `json:"body"`
	CreatedBy struct {
		ID    int64  `json:"id"`
		Type  string `json:"type"` // user or customer
		First string `json:"first"`
		Last  string `json:"last"`
		Email string `json:"email"`
	} `json:"createdBy"`
	Action *struct {
		Type string `json:"type"`
		Text string `json:"text"`
	} `json:"action"`
	CreatedAt string `json:"createdAt"`
	Embedded  struct {
		Attachments []attachment `json:"attachments"`
	} `json:"_embedded"`
}

type attachment struct {
	ID       int64  `json:"id"`
	Filename string `json:"filename"`
	MimeType string `json:"mimeType"`
	Size     int64  `json:"size"`
}

// page is the page block of a HAL list: Help Scout pages are numbered from 1.
type page struct {
	Size          int `json:"size"`
	TotalElements int `json:"totalElements"`
	TotalPages    int `json:"totalPages"`
	Number        int `json:"number"`
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// toHTML is plain text as a thread's text, which Help Scout takes as HTML: escaped, with its
// line breaks kept.
func toHTML(text string) string {
	return strings.ReplaceAll(html.EscapeString(strings.ReplaceAll(text, "\r\n", "\n")), "\n", "<br>")
}

// plain is a thread body's text.
func plain(body string) string {
	if strings.ContainsAny(body, "<&") {
		return strings.TrimSpace(htmltext.Text(body))
	}
	return strings.TrimSpace(body)
}
