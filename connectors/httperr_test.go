package connectors

import (
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
		status     int
		retryAfter string
		permanent  bool
		wait       time.Duration
	}{
		{http.StatusTooManyRequests, "3", false, 3 * time.Second},
		{http.StatusTooManyRequests, "", false, DefaultRetryAfter},
		{http.StatusRequestTimeout, "", false, 0},
		{http.StatusInternalServerError, "", false, 0},
		{http.StatusServiceUnavailable, "5", false, 0}, // back-off, not Retry-After: only 429 asks to wait
		{http.StatusBadRequest, "", true, 0},
		{http.StatusForbidden, "", true, 0},
		{http.StatusUnprocessableEntity, "", true, 0},
		{http.StatusFound, "", false, 0},
	}
	for _, c := range cases {
		resp := &http.Response{StatusCode: c.status, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(`{"error":"nope"}`))}
		if c.retryAfter != "" {
			resp.Header.Set("Retry-After", c.retryAfter)
		}
		err := HTTPStatusError(resp, time.Now())
		require.ErrorContains(t, err, fmt.Sprintf("HTTP %d", c.status))
		require.ErrorContains(t, err, "nope", "the error quotes what the remote said")
		require.Equal(t, c.permanent, IsPermanent(err), "status %d", c.status)
		wait, ok := RetryDelay(err)
		require.Equal(t, c.wait != 0, ok, "status %d", c.status)
		require.Equal(t, c.wait, wait, "status %d", c.status)
	}
}
