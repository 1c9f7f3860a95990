package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/casino-support/gateway/connectors"
)

// maxAnswer caps how much of the operator's answer is read.
const maxAnswer = 1 << 20

// send POSTs ev signed, with key as Idempotency-Key, and decodes a 2xx answer into out when
// it has a JSON body (an empty one leaves out unchanged).
//
// Errors: 429 → connectors.RetryAfter (Retry-After seconds or date, default 1s); 408, 5xx,
// network failures and timeouts → plain errors, retried by the router with back-off (the
// idempotency key makes a repeat harmless); any other 4xx → connectors.Permanent, since
// repeating a request the operator refused cannot help.
func (h *Helpdesk) send(ctx context.Context, ev OutEvent, out any) error {
	body, err := json.Marshal(ev)
	if err != nil {
		return connectors.Permanent(fmt.Errorf("encode %s: %w", ev.Event, err))
	}
	return h.sendBody(ctx, ev.Event, ev.ID, body, out)
}

// sendBody is send of an encoded body, event and key its event name and ID.
func (h *Helpdesk) sendBody(ctx context.Context, event, key string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return connectors.Permanent(fmt.Errorf("build request: %w", connectors.RedactURLError(err)))
	}
	now := h.now()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderEvent, event)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(HeaderSignature, Sign(h.secret, now, body))
	req.Header.Set(HeaderIdempotencyKey, key)
	if h.cfg.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, h.cfg.Timeout)
		defer cancel()
		req = req.WithContext(ctx)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		// It names method and URL; the URL's query may hold the operator's API key.
		return connectors.RedactURLError(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return connectors.HTTPStatusError(resp, h.now())
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return fmt.Errorf("read answer (HTTP %d): %w", resp.StatusCode, err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decode answer (HTTP %d): %w", resp.StatusCode, err)
	}
	return nil
}
