package webchat

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Frame types, client → server and server → client. docs/webchat.md describes each.
const (
	typeHello   = "hello"
	typeMessage = "message"
	typeTyping  = "typing"
	typeReceipt = "receipt"
	// typeCallback asks to be called back: a message of its own, acked like one.
	typeCallback = "callback"
	typeWelcome  = "welcome"
	typeAck      = "ack"
	typeError    = "error"
)

// Error codes of error frames and of HTTP error bodies. The page decides what to do by code
// (drop the token, keep the message in the outbox, mark it failed) and shows the message.
const (
	codeBadRequest     = "bad_request"
	codeInvalidToken   = "invalid_token"
	codeInvalidPlayer  = "invalid_player"
	codeHelloFirst     = "hello_first"
	codeEmpty          = "empty"
	codeTooLong        = "too_long"
	codeRateLimited    = "rate_limited"
	codeUnavailable    = "unavailable"
	codeRejected       = "rejected"
	codeNotFound       = "not_found"
	codeTooLarge       = "too_large"
	codeUnsupported    = "unsupported_type"
	codeForbidden      = "forbidden_origin"
	codeTooManyClients = "too_many_connections"
	// codeStorageFull refuses a file the gateway's attachment storage has no room for.
	codeStorageFull = "storage_full"
	// codeInvalidPhone refuses a call-back request whose number is none a call can reach.
	codeInvalidPhone = "invalid_phone"
)

const (
	// maxTextRunes caps one message: longer text is refused with a clear error rather than
	// cut, so the player knows what the agent will see.
	maxTextRunes = 4000
	// maxFrameBytes caps one inbound frame: the longest text, JSON-escaped (up to 6 bytes a
	// character for \uXXXX), plus a token, fits.
	maxFrameBytes = 32 << 10
	// maxClientIDLen bounds the page's own message IDs, which end up in ExternalID.
	maxClientIDLen = 64
	// maxPhoneLen bounds a typed phone number: the longest E.164 number with spaces, dashes
	// and an 00 prefix fits several times over.
	maxPhoneLen = 40
	// maxPreferredTimeRunes bounds the preferred time a frame may carry; connectors/callback
	// keeps at most callback.MaxPreferredTime of it.
	maxPreferredTimeRunes = 200
)

var (
	// clientIDPattern keeps client IDs free of ":" so "<address>:<client_id>" splits at the last one.
	clientIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	// messageIDPattern accepts what normalize.NewMessageID makes, and a little more.
	messageIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	languagePattern  = regexp.MustCompile(`^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,4}$`)
)

// clientFrame is every frame a page sends; Type says which fields matter.
type clientFrame struct {
	Type string `json:"type"`
	// hello
	Token    string `json:"token,omitempty"`
	Player   string `json:"player,omitempty"`
	Language string `json:"language,omitempty"`
	// message
	ClientID string `json:"client_id,omitempty"`
	Text     string `json:"text,omitempty"`
	// receipt
	ID    string `json:"id,omitempty"`
	State string `json:"state,omitempty"`
	// callback (with client_id)
	Phone         string `json:"phone,omitempty"`
	PreferredTime string `json:"preferred_time,omitempty"`
}

// frameError is a refusal the page shows: Code is for the page's logic, Message for the
// player. ClientID names the message it concerns, if any.
type frameError struct {
	Code     string
	Message  string
	ClientID string
}

func (e *frameError) Error() string { return e.Code + ": " + e.Message }

func (e *frameError) frame() errorFrame {
	return errorFrame{Type: typeError, Code: e.Code, Message: e.Message, ClientID: e.ClientID}
}

func badRequest(format string, args ...any) *frameError {
	return &frameError{Code: codeBadRequest, Message: fmt.Sprintf(format, args...)}
}

// parseClientFrame decodes and validates one inbound frame. Whatever it returns without an
// error is safe to act on: a known type, bounded fields, text cleaned of control characters.
func parseClientFrame(data []byte) (clientFrame, *frameError) {
	if len(data) > maxFrameBytes {
		return clientFrame{}, badRequest("frame of %d bytes is over the limit of %d", len(data), maxFrameBytes)
	}
	var f clientFrame
	if err := json.Unmarshal(data, &f); err != nil {
		return clientFrame{}, badRequest("malformed frame: want a JSON object with a type")
	}
	switch f.Type {
	case typeHello:
		if len(f.Token) > maxTokenLen || len(f.Player) > maxTokenLen {
			return clientFrame{}, badRequest("token over %d characters", maxTokenLen)
		}
		if !validLanguage(f.Language) {
			f.Language = "" // a hint only: a strange value must not lock a player out
		}
		return clientFrame{Type: f.Type, Token: f.Token, Player: f.Player, Language: f.Language}, nil
	case typeMessage:
		if !clientIDPattern.MatchString(f.ClientID) {
			return clientFrame{}, badRequest("client_id: want 1 to %d letters, digits, - or _", maxClientIDLen)
		}
		text, ferr := cleanText(f.Text)
		if ferr != nil {
			ferr.ClientID = f.ClientID
			return clientFrame{}, ferr
		}
		if text == "" {
			return clientFrame{}, &frameError{Code: codeEmpty, Message: "The message is empty.", ClientID: f.ClientID}
		}
		return clientFrame{Type: f.Type, ClientID: f.ClientID, Text: text}, nil
	case typeCallback:
		if !clientIDPattern.MatchString(f.ClientID) {
			return clientFrame{}, badRequest("client_id: want 1 to %d letters, digits, - or _", maxClientIDLen)
		}
		number, _ := cleanText(f.Phone)
		if number == "" || len(number) > maxPhoneLen || strings.ContainsAny(number, "\n\t") {
			return clientFrame{}, &frameError{Code: codeInvalidPhone, Message: "Please enter a valid phone number.", ClientID: f.ClientID}
		}
		when, _ := cleanText(f.PreferredTime)
		if utf8.RuneCountInString(when) > maxPreferredTimeRunes {
			return clientFrame{}, &frameError{Code: codeTooLong, ClientID: f.ClientID,
				Message: fmt.Sprintf("The preferred time is too long; the limit is %d characters.", maxPreferredTimeRunes)}
		}
		return clientFrame{Type: f.Type, ClientID: f.ClientID, Phone: number, PreferredTime: when}, nil
	case typeTyping:
		return clientFrame{Type: f.Type}, nil
	case typeReceipt:
		if !messageIDPattern.MatchString(f.ID) {
			return clientFrame{}, badRequest("receipt: id is not a message ID")
		}
		if f.State != "delivered" && f.State != "read" {
			return clientFrame{}, badRequest("receipt: state must be delivered or read")
		}
		return clientFrame{Type: f.Type, ID: f.ID, State: f.State}, nil
	}
	return clientFrame{}, badRequest("unknown frame type %q: want hello, message, callback, typing or receipt", truncate(f.Type, 20))
}

// cleanText normalises line ends, drops control characters other than newline and tab (they
// only confuse helpdesks), trims, and refuses text over maxTextRunes.
func cleanText(s string) (string, *frameError) {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' || (r >= 0x20 && r != 0x7f && !(r >= 0x80 && r < 0xa0)) {
			return r
		}
		if r == '\r' {
			return '\n'
		}
		return -1
	}, s)
	s = strings.TrimSpace(s)
	if n := utf8.RuneCountInString(s); n > maxTextRunes {
		return "", &frameError{Code: codeTooLong,
			Message: fmt.Sprintf("Your message is too long (%d characters); the limit is %d. Please split it.", n, maxTextRunes)}
	}
	return s, nil
}

func validLanguage(tag string) bool {
	return tag == "" || (len(tag) <= 35 && languagePattern.MatchString(tag))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

// Server → client frames.

type welcomeFrame struct {
	Type string `json:"type"`
	// CallbackRequests says the chat takes call-back requests (the page shows the action).
	CallbackRequests bool          `json:"callback_requests,omitempty"`
	Token            string        `json:"token"`
	Visitor          string        `json:"visitor"`
	Title            string        `json:"title"`
	Greeting         string        `json:"greeting"`
	Language         string        `json:"language,omitempty"`
	History          []wireMessage `json:"history"`
	Limits           limits        `json:"limits"`
}

// limits lets the page refuse what the server would refuse before uploading it.
type limits struct {
	TextChars   int      `json:"text_chars"`
	UploadBytes int64    `json:"upload_bytes"`
	UploadTypes []string `json:"upload_types"`
}

type ackFrame struct {
	Type     string `json:"type"`
	ClientID string `json:"client_id"`
	ID       string `json:"id"`
	// Callback, on the ack of a call-back request, is the request as stored: the page shows
	// the number as agents will call it (E.164), not as typed.
	Callback *wireCallback `json:"callback,omitempty"`
}

type messageFrame struct {
	Type string `json:"type"`
	wireMessage
}

type typingFrame struct {
	Type string `json:"type"`
	From string `json:"from"`
}

type errorFrame struct {
	Type     string `json:"type"`
	Code     string `json:"code"`
	Message  string `json:"message"`
	ClientID string `json:"client_id,omitempty"`
}

// encode marshals a server frame; they are plain structs of strings and numbers.
func encode(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("webchat: server frames always marshal: " + err.Error())
	}
	return b
}
