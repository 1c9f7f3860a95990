package chatwoot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/ratelimit"
)

// maxErrorBody caps how much of an error answer goes into an error message.
const maxErrorBody = 512

// client speaks Chatwoot's Application API for one account with an access token. It knows
// Chatwoot's JSON shapes, nothing of the gateway's model.
type client struct {
	base  string // https://chat.example.com/api/v1/accounts/{id}, no trailing slash
	token string
	http  *http.Client
	// pace is the account's shared pacer. It learns the quota from 2xx answers only: a 429's
	// Retry-After travels in the error to the router, which waits for that conversation.
	pace *ratelimit.Pacer
	now  func() time.Time
}

// apiError is a non-2xx answer. Chatwoot answers errors as {"error": "..."} (401, 404),
// {"message": "...", "attributes": [...]} (422 of a model validation) or {"errors": [...]}.
type apiError struct {
	Method, Path string
	Status       int
	Body         string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%s %s: HTTP %d: %s", e.Method, e.Path, e.Status, e.Body)
}

// part is one file of a multipart message.
type part struct {
	name, mediaType string
	content         io.Reader
}

// do sends one JSON request (body nil: none) and decodes a 2xx answer into out (nil: drop).
func (c *client) do(ctx context.Context, method, path string, query url.Values, body, out any) error {
	var rd io.Reader
	ctype := ""
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode %s %s: %w", method, path, err)
		}
		rd, ctype = bytes.NewReader(b), "application/json"
	}
	return c.send(ctx, method, path, query, rd, ctype, out)
}

// multipart sends fields and files as multipart/form-data, the way Chatwoot takes a
// message's attachments (attachments[]). The body is streamed, so files are not held whole.
func (c *client) multipart(ctx context.Context, path string, fields map[string]string, files []part, out any) error {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		pw.CloseWithError(writeForm(mw, fields, files))
	}()
	defer pr.Close()
	return c.send(ctx, http.MethodPost, path, nil, pr, mw.FormDataContentType(), out)
}

func writeForm(mw *multipart.Writer, fields map[string]string, files []part) error {
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			return err
		}
	}
	for _, f := range files {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="attachments[]"; filename=%q`, f.name))
		h.Set("Content-Type", f.mediaType)
		w, err := mw.CreatePart(h)
		if err != nil {
			return err
		}
		if _, err := io.Copy(w, f.content); err != nil {
			return fmt.Errorf("attachment %q: %w", f.name, err)
		}
	}
	return mw.Close()
}

// send makes one request after the pacer allows it; any non-2xx answer is an error
// classified by connectors.ClassifyStatus.
func (c *client) send(ctx context.Context, method, path string, query url.Values, body io.Reader, ctype string, out any) error {
	if err := c.pace.Wait(ctx); err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return connectors.RedactURLError(err)
	}
	req.Header.Set("api_access_token", c.token)
	req.Header.Set("Accept", "application/json")
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return connectors.RedactURLError(err)
	}
	defer resp.Body.Close()
	now := c.now()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		ae := &apiError{Method: method, Path: path, Status: resp.StatusCode, Body: strings.TrimSpace(string(b))}
		var wait time.Duration
		if h := resp.Header.Get("Retry-After"); h != "" {
			wait = connectors.ParseRetryAfter(h, now)
		}
		return connectors.ClassifyStatus(resp.StatusCode, wait, ae)
	}
	c.pace.Observe(resp)
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decode %s %s: %w", method, path, err)
	}
	return nil
}

// is reports whether err is an answer with status.
func is(err error, status int) bool {
	var ae *apiError
	return errors.As(err, &ae) && ae.Status == status
}

// The JSON shapes of the Application API the connector reads (swagger/swagger.json of
// chatwoot/chatwoot: contact, conversation, message), with only the fields it uses.

type contact struct {
	ID          int    `json:"id"`
	Name        string `json:"name"`
	Email       string `json:"email"`
	Identifier  string `json:"identifier"`
	PhoneNumber string `json:"phone_number"`
}

type conversation struct {
	ID               int            `json:"id"`
	InboxID          int            `json:"inbox_id"`
	Status           string         `json:"status"`
	CustomAttributes map[string]any `json:"custom_attributes"`
}

type message struct {
	ID             int                `json:"id"`
	Content        string             `json:"content"`
	MessageType    flexType           `json:"message_type"`
	Private        bool               `json:"private"`
	SourceID       string             `json:"source_id"`
	CreatedAt      flexTime           `json:"created_at"`
	Attachments    []attachment       `json:"attachments"`
	Sender         *sender            `json:"sender"`
	Conversation   *eventConversation `json:"conversation"`
	ConversationID int                `json:"conversation_id"`
}

type attachment struct {
	ID        int    `json:"id"`
	FileType  string `json:"file_type"`
	DataURL   string `json:"data_url"`
	FileSize  int64  `json:"file_size"`
	FileName  string `json:"file_name"`
	Extension string `json:"extension"`
}

type sender struct {
	ID    int    `json:"id"`
	Name  string `json:"name"`
	Type  string `json:"type"` // user, agent_bot, contact
	Email string `json:"email"`
}

// flexType decodes message_type, which the REST API answers as an integer (0 incoming,
// 1 outgoing, 2 activity, 3 template) and webhooks as a string.
type flexType string

var messageTypes = []string{"incoming", "outgoing", "activity", "template"}

func (f *flexType) UnmarshalJSON(b []byte) error {
	if n, err := strconv.Atoi(string(b)); err == nil {
		if n >= 0 && n < len(messageTypes) {
			*f = flexType(messageTypes[n])
			return nil
		}
		*f = flexType(strconv.Itoa(n))
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("message_type: %w", err)
	}
	*f = flexType(s)
	return nil
}

// flexTime decodes created_at, which the REST API answers as Unix seconds and webhooks as an
// RFC 3339 string.
type flexTime time.Time

func (f *flexTime) UnmarshalJSON(b []byte) error {
	if n, err := strconv.ParseFloat(string(b), 64); err == nil {
		*f = flexTime(time.Unix(int64(n), 0).UTC())
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil || s == "" {
		return nil // an absent or odd time is no reason to refuse a message
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		*f = flexTime(t.UTC())
	}
	return nil
}
