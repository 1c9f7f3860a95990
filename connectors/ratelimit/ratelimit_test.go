package ratelimit_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/ratelimit"
)

// clock is a fake time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func answer(status int, headers ...string) *http.Response {
	h := http.Header{}
	for i := 0; i+1 < len(headers); i += 2 {
		h.Set(headers[i], headers[i+1])
	}
	return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(strings.NewReader("slow down"))}
}

// deferredFor returns the wait Wait defers to the router, or 0 when it would let the request
// go or sleep (MaxSleep is an hour in the tests that ask this of small waits).
func deferredFor(t *testing.T, p *ratelimit.Pacer) time.Duration {
	t.Helper()
	err := p.Wait(context.Background())
	if err == nil {
		return 0
	}
	wait, ok := connectors.RetryDelay(err)
	require.True(t, ok, "Wait() = %v, want a RetryAfter error", err)
	require.ErrorIs(t, err, ratelimit.ErrPaced)
	return wait
}

func TestObserveSpacesRequestsBeforeTheQuotaRunsOut(t *testing.T) {
	start := time.Unix(1_800_000_000, 0)
	tests := []struct {
		name    string
		cfg     ratelimit.Config
		headers []string
		want    time.Duration // the wait before the next request
	}{
		{"plenty left", ratelimit.Config{}, []string{"X-RateLimit-Remaining", "500", "X-RateLimit-Limit", "700"}, 0},
		{"a tenth of the limit left, window by reset seconds", ratelimit.Config{},
			[]string{"X-RateLimit-Remaining", "59", "X-RateLimit-Limit", "700", "X-RateLimit-Reset", "30"}, 500 * time.Millisecond},
		{"none left waits for the window's end (Unix seconds)", ratelimit.Config{},
			[]string{"X-Rate-Limit-Remaining", "0", "X-Rate-Limit-Reset", strconv.FormatInt(start.Add(40*time.Second).Unix(), 10)}, 40 * time.Second},
		{"Help Scout's minute headers, default window", ratelimit.Config{},
			[]string{"X-RateLimit-Remaining-Minute", "3", "X-RateLimit-Limit-Minute", "200"}, 15 * time.Second},
		{"configured names and threshold", ratelimit.Config{SlowBelow: 100, Headers: ratelimit.Headers{Remaining: []string{"X-Quota-Left"}}},
			[]string{"X-Quota-Left", "99", "X-RateLimit-Remaining", "0"}, 600 * time.Millisecond},
		{"a past reset is taken as the window", ratelimit.Config{Window: 10 * time.Second},
			[]string{"X-RateLimit-Remaining", "0", "X-RateLimit-Reset", strconv.FormatInt(start.Add(-time.Second).Unix(), 10)}, 10 * time.Second},
		{"an absurd reset is capped at an hour", ratelimit.Config{},
			[]string{"X-RateLimit-Remaining", "0", "X-RateLimit-Reset", "999999"}, time.Hour},
		{"no quota headers", ratelimit.Config{}, nil, 0},
		{"429 without Retry-After", ratelimit.Config{}, []string{":status", "429"}, connectors.DefaultRetryAfter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &clock{t: start}
			cfg := tt.cfg
			cfg.Now, cfg.MaxSleep = c.Now, time.Millisecond // every wait is deferred, so it can be read
			p := ratelimit.New(cfg)
			status := http.StatusOK
			if len(tt.headers) == 2 && tt.headers[0] == ":status" {
				status, _ = strconv.Atoi(tt.headers[1])
				tt.headers = nil
			}
			p.Observe(answer(status, tt.headers...))
			require.Equal(t, tt.want, deferredFor(t, p))
			c.Add(tt.want)
			require.Zero(t, deferredFor(t, p), "once the wait passed, the request goes")
		})
	}
}

func TestRetryAfterHoldsEveryRequest(t *testing.T) {
	start := time.Unix(1_800_000_000, 0)
	tests := []struct {
		name    string
		status  int
		headers []string
		want    time.Duration
	}{
		{"429 seconds", 429, []string{"Retry-After", "7"}, 7 * time.Second},
		{"429 HTTP date", 429, []string{"Retry-After", start.Add(90 * time.Second).UTC().Format(http.TimeFormat)}, 90 * time.Second},
		{"429 Help Scout's header", 429, []string{"X-RateLimit-Retry-After", "12"}, 12 * time.Second},
		{"503 with a wait", 503, []string{"Retry-After", "3"}, 3 * time.Second},
		{"503 without a wait is the router's back-off", 503, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &clock{t: start}
			p := ratelimit.New(ratelimit.Config{Now: c.Now, MaxSleep: time.Millisecond})
			p.Observe(answer(tt.status, tt.headers...))
			require.Equal(t, tt.want, deferredFor(t, p))
			err := p.StatusError(answer(tt.status, tt.headers...))
			if tt.want > 0 {
				wait, ok := connectors.RetryDelay(err)
				require.True(t, ok, "StatusError() = %v must carry the wait", err)
				require.Equal(t, tt.want, wait)
			}
			require.Contains(t, err.Error(), "slow down", "the error quotes the remote's answer")
		})
	}
}

func TestWaitSleepsShortWaitsAndStopsWithItsContext(t *testing.T) {
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	var counted []string
	p := ratelimit.New(ratelimit.Config{Now: c.Now, Count: func(r string) { counted = append(counted, r) }})
	p.Observe(answer(http.StatusOK, "X-RateLimit-Remaining", "1", "X-RateLimit-Reset", "4")) // 2 s: slept, not deferred
	ctx, cancel := context.WithCancelCause(context.Background())
	stop := errors.New("shutting down")
	cancel(stop)
	require.ErrorIs(t, p.Wait(ctx), stop, "a wait within MaxSleep sleeps, and gives up with its context")
	require.Equal(t, []string{ratelimit.ReasonQuota}, counted)
}

func TestTransportPacesAClient(t *testing.T) {
	var calls int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	t.Cleanup(srv.Close)
	p := ratelimit.New(ratelimit.Config{})
	client := &http.Client{Transport: p.Transport(nil)}
	resp, err := client.Get(srv.URL)
	require.NoError(t, err)
	resp.Body.Close()
	_, err = client.Get(srv.URL)
	wait, ok := connectors.RetryDelay(err)
	require.True(t, ok, "the second request must not go out while the remote asked to wait: %v", err)
	require.InDelta(t, 30*time.Second, wait, float64(time.Second))
	require.Equal(t, 1, calls, "the paced request never reached the remote")
}
