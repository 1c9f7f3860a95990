package cloud

import (
	"encoding/json"
	"errors"
	"fmt"
)

// The webhook's JSON, as Meta's webhook reference for the messages field documents it
// (developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages).

// Notification is one webhook POST body.
type Notification struct {
	Object string  `json:"object"`
	Entry  []Entry `json:"entry"`
}

// Entry is one WhatsApp Business Account's changes.
type Entry struct {
	ID      string   `json:"id"`
	Changes []Change `json:"changes"`
}

// Change is one field's news; only "messages" carries messages and statuses.
type Change struct {
	Field string `json:"field"`
	Value Value  `json:"value"`
}

// Value is the content of a messages change.
type Value struct {
	MessagingProduct string       `json:"messaging_product"`
	Metadata         Metadata     `json:"metadata"`
	Contacts         []Contact    `json:"contacts"`
	Messages         []Message    `json:"messages"`
	Statuses         []Status     `json:"statuses"`
	Errors           []ErrorEntry `json:"errors"`
}

// Metadata names the business number the change is for.
type Metadata struct {
	DisplayPhoneNumber string `json:"display_phone_number"`
	PhoneNumberID      string `json:"phone_number_id"`
}

// Contact is a sender's profile.
type Contact struct {
	Profile struct {
		Name string `json:"name"`
	} `json:"profile"`
	WaID string `json:"wa_id"`
}

// Message is one message a player sent.
type Message struct {
	From      string          `json:"from"`
	ID        string          `json:"id"`
	Timestamp string          `json:"timestamp"`
	Type      string          `json:"type"`
	Context   *MessageContext `json:"context"`
	Text      *struct {
		Body string `json:"body"`
	} `json:"text"`
	Image       *Media          `json:"image"`
	Video       *Media          `json:"video"`
	Sticker     *Media          `json:"sticker"`
	Audio       *Media          `json:"audio"`
	Document    *Media          `json:"document"`
	Location    *Location       `json:"location"`
	Contacts    []SharedContact `json:"contacts"`
	Reaction    *Reaction       `json:"reaction"`
	Interactive *Interactive    `json:"interactive"`
	Button      *struct {
		Payload string `json:"payload"`
		Text    string `json:"text"`
	} `json:"button"`
	System *struct {
		Body string `json:"body"`
		Type string `json:"type"`
	} `json:"system"`
	Unsupported *struct {
		Type string `json:"type"`
	} `json:"unsupported"`
	Errors []ErrorEntry `json:"errors"`
}

// MessageContext is what a reply answers (id) or that a message was forwarded.
type MessageContext struct {
	From      string `json:"from"`
	ID        string `json:"id"`
	Forwarded bool   `json:"forwarded"`
}

// Media is an attachment, fetched by its ID.
type Media struct {
	ID       string `json:"id"`
	MIMEType string `json:"mime_type"`
	SHA256   string `json:"sha256"`
	Caption  string `json:"caption"`
	Filename string `json:"filename"`
	Voice    bool   `json:"voice"`
	Animated bool   `json:"animated"`
}

// Location is a shared place.
type Location struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	Name      string  `json:"name"`
	Address   string  `json:"address"`
	URL       string  `json:"url"`
}

// SharedContact is a contact card.
type SharedContact struct {
	Name struct {
		FormattedName string `json:"formatted_name"`
		FirstName     string `json:"first_name"`
		LastName      string `json:"last_name"`
	} `json:"name"`
	Phones []struct {
		Phone string `json:"phone"`
		WaID  string `json:"wa_id"`
		Type  string `json:"type"`
	} `json:"phones"`
}

// Reaction is an emoji put on (or, empty, taken off) a message.
type Reaction struct {
	MessageID string `json:"message_id"`
	Emoji     string `json:"emoji"`
}

// Interactive is a player's answer to buttons or a list the business sent.
type Interactive struct {
	Type        string `json:"type"`
	ButtonReply *struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	} `json:"button_reply"`
	ListReply *struct {
		ID          string `json:"id"`
		Title       string `json:"title"`
		Description string `json:"description"`
	} `json:"list_reply"`
	NFMReply *struct {
		Name string `json:"name"`
		Body string `json:"body"`
	} `json:"nfm_reply"`
}

// Status is news of a message the business sent.
type Status struct {
	ID          string       `json:"id"`
	Status      string       `json:"status"` // sent, delivered, read, failed
	Timestamp   string       `json:"timestamp"`
	RecipientID string       `json:"recipient_id"`
	Errors      []ErrorEntry `json:"errors"`
}

// ErrorEntry is an error the webhook reports.
type ErrorEntry struct {
	Code      int    `json:"code"`
	Title     string `json:"title"`
	Message   string `json:"message"`
	ErrorData struct {
		Details string `json:"details"`
	} `json:"error_data"`
}

func (e ErrorEntry) String() string {
	s := fmt.Sprintf("code %d", e.Code)
	for _, part := range []string{e.Title, e.ErrorData.Details} {
		if part != "" {
			s += ": " + part
		}
	}
	return s
}

// ParseNotification decodes a webhook body. Only WhatsApp Business Account notifications are
// taken; anything else (another product's webhook sent to this URL) is an error.
func ParseNotification(body []byte) (Notification, error) {
	var n Notification
	if err := json.Unmarshal(body, &n); err != nil {
		return Notification{}, fmt.Errorf("malformed notification: %w", err)
	}
	if n.Object != "whatsapp_business_account" {
		return Notification{}, errors.New("not a whatsapp_business_account notification")
	}
	return n, nil
}
