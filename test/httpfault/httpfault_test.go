package httpfault_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/test/httpfault"
)

// remote counts the requests that reached it and answers 200 "ok".
func remote(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var reached atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		reached.Add(1)
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	return srv, &reached
}

func post(ctx context.Context, t *testing.T, c *http.Client, url string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader("body"))
	require.NoError(t, err)
	resp, err := c.Do(req)
	if err == nil {
		t.Cleanup(func() { resp.Body.Close() })
	}
	return resp, err
}

func TestFaults(t *testing.T) {
	tests := []struct {
		name    string
		fault   httpfault.Fault
		status  int  // 0: the request fails
		reaches bool // whether the remote gets the request
		check   func(t *testing.T, resp *http.Response, err error)
	}{
		{name: "status with Retry-After", fault: httpfault.Status(429, "7"), status: 429,
			check: func(t *testing.T, resp *http.Response, _ error) {
				require.Equal(t, "7", resp.Header.Get("Retry-After"))
			}},
		{name: "reset", fault: httpfault.Reset(),
			check: func(t *testing.T, _ *http.Response, err error) { require.ErrorIs(t, err, syscall.ECONNRESET) }},
		{name: "stall", fault: httpfault.Stall(),
			check: func(t *testing.T, _ *http.Response, err error) { require.ErrorIs(t, err, context.DeadlineExceeded) }},
		{name: "answer lost to 502", fault: httpfault.LoseAnswer(502), status: 502, reaches: true},
		{name: "answer lost to a reset", fault: httpfault.LoseAnswer(0), reaches: true,
			check: func(t *testing.T, _ *http.Response, err error) { require.ErrorIs(t, err, syscall.ECONNRESET) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, reached := remote(t)
			client, faults := httpfault.Wrap(srv.Client())
			faults.Next(nil, tt.fault)
			// Only a stall needs the deadline to end it; the others get the time a loaded
			// machine may need to reach the remote.
			timeout := 30 * time.Second
			if tt.fault.Stall {
				timeout = 100 * time.Millisecond
			}
			ctx, cancel := context.WithTimeout(t.Context(), timeout)
			defer cancel()
			resp, err := post(ctx, t, client, srv.URL)
			if tt.status == 0 {
				require.Error(t, err)
			} else {
				require.NoError(t, err)
				require.Equal(t, tt.status, resp.StatusCode)
			}
			if tt.check != nil {
				tt.check(t, resp, err)
			}
			require.Equal(t, tt.reaches, reached.Load() == 1, "whether the request reached the remote")
			require.Equal(t, 1, faults.Injected())

			resp, err = post(t.Context(), t, client, srv.URL)
			require.NoError(t, err, "a fault is injected once")
			require.Equal(t, http.StatusOK, resp.StatusCode)
		})
	}
}

func TestAfterCountsOnlyMatchingRequests(t *testing.T) {
	srv, reached := remote(t)
	client, faults := httpfault.Wrap(srv.Client())
	faults.Body = func(status int, _ string) (string, []byte) { return "application/json", []byte(`{"error":"injected"}`) }
	faults.After(2, func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/messages") }, httpfault.Status(503))
	for _, path := range []string{"/tickets", "/messages", "/lookup", "/messages"} {
		resp, err := post(t.Context(), t, client, srv.URL+path)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, path)
	}
	resp, err := post(t.Context(), t, client, srv.URL+"/messages")
	require.NoError(t, err)
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "the third message")
	body, _ := io.ReadAll(resp.Body)
	require.JSONEq(t, `{"error":"injected"}`, string(body))
	require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	require.EqualValues(t, 4, reached.Load())
	require.Zero(t, faults.Pending())
}
