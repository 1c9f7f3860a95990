// Package ratelimit paces a connector's requests to a remote that limits their rate (Zendesk,
// Freshdesk, Help Scout, Chatwoot behind a gateway), so that the connector slows down before
// the quota runs out rather than after, and pauses for as long as a 429 asked.
//
// Remotes announce their quota in headers of their own naming (X-RateLimit-Remaining,
// X-Rate-Limit-Remaining, X-RateLimit-Remaining-Minute, the RateLimit-* draft), so the names
// are configurable. Below SlowBelow requests left, each request waits its share of the time to
// the window's end; after a 429 (or a 503 with a wait) every request waits what the remote
// asked: the quota is the account's, so other conversations' requests would only be refused
// too. A wait longer than MaxSleep is not slept but returned as a connectors.RetryAfter error,
// so the router reschedules the lane instead of holding it, and a Post's deadline never runs
// out in the pacer.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/casino-support/gateway/connectors"
)

// Headers names the headers a remote announces its quota in; the first present of each list
// counts. Empty lists take the defaults (DefaultHeaders).
type Headers struct {
	// Remaining is how many requests are left in the window.
	Remaining []string
	// Limit is the window's whole quota; with it SlowBelow defaults to a tenth of it.
	Limit []string
	// Reset is when the window ends: Unix seconds, or seconds from now for small values.
	Reset []string
	// RetryAfter is the wait a refused request asked for: seconds or an HTTP date.
	RetryAfter []string
}

// DefaultHeaders covers the names the supported helpdesks use.
var DefaultHeaders = Headers{
	Remaining:  []string{"X-RateLimit-Remaining", "X-Rate-Limit-Remaining", "X-RateLimit-Remaining-Minute", "RateLimit-Remaining"},
	Limit:      []string{"X-RateLimit-Limit", "X-Rate-Limit-Limit", "X-RateLimit-Limit-Minute", "X-RateLimit-Total", "RateLimit-Limit"},
	Reset:      []string{"X-RateLimit-Reset", "X-Rate-Limit-Reset", "RateLimit-Reset"},
	RetryAfter: []string{"Retry-After", "X-RateLimit-Retry-After", "X-Rate-Limit-Retry-After"},
}

// Defaults of Config.
const (
	DefaultWindow   = time.Minute
	DefaultMaxSleep = 5 * time.Second
	// defaultSlowBelow is SlowBelow when neither it nor the limit is known.
	defaultSlowBelow = 10
)

// Reasons a request was held back, passed to Config.Count.
const (
	ReasonQuota      = "quota"       // little quota left: the request waited its share
	ReasonRetryAfter = "retry_after" // the remote refused a request and asked for a wait
	ReasonDeferred   = "deferred"    // the wait was over MaxSleep: returned as RetryAfter
)

// ErrPaced is the cause of the RetryAfter error Wait returns for a wait over MaxSleep.
var ErrPaced = errors.New("the remote's rate limit is used up: waiting for its window")

// Config tunes a Pacer; the zero value works with the defaults.
type Config struct {
	Headers Headers
	// SlowBelow is how many requests left make the pacer spread them over the rest of the
	// window; 0 means a tenth of the announced limit, or 10 without one.
	SlowBelow int
	// Window is taken as the time to the window's end when the remote sends no reset header;
	// 0 means a minute, the usual period.
	Window time.Duration
	// MaxSleep is the longest Wait sleeps; 0 means 5 s.
	MaxSleep time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Count, when set, counts each request held back by reason (a metric).
	Count func(reason string)
}

// Pacer spaces one remote account's requests. It is safe for concurrent use; share one per
// account (one per connector instance), since the quota is the account's.
type Pacer struct {
	cfg Config

	mu   sync.Mutex
	next time.Time // no request before
	why  string    // the reason of next
}

// New returns a pacer with cfg's defaults filled in.
func New(cfg Config) *Pacer {
	d := DefaultHeaders
	h := &cfg.Headers
	for _, f := range []struct{ dst, def *[]string }{
		{&h.Remaining, &d.Remaining}, {&h.Limit, &d.Limit}, {&h.Reset, &d.Reset}, {&h.RetryAfter, &d.RetryAfter},
	} {
		if len(*f.dst) == 0 {
			*f.dst = *f.def
		}
	}
	if cfg.Window <= 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.MaxSleep <= 0 {
		cfg.MaxSleep = DefaultMaxSleep
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Pacer{cfg: cfg}
}

// Wait blocks until the next request may go. A wait over MaxSleep returns at once with a
// connectors.RetryAfter error wrapping ErrPaced; an ended ctx returns its cause.
func (p *Pacer) Wait(ctx context.Context) error {
	p.mu.Lock()
	d, why := p.next.Sub(p.cfg.Now()), p.why
	p.mu.Unlock()
	if d <= 0 {
		return nil
	}
	if d > p.cfg.MaxSleep {
		p.count(ReasonDeferred)
		return connectors.RetryAfter(d, ErrPaced)
	}
	p.count(why)
	if !connectors.Sleep(ctx, d) {
		return context.Cause(ctx)
	}
	return nil
}

// Observe learns the quota from an answer: a 429, or a 503 with a wait, holds every request
// for the wait; a 2xx or other answer with few requests left spaces the next ones.
func (p *Pacer) Observe(resp *http.Response) {
	now := p.cfg.Now()
	if wait, ok := p.RetryAfter(resp.Header); resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable && ok {
		if !ok {
			wait = connectors.DefaultRetryAfter
		}
		p.hold(now.Add(wait), ReasonRetryAfter)
		return
	}
	remaining, ok := headerInt(resp.Header, p.cfg.Headers.Remaining)
	if !ok {
		return
	}
	slowBelow := p.cfg.SlowBelow
	if slowBelow <= 0 {
		slowBelow = defaultSlowBelow
		if limit, ok := headerInt(resp.Header, p.cfg.Headers.Limit); ok && limit > 0 {
			slowBelow = max(limit/10, 1)
		}
	}
	if remaining >= slowBelow {
		return
	}
	// Spread what is left over the rest of the window, so the quota lasts until it ends; with
	// none left, wait for the end.
	p.hold(now.Add(p.resetIn(resp.Header, now)/time.Duration(max(remaining, 0)+1)), ReasonQuota)
}

// RetryAfter returns the wait the answer's headers ask for, by the configured names; ok is
// false when none is there. Connectors pass it to connectors.ClassifyStatus for a remote that
// names it otherwise than Retry-After (Help Scout's X-RateLimit-Retry-After).
func (p *Pacer) RetryAfter(h http.Header) (time.Duration, bool) {
	for _, name := range p.cfg.Headers.RetryAfter {
		if v := strings.TrimSpace(h.Get(name)); v != "" {
			return connectors.ParseRetryAfter(v, p.cfg.Now()), true
		}
	}
	return 0, false
}

// StatusError classifies a non-2xx answer by connectors.ClassifyStatus with the wait of
// RetryAfter, quoting the start of the body: connectors.HTTPStatusError for remotes whose
// wait header may have another name.
func (p *Pacer) StatusError(resp *http.Response) error {
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	err := fmt.Errorf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(snippet)))
	wait, _ := p.RetryAfter(resp.Header)
	return connectors.ClassifyStatus(resp.StatusCode, wait, err)
}

// hold defers every request until at least until.
func (p *Pacer) hold(until time.Time, why string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if until.After(p.next) {
		p.next, p.why = until, why
	}
}

// resetIn is the time to the window's end: a reset header over 10^9 is Unix seconds, a
// smaller one seconds from now; none, or a past one, is the configured Window. Capped at an
// hour, so a broken header cannot stall the connector for longer.
func (p *Pacer) resetIn(h http.Header, now time.Time) time.Duration {
	n, ok := headerInt(h, p.cfg.Headers.Reset)
	switch {
	case !ok || n <= 0:
		return p.cfg.Window
	case n > 1_000_000_000:
		if d := time.Unix(int64(n), 0).Sub(now); d > 0 {
			return min(d, time.Hour)
		}
		return p.cfg.Window
	}
	return min(time.Duration(n)*time.Second, time.Hour)
}

func (p *Pacer) count(reason string) {
	if p.cfg.Count != nil {
		p.cfg.Count(reason)
	}
}

// Transport returns a RoundTripper that waits for p before each request through base (nil:
// http.DefaultTransport) and lets p observe each answer, for a connector's *http.Client.
func (p *Pacer) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{p: p, base: base}
}

type transport struct {
	p    *Pacer
	base http.RoundTripper
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.p.Wait(req.Context()); err != nil {
		if req.Body != nil {
			req.Body.Close() // a RoundTripper must close the body, even on error
		}
		return nil, err
	}
	resp, err := t.base.RoundTrip(req)
	if err == nil {
		t.p.Observe(resp)
	}
	return resp, err
}

func headerInt(h http.Header, names []string) (int, bool) {
	for _, name := range names {
		if v := strings.TrimSpace(h.Get(name)); v != "" {
			if n, err := strconv.Atoi(v); err == nil {
				return n, true
			}
		}
	}
	return 0, false
}
