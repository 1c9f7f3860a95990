package helpscout

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/ratelimit"
)

// maxAnswer bounds a JSON answer read from Help Scout; an attachment's data (base64) is the
// largest.
const maxAnswer = 64 << 20

// Outcomes of gateway_helpscout_tokens_total.
const (
	tokenFetched = "fetched"
	tokenRefused = "refused" // Help Scout refused the client credentials
	tokenFailed  = "failed"  // the token endpoint could not be reached or answered 5xx
)

// tokenMargin is how long before its expiry a token is replaced, so no request carries a
// token that expires on the way.
const tokenMargin = time.Minute

// client makes the REST requests: it fetches and refreshes the OAuth2 access token
// (client credentials), spaces requests when Help Scout says little of the minute's quota is
// left, and classifies non-2xx answers by connectors.ClassifyStatus, a 429 as a RetryAfter
// error with Help Scout's X-RateLimit-Retry-After.
type client struct {
	base, tokenURL string
	id, secret     string
	http           *http.Client
	pacer          *ratelimit.Pacer
	now            func() time.Time
	m              *metrics

	mu      sync.Mutex
	token   string
	expires time.Time
}

func newClient(cfg Config, hc *http.Client, now func() time.Time, m *metrics) *client {
	base := strings.TrimSuffix(cfg.URL, "/")
	tokenURL := cfg.TokenURL
	if tokenURL == "" {
		tokenURL = base + "/v2/oauth2/token"
	}
	// Help Scout announces the minute's quota in X-RateLimit-Limit-Minute and
	// X-RateLimit-Remaining-Minute and answers 429 with X-RateLimit-Retry-After: the shared
	// pacer's defaults read them.
	p := ratelimit.New(ratelimit.Config{SlowBelow: cfg.SlowBelow, Now: now,
		Count: func(reason string) { m.paced.WithLabelValues(reason).Inc() }})
	return &client{base: base, tokenURL: tokenURL, id: cfg.ClientID, secret: cfg.ClientSecret.Value(), http: hc, pacer: p, now: now, m: m}
}

// accessToken returns a token valid for a while yet, fetching one when there is none.
func (c *client) accessToken(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != "" && c.now().Before(c.expires.Add(-tokenMargin)) {
		return c.token, nil
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {c.id}, "client_secret": {c.secret}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", connectors.Permanent(fmt.Errorf("helpscout: token request: %w", err))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		c.m.tokens.WithLabelValues(tokenFailed).Inc()
		return "", fmt.Errorf("helpscout: fetch an access token: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		err := c.pacer.StatusError(resp)
		if resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusUnauthorized {
			// Help Scout answers wrong client credentials with 401 (or 400 invalid_client):
			// nothing the gateway can retry its way out of.
			c.m.tokens.WithLabelValues(tokenRefused).Inc()
			return "", fmt.Errorf("helpscout: the client credentials were refused (check client_id and client_secret): %w",
				connectors.ClassifyStatus(http.StatusUnauthorized, 0, err))
		}
		c.m.tokens.WithLabelValues(tokenFailed).Inc()
		return "", fmt.Errorf("helpscout: fetch an access token: %w", err)
	}
	var out struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&out); err != nil || out.AccessToken == "" {
		c.m.tokens.WithLabelValues(tokenFailed).Inc()
		return "", fmt.Errorf("helpscout: the token answer has no access_token (%v)", err)
	}
	c.m.tokens.WithLabelValues(tokenFetched).Inc()
	c.token, c.expires = out.AccessToken, c.now().Add(time.Duration(out.ExpiresIn)*time.Second)
	return c.token, nil
}

// errTokenRefused marks a 401 to a request: the token is dropped for a fresh one.
var errTokenRefused = errors.New("access token refused")

// dropToken forgets token after Help Scout refused it (revoked, or expired early), so the
// next request fetches another.
func (c *client) dropToken(token string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token == token {
		c.token = ""
	}
}

// answer is what a successful request returned besides its body: Help Scout names a created
// resource's ID in the Resource-ID header of its 201.
type answer struct {
	resourceID int64
}

// do sends method path (relative to base, or an absolute URL on the API's host) with the
// JSON of in (nil: no body) and decodes the answer into out (nil: discarded). The error of a
// non-2xx answer is classified for the router and says which request failed.
func (c *client) do(ctx context.Context, method, path string, in, out any) (answer, error) {
	var body []byte
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return answer{}, connectors.Permanent(fmt.Errorf("%s %s: encode: %w", method, path, err))
		}
		body = b
	}
	target := path
	if !strings.HasPrefix(path, "http://") && !strings.HasPrefix(path, "https://") {
		target = c.base + path
	} else if !c.sameHost(path) {
		return answer{}, connectors.Permanent(fmt.Errorf("%s %s: not on the API's host", method, path))
	}
	what := method + " " + strings.SplitN(path, "?", 2)[0]
	token, err := c.accessToken(ctx)
	if err != nil {
		return answer{}, err
	}
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	if err != nil {
		return answer{}, connectors.Permanent(fmt.Errorf("helpscout %s: %w", what, err))
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json; charset=UTF-8")
	}
	a, err := c.send(req, out)
	if errors.Is(err, errTokenRefused) {
		// Help Scout may end a token before its announced expiry (the app's secret was
		// renewed, or the token revoked): the next attempt fetches another, and a 401 with a
		// fresh token as well is the credentials' fault, reported as such.
		c.dropToken(token)
	}
	if err != nil {
		return a, fmt.Errorf("helpscout %s: %w", what, err)
	}
	return a, nil
}

func (c *client) sameHost(raw string) bool {
	u, err := url.Parse(raw)
	b, berr := url.Parse(c.base)
	return err == nil && berr == nil && strings.EqualFold(u.Host, b.Host) && u.Scheme == b.Scheme
}

// send waits for the pacer, sends req and decodes a 2xx answer into out.
func (c *client) send(req *http.Request, out any) (answer, error) {
	if err := c.pacer.Wait(req.Context()); err != nil {
		return answer{}, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		err := c.pacer.StatusError(resp)
		if resp.StatusCode == http.StatusUnauthorized {
			err = fmt.Errorf("%w: %w", errTokenRefused, err)
		}
		return answer{}, err
	}
	c.pacer.Observe(resp)
	a := answer{}
	if id := resp.Header.Get("Resource-ID"); id != "" {
		a.resourceID, _ = strconv.ParseInt(id, 10, 64)
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer))
		return a, nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxAnswer)).Decode(out); err != nil {
		// A 2xx whose body is cut off or garbled: the request may have been done; the caller's
		// retry looks before it writes again.
		return a, fmt.Errorf("decode the answer: %w", err)
	}
	return a, nil
}
