package loopback

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	cases := map[string]time.Duration{
		"7":    7 * time.Second,
		" 2 ":  2 * time.Second,
		"":     defaultRetryAfter,
		"0":    defaultRetryAfter, // zero would retry in a hot loop
		"-3":   defaultRetryAfter,
		"soon": defaultRetryAfter,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		now.Add(-time.Minute).Format(http.TimeFormat):     defaultRetryAfter,
	}
	for header, want := range cases {
		require.Equal(t, want, retryAfter(header, now), "Retry-After %q", header)
	}
}
