package freshdesk

import (
	"bytes"
	"context"
	"encoding/base64"
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

// maxAnswer bounds a JSON answer read from Freshdesk; pages of 100 tickets stay far below it.
const maxAnswer = 32 << 20

// client makes the REST requests: it authenticates them, spaces them when Freshdesk says
// little of the minute's quota is left (X-RateLimit-Total, X-RateLimit-Remaining), and
// classifies non-2xx answers by connectors.ClassifyStatus, a 429 as a RetryAfter error with
// Freshdesk's wait. As in the Zendesk connector only successful answers feed the pacer: the
// wait of a refused request is the caller's to honour (the router waits it before posting
// again), and a hold here as well would refuse the router's retry once more.
type client struct {
	base  string // without trailing slash
	auth  string // the Authorization header
	http  *http.Client
	pacer *ratelimit.Pacer
}

func newClient(cfg Config, hc *http.Client, now func() time.Time, m *metrics) *client {
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(cfg.APIKey.Value()+":X"))
	p := ratelimit.New(ratelimit.Config{SlowBelow: cfg.SlowBelow, Now: now,
		Headers: ratelimit.Headers{
			Remaining: []string{"X-RateLimit-Remaining"},
			Limit:     []string{"X-RateLimit-Total"},
		},
		Count: func(reason string) { m.paced.WithLabelValues(reason).Inc() }})
	return &client{base: strings.TrimSuffix(cfg.URL, "/"), auth: auth, http: hc, pacer: p}
}

// do sends method path with the JSON of in (nil: no body) and decodes the answer into out
// (nil: discarded). It returns the answer's headers (for a list's Link). The error of a
// non-2xx answer is classified for the router and says which request failed.
func (c *client) do(ctx context.Context, method, path string, in, out any) (http.Header, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, connectors.Permanent(fmt.Errorf("%s %s: encode: %w", method, path, err))
		}
		body = bytes.NewReader(b)
	}
	req, err := c.request(ctx, method, path, body)
	if err != nil {
		return nil, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return c.send(req, out)
}

// doMultipart sends a multipart/form-data body (files as attachments[]); contentType carries
// the boundary. body is built anew by open on each call, so a retry re-reads the files.
func (c *client) doMultipart(ctx context.Context, method, path, contentType string, body io.Reader, out any) error {
	req, err := c.request(ctx, method, path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", contentType)
	_, err = c.send(req, out)
	return err
}

// request builds a request to path (relative to base) or to an absolute URL on the
// account's host (a Link next page); it never sends the credentials elsewhere.
func (c *client) request(ctx context.Context, method, path string, body io.Reader) (*http.Request, error) {
	target := path
	if !strings.HasPrefix(path, "http://") && !strings.HasPrefix(path, "https://") {
		target = c.base + path
	} else if !c.sameHost(path) {
		return nil, connectors.Permanent(fmt.Errorf("%s %s: not on the account's host", method, path))
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, connectors.Permanent(fmt.Errorf("%s %s: %w", method, path, err))
	}
	req.Header.Set("Authorization", c.auth)
	req.Header.Set("Accept", "application/json")
	return req, nil
}

func (c *client) sameHost(raw string) bool {
	u, err := url.Parse(raw)
	b, berr := url.Parse(c.base)
	return err == nil && berr == nil && strings.EqualFold(u.Host, b.Host) && u.Scheme == b.Scheme
}

// send waits for the pacer, sends req and decodes a 2xx answer into out.
func (c *client) send(req *http.Request, out any) (http.Header, error) {
	what := req.Method + " " + req.URL.Path
	if err := c.pacer.Wait(req.Context()); err != nil {
		return nil, fmt.Errorf("freshdesk %s: %w", what, err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("freshdesk %s: %w", what, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.Header, fmt.Errorf("freshdesk %s: %w", what, c.pacer.StatusError(resp))
	}
	c.pacer.Observe(resp)
	if out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer))
		return resp.Header, nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxAnswer)).Decode(out); err != nil {
		// A 2xx whose body is cut off or garbled: the request may have been done; the caller's
		// retry looks before it writes again.
		return resp.Header, fmt.Errorf("freshdesk %s: decode the answer: %w", what, err)
	}
	return resp.Header, nil
}

// nextPage is the URL of a list's next page from its Link header
// (`<https://x.freshdesk.com/api/v2/...&page=2>; rel="next"`), "" on the last page.
func nextPage(h http.Header) string {
	for _, link := range h.Values("Link") {
		for part := range strings.SplitSeq(link, ",") {
			target, params, ok := strings.Cut(part, ";")
			if ok && strings.Contains(strings.ReplaceAll(params, " ", ""), `rel="next"`) {
				return strings.Trim(strings.TrimSpace(target), "<>")
			}
		}
	}
	return ""
}

// download opens an attachment's attachment_url. Freshdesk serves them from signed URLs on
// its file store: the credentials go only to the account's own host.
func (c *client) download(ctx context.Context, raw string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil {
		return nil, connectors.Permanent(fmt.Errorf("attachment %s: %w", raw, err))
	}
	if c.sameHost(raw) {
		req.Header.Set("Authorization", c.auth)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("attachment: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		defer resp.Body.Close()
		return nil, fmt.Errorf("attachment: %w", c.pacer.StatusError(resp))
	}
	return resp, nil
}
