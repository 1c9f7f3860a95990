package loopback

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/casino-support/gateway/config"
	"github.com/casino-support/gateway/connectors"
)

// remote POSTs JSON to the loopback remotes and turns their answers into the errors the
// router acts on. Channel and Helpdesk share it so both map statuses the same way.
type remote struct {
	client *http.Client
	secret config.Secret
}

func newRemote(client *http.Client, secret config.Secret) remote {
	if client == nil {
		// A request must not hang a delivery worker forever.
		client = &http.Client{Timeout: 30 * time.Second}
	}
	return remote{client: client, secret: secret}
}

// post sends in as JSON with the idempotency key and decodes a 2xx answer into out.
//
// Errors: 429 → connectors.RetryAfter (Retry-After seconds or date, default 1s); 408, 5xx,
// network failures and undecodable 2xx answers → plain errors, which the router retries with
// back-off (the idempotency key makes a repeat harmless); any other 4xx → connectors.Permanent,
// since repeating a request the remote refused cannot help.
func (c remote) post(ctx context.Context, url, idempotencyKey string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return connectors.Permanent(fmt.Errorf("encode request: %w", err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return connectors.Permanent(fmt.Errorf("build request: %w", err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", idempotencyKey)
	if s := c.secret.Value(); s != "" {
		req.Header.Set("Authorization", "Bearer "+s)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return err // already names method and URL
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return connectors.HTTPStatusError(resp, time.Now())
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(out); err != nil {
		return fmt.Errorf("decode answer (HTTP %d): %w", resp.StatusCode, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody)) // lets the connection be reused
	return nil
}
