package connectors

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DefaultRetryAfter is the wait for a 429 without a usable Retry-After: a wait of zero would
// retry in a hot loop.
const DefaultRetryAfter = time.Second

// MaxRetryAfter bounds what a Retry-After can ask for. Seconds beyond it would overflow a
// Duration into a negative wait, and the router waits at most its back-off cap anyway.
const MaxRetryAfter = 24 * time.Hour

// HTTPStatusError classifies a remote's non-2xx answer for the router: 429 waits for its
// Retry-After, 408 and 5xx (and misbehaving 1xx/3xx) are retried with back-off, any other 4xx
// is permanent. The error quotes the start of the body, which says what the remote refused.
func HTTPStatusError(resp *http.Response, now time.Time) error {
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	err := fmt.Errorf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(snippet)))
	switch code := resp.StatusCode; {
	case code == http.StatusTooManyRequests:
		return RetryAfter(ParseRetryAfter(resp.Header.Get("Retry-After"), now), err)
	case code == http.StatusRequestTimeout || code >= 500:
		return err
	case code >= 400:
		return Permanent(err)
	default: // 1xx and unfollowed 3xx: the remote misbehaves, perhaps briefly
		return err
	}
}

// ParseRetryAfter reads a Retry-After header (delay seconds or an HTTP date). A missing,
// invalid, zero or past value yields DefaultRetryAfter; a longer one than MaxRetryAfter, that.
func ParseRetryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if secs, err := strconv.Atoi(h); err == nil {
		if secs > 0 {
			return time.Duration(min(secs, int(MaxRetryAfter/time.Second))) * time.Second
		}
		return DefaultRetryAfter
	}
	if at, err := http.ParseTime(h); err == nil {
		if d := at.Sub(now); d > 0 {
			return min(d, MaxRetryAfter)
		}
	}
	return DefaultRetryAfter
}
