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

// HTTPStatusError classifies a remote's non-2xx answer for the router by ClassifyStatus,
// with the answer's Retry-After. The error quotes the start of the body, which says what the
// remote refused.
func HTTPStatusError(resp *http.Response, now time.Time) error {
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	err := fmt.Errorf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(snippet)))
	var wait time.Duration
	if h := resp.Header.Get("Retry-After"); h != "" {
		wait = ParseRetryAfter(h, now)
	}
	return ClassifyStatus(resp.StatusCode, wait, err)
}

// ClassifyStatus is the one policy of every connector for a remote's HTTP status (err says
// what the remote answered; retryAfter is the wait the remote asked for, 0 when none):
//
//   - 401, 403: ErrUnauthorized. Credentials get rotated and are fixed without losing
//     messages; the connector is reported not ready meanwhile.
//   - 429: RetryAfter, retryAfter or DefaultRetryAfter; waiting is no failed attempt.
//   - 503: RetryAfter when the remote gave a wait, else back-off.
//   - 408, 425, other 5xx, and a misbehaving 1xx or 3xx: back-off.
//   - 404: permanent and ErrNotFound (the ticket or chat is gone).
//   - any other 4xx: permanent, since repeating a request the remote refused cannot help.
//
// A connector whose protocol gives a status another meaning decides that status itself and
// leaves the rest to this function (Telegram's 403 is a player who blocked the bot).
func ClassifyStatus(status int, retryAfter time.Duration, err error) error {
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return Unauthorized(err)
	case status == http.StatusTooManyRequests:
		if retryAfter <= 0 {
			retryAfter = DefaultRetryAfter
		}
		return RetryAfter(min(retryAfter, MaxRetryAfter), err)
	case status == http.StatusServiceUnavailable && retryAfter > 0:
		return RetryAfter(min(retryAfter, MaxRetryAfter), err)
	case status == http.StatusNotFound:
		return Permanent(fmt.Errorf("%w: %w", ErrNotFound, err))
	case status == http.StatusRequestTimeout || status == http.StatusTooEarly || status >= 500:
		return err
	case status >= 400:
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
