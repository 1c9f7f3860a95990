package zendesk

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

// maxAnswer bounds a JSON answer read from Zendesk; pages of 100 audits stay far below it.
const maxAnswer = 32 << 20

// client makes the REST requests: it authenticates them, spaces them when Zendesk says little
// of the minute's quota is left, and classifies non-2xx answers by connectors.ClassifyStatus,
// a 429 as a RetryAfter error with Zendesk's wait. Only successful answers feed the pacer:
// the wait of a refused request is the caller's to honour (the router waits it before
// posting again, a webhook's sender and the poller come back later on their own), and a hold
// here as well would refuse the router's retry once more when it comes early.
type client struct {
	base  string // without trailing slash
	auth  string // the Authorization header
	http  *http.Client
	pacer *ratelimit.Pacer
	now   func() time.Time
}

func newClient(cfg Config, hc *http.Client, now func() time.Time, m *metrics) *client {
	auth := "Bearer " + cfg.OAuthToken.Value()
	if cfg.OAuthToken.Value() == "" {
		auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(cfg.Email+"/token:"+cfg.Token.Value()))
	}
	// Zendesk announces the minute's quota in X-Rate-Limit and X-Rate-Limit-Remaining and
	// answers 429 with Retry-After past it; the shared pacer reads both.
	p := ratelimit.New(ratelimit.Config{SlowBelow: cfg.SlowBelow, Now: now,
		Headers: ratelimit.Headers{
			Remaining: []string{"X-Rate-Limit-Remaining", "ratelimit-remaining"},
			Limit:     []string{"X-Rate-Limit", "ratelimit-limit"},
			Reset:     []string{"ratelimit-reset"}, // seconds to the window's end, where Zendesk sends it
		},
		Count: func(reason string) { m.paced.WithLabelValues(reason).Inc() }})
	return &client{base: strings.TrimSuffix(cfg.URL, "/"), auth: auth, http: hc, pacer: p, now: now}
}

// do sends method path with the JSON of in (nil: no body) and decodes the answer into out
// (nil: discarded). header adds request headers. The error of a non-2xx answer is classified
// for the router, and says which request failed.
func (c *client) do(ctx context.Context, method, path string, in, out any, header http.Header) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return connectors.Permanent(fmt.Errorf("%s %s: encode: %w", method, path, err))
		}
		body = bytes.NewReader(b)
	}
	req, err := c.request(ctx, method, path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	return c.send(req, out)
}

// upload posts raw content as one file and returns the upload's token.
func (c *client) upload(ctx context.Context, name, mediaType string, content io.Reader, size int64) (string, error) {
	req, err := c.request(ctx, http.MethodPost, "/api/v2/uploads?filename="+url.QueryEscape(name), content)
	if err != nil {
		return "", err
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", mediaType)
	var out struct {
		Upload struct {
			Token string `json:"token"`
		} `json:"upload"`
	}
	if err := c.send(req, &out); err != nil {
		return "", err
	}
	if out.Upload.Token == "" {
		return "", fmt.Errorf("POST /api/v2/uploads: the answer has no upload token")
	}
	return out.Upload.Token, nil
}

// request builds a request to path (relative to base) or to an absolute URL on the
// account's host (a links.next); it never sends the credentials elsewhere.
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
func (c *client) send(req *http.Request, out any) error {
	what := req.Method + " " + req.URL.Path
	if err := c.pacer.Wait(req.Context()); err != nil {
		return fmt.Errorf("zendesk %s: %w", what, err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("zendesk %s: %w", what, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("zendesk %s: %w", what, c.pacer.StatusError(resp))
	}
	c.pacer.Observe(resp)
	if out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer))
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxAnswer)).Decode(out); err != nil {
		// A 2xx whose body is cut off or garbled: the request may have been done; the caller's
		// retry looks before it writes again.
		return fmt.Errorf("zendesk %s: decode the answer: %w", what, err)
	}
	return nil
}

// download opens an attachment's content_url. The credentials go only to the account's own
// host: Zendesk serves public attachment content from other hosts by signed URLs.
func (c *client) download(ctx context.Context, raw string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil {
		return nil, connectors.Permanent(fmt.Errorf("attachment %s: %w", raw, err))
	}
	if c.sameHost(raw) {
		req.Header.Set("Authorization", c.auth)
	}
	if err := c.pacer.Wait(ctx); err != nil {
		return nil, fmt.Errorf("attachment: %w", err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("attachment: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		defer resp.Body.Close()
		return nil, fmt.Errorf("attachment: %w", c.pacer.StatusError(resp))
	}
	c.pacer.Observe(resp)
	return resp, nil
}
