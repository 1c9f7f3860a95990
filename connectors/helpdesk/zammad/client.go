package zammad

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/ratelimit"
)

// maxAnswer bounds a JSON answer read from Zammad; a ticket's articles with their bodies
// stay far below it.
const maxAnswer = 32 << 20

// client makes the REST requests: it authenticates them ("Token token=..."), spaces them
// when a proxy in front of Zammad says little of the quota is left, and classifies non-2xx
// answers by connectors.ClassifyStatus, a 429 as a RetryAfter error with the wait. Only
// successful answers feed the pacer: the wait of a refused request is the caller's to honour
// (the router waits before posting again, the webhook's sender and the poller come back).
type client struct {
	base  string // without trailing slash
	auth  string
	http  *http.Client
	pacer *ratelimit.Pacer
}

func newClient(cfg Config, hc *http.Client, now func() time.Time, m *metrics) *client {
	p := ratelimit.New(ratelimit.Config{SlowBelow: cfg.SlowBelow, Now: now,
		Count: func(reason string) { m.paced.WithLabelValues(reason).Inc() }})
	return &client{base: strings.TrimSuffix(cfg.URL, "/"), auth: "Token token=" + cfg.Token.Value(), http: hc, pacer: p}
}

// do sends method path with the JSON of in (nil: no body) and decodes the answer into out
// (nil: discarded). as, when not 0, is the Zammad user the request acts as (the From
// header: Zammad then checks that user's permissions and records that user as the author).
func (c *client) do(ctx context.Context, method, path string, in, out any, as int64) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return connectors.Permanent(fmt.Errorf("%s %s: encode: %w", method, path, err))
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return connectors.Permanent(fmt.Errorf("%s %s: %w", method, path, err))
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if as != 0 {
		req.Header.Set("From", itoa(as))
	}
	resp, err := c.send(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer))
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxAnswer)).Decode(out); err != nil {
		// A 2xx whose body is cut off or garbled: the write may have been done; the caller's
		// retry looks before it writes again.
		return fmt.Errorf("zammad %s %s: decode the answer: %w", method, req.URL.Path, err)
	}
	return nil
}

// send authenticates req, waits for the pacer and sends it; a non-2xx answer is an error
// carrying Zammad's message ({"error": ...}). The caller closes a returned body.
func (c *client) send(req *http.Request) (*http.Response, error) {
	what := req.Method + " " + req.URL.Path
	req.Header.Set("Authorization", c.auth)
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json")
	}
	if err := c.pacer.Wait(req.Context()); err != nil {
		return nil, fmt.Errorf("zammad %s: %w", what, err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("zammad %s: %w", what, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		defer resp.Body.Close()
		return nil, fmt.Errorf("zammad %s: %w", what, c.pacer.StatusError(resp))
	}
	c.pacer.Observe(resp)
	return resp, nil
}

// download opens an attachment of an article.
func (c *client) download(ctx context.Context, ticket, article, id int64) (*http.Response, error) {
	path := fmt.Sprintf("/api/v1/ticket_attachment/%d/%d/%d", ticket, article, id)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return nil, connectors.Permanent(fmt.Errorf("attachment %s: %w", path, err))
	}
	req.Header.Set("Accept", "*/*")
	return c.send(req)
}

func query(s string) string { return url.QueryEscape(s) }
