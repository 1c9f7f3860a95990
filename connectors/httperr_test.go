package connectors

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	cases := map[string]time.Duration{
		"7":    7 * time.Second,
		" 2 ":  2 * time.Second,
		"":     DefaultRetryAfter,
		"0":    DefaultRetryAfter, // zero would retry in a hot loop
		"-3":   DefaultRetryAfter,
		"soon": DefaultRetryAfter,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		now.Add(-time.Minute).Format(http.TimeFormat):     DefaultRetryAfter,
		"9999999999":           MaxRetryAfter,     // would overflow into a negative wait
		"99999999999999999999": DefaultRetryAfter, // not an int: unusable
		now.AddDate(5, 0, 0).Format(http.TimeFormat): MaxRetryAfter,
	}
	for header, want := range cases {
		require.Equal(t, want, ParseRetryAfter(header, now), "Retry-After %q", header)
	}
}

func TestHTTPStatusError(t *testing.T) {
	cases := []struct {
		status       int
		retryAfter   string
		permanent    bool
		unauthorized bool
		notFound     bool
		wait         time.Duration
	}{
		{status: http.StatusTooManyRequests, retryAfter: "3", wait: 3 * time.Second},
		{status: http.StatusTooManyRequests, wait: DefaultRetryAfter},
		{status: http.StatusServiceUnavailable, retryAfter: "5", wait: 5 * time.Second},
		{status: http.StatusServiceUnavailable},                     // no wait given: back-off
		{status: http.StatusServiceUnavailable, retryAfter: "soon"}, // unusable: back-off at least 1s
		{status: http.StatusRequestTimeout},
		{status: http.StatusTooEarly},
		{status: http.StatusInternalServerError},
		{status: http.StatusBadGateway},
		{status: http.StatusUnauthorized, unauthorized: true},
		{status: http.StatusForbidden, unauthorized: true},
		{status: http.StatusNotFound, permanent: true, notFound: true},
		{status: http.StatusBadRequest, permanent: true},
		{status: http.StatusConflict, permanent: true},
		{status: http.StatusUnprocessableEntity, permanent: true},
		{status: http.StatusFound},
	}
	for _, c := range cases {
		resp := &http.Response{StatusCode: c.status, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(`{"error":"nope"}`))}
		if c.retryAfter != "" {
			resp.Header.Set("Retry-After", c.retryAfter)
		}
		err := HTTPStatusError(resp, time.Now())
		name := fmt.Sprintf("status %d, Retry-After %q", c.status, c.retryAfter)
		require.ErrorContains(t, err, fmt.Sprintf("HTTP %d", c.status))
		require.ErrorContains(t, err, "nope", "the error quotes what the remote said")
		require.Equal(t, c.permanent, IsPermanent(err), name)
		require.Equal(t, c.unauthorized, IsUnauthorized(err), name)
		require.Equal(t, c.notFound, errors.Is(err, ErrNotFound), name)
		wait, ok := RetryDelay(err)
		if c.retryAfter == "soon" {
			// An unusable header still asks for a wait: the default, never zero.
			require.True(t, ok, name)
			require.Equal(t, DefaultRetryAfter, wait, name)
			continue
		}
		require.Equal(t, c.wait != 0, ok, name)
		require.Equal(t, c.wait, wait, name)
	}
}
