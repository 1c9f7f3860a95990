package loopback

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// These helpers play a player's app and an agent's ticket system calling the gateway's hooks,
// for tests that drive a running gateway. They return errors rather than retrying, since
// whether and how long to retry is the test's decision.

// HookError is a hook's non-2xx answer.
type HookError struct {
	Status int
	Body   string
}

func (e *HookError) Error() string {
	return fmt.Sprintf("hook answered HTTP %d: %s", e.Status, e.Body)
}

// AgentReply POSTs reply to a loopback helpdesk hook (hookURL is the gateway's
// /hooks/{helpdesk}) and returns a *HookError for a non-2xx answer.
func AgentReply(ctx context.Context, hookURL, secret string, reply Reply) error {
	if err := postHook(ctx, hookURL, secret, reply); err != nil {
		return fmt.Errorf("agent reply %s: %w", reply.ReplyID, err)
	}
	return nil
}

// PlayerSend POSTs msgs as one batch to a loopback channel hook (hookURL is the gateway's
// /hooks/{channel}) and returns a *HookError for a non-2xx answer.
func PlayerSend(ctx context.Context, hookURL, secret string, msgs ...PlayerMessage) error {
	if err := postHook(ctx, hookURL, secret, Inbound{Messages: msgs}); err != nil {
		return fmt.Errorf("player send of %d messages: %w", len(msgs), err)
	}
	return nil
}

func postHook(ctx context.Context, hookURL, secret string, in any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hookURL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if secret != "" {
		req.Header.Set("Authorization", "Bearer "+secret)
	}
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return &HookError{Status: resp.StatusCode, Body: strings.TrimSpace(string(snippet))}
	}
	_, _ = io.Copy(io.Discard, resp.Body) // lets the connection be reused
	return nil
}
