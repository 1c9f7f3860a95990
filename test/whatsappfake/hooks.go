package whatsappfake

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// Incoming is a player's message for the fake to deliver by webhook. The fields map to the
// messages webhook's message object; Type defaults to text.
type Incoming struct {
	ID      string // the wamid; empty: the fake makes one
	From    string // wa_id, digits
	Name    string // profile name
	Time    time.Time
	Type    string
	Text    string
	ReplyTo string // context.id
	// Object is the type's object (image, location, reaction, ...) as JSON-ready values,
	// for types other than text.
	Object any
}

// Signature is the X-Hub-Signature-256 of body under secret.
func Signature(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// MessageNotification builds the webhook body of one message, and records that its sender
// wrote (the window opens whether or not the gateway takes the webhook: Meta has the message).
func (s *Server) MessageNotification(in Incoming) (body []byte, id string) {
	s.mu.Lock()
	if in.ID == "" {
		in.ID = s.newIDLocked("wamid")
	}
	if in.Time.IsZero() {
		in.Time = s.now()
	}
	if in.Time.After(s.lastIn[in.From]) {
		s.lastIn[in.From] = in.Time
	}
	s.mu.Unlock()
	if in.Type == "" {
		in.Type = "text"
	}
	msg := map[string]any{"from": in.From, "id": in.ID, "timestamp": strconv.FormatInt(in.Time.Unix(), 10), "type": in.Type}
	if in.Type == "text" {
		msg["text"] = map[string]string{"body": in.Text}
	} else if in.Object != nil {
		msg[in.Type] = in.Object
	}
	if in.ReplyTo != "" {
		msg["context"] = map[string]string{"from": "15550100", "id": in.ReplyTo}
	}
	value := map[string]any{
		"contacts": []any{map[string]any{"profile": map[string]string{"name": in.Name}, "wa_id": in.From}},
		"messages": []any{msg},
	}
	return s.notification(value), in.ID
}

// StatusNotification builds the webhook body of a status of the sent message wamid: sent,
// delivered, read, or failed with errorCode (0: none) and its title.
func (s *Server) StatusNotification(wamid, to, status string, errorCode int, title string) []byte {
	st := map[string]any{"id": wamid, "status": status, "timestamp": strconv.FormatInt(s.now().Unix(), 10), "recipient_id": to}
	if status == "failed" {
		st["errors"] = []any{map[string]any{"code": errorCode, "title": title, "message": title,
			"error_data": map[string]string{"details": title}}}
	}
	return s.notification(map[string]any{"statuses": []any{st}})
}

// notification wraps a change value into the whole webhook body.
func (s *Server) notification(value map[string]any) []byte {
	value["messaging_product"] = "whatsapp"
	value["metadata"] = map[string]string{"display_phone_number": "15550100", "phone_number_id": s.opt.PhoneNumberID}
	body, err := json.Marshal(map[string]any{
		"object": "whatsapp_business_account",
		"entry": []any{map[string]any{"id": "102290129340398",
			"changes": []any{map[string]any{"field": "messages", "value": value}}}},
	})
	if err != nil {
		panic("whatsappfake: notification does not marshal: " + err.Error())
	}
	return body
}

// Post sends body to the webhook once, signed with the app secret, and returns the status
// answered. ids are the message and status IDs the body carries: a 200 marks them handed over.
func (s *Server) Post(ctx context.Context, body []byte, ids ...string) (int, error) {
	return s.post(ctx, body, Signature(s.opt.AppSecret, body), ids)
}

// PostForged sends body signed with another secret, as someone who does not have the app
// secret would.
func (s *Server) PostForged(ctx context.Context, body []byte) (int, error) {
	return s.post(ctx, body, Signature("not-the-app-secret", body), nil)
}

func (s *Server) post(ctx context.Context, body []byte, signature string, ids []string) (int, error) {
	s.mu.Lock()
	url := s.hookURL
	for _, id := range ids {
		s.attempts[id]++
	}
	s.mu.Unlock()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Hub-Signature-256", signature)
	req.Header.Set("User-Agent", "facebookexternalua")
	resp, err := s.opt.Client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode == http.StatusOK {
		s.mu.Lock()
		for _, id := range ids {
			s.acked[id] = true
		}
		s.mu.Unlock()
	}
	return resp.StatusCode, nil
}

// Deliver posts body until the webhook answers 200, as Meta retries a notification, waiting
// a little longer after each refusal; it gives up when ctx ends.
func (s *Server) Deliver(ctx context.Context, body []byte, ids ...string) error {
	wait := 20 * time.Millisecond
	for {
		status, err := s.Post(ctx, body, ids...)
		if err == nil && status == http.StatusOK {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("webhook not accepted (last: %d, %v): %w", status, err, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}

// Acknowledged reports whether a notification carrying id was answered 200.
func (s *Server) Acknowledged(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.acked[id]
}

// Attempts counts the webhook POSTs that carried id.
func (s *Server) Attempts(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts[id]
}

// Verify makes Meta's verification request with token and challenge and returns the status
// and body of the answer.
func (s *Server) Verify(ctx context.Context, mode, token, challenge string) (int, string, error) {
	s.mu.Lock()
	u := s.hookURL
	s.mu.Unlock()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, "", err
	}
	q := req.URL.Query()
	q.Set("hub.mode", mode)
	q.Set("hub.verify_token", token)
	q.Set("hub.challenge", challenge)
	req.URL.RawQuery = q.Encode()
	resp, err := s.opt.Client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode, string(b), nil
}
