package connectors

import (
	"errors"
	"fmt"
	"time"
)

// ErrPermanent marks failures that retrying cannot fix: a player who blocked the bot, a
// rejected payload, an unknown conversation. The router dead-letters the message at once.
var ErrPermanent = errors.New("permanent failure")

// Permanent wraps err so that errors.Is(err, ErrPermanent) holds.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrPermanent, err)
}

// IsPermanent reports whether err wraps ErrPermanent.
func IsPermanent(err error) bool { return errors.Is(err, ErrPermanent) }

// RetryAfterError asks the caller to wait at least Delay before the next attempt, as a 429
// with Retry-After does. Waiting for it does not count as a failed attempt.
type RetryAfterError struct {
	Delay time.Duration
	Err   error
}

func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("retry after %s: %v", e.Delay, e.Err)
}

func (e *RetryAfterError) Unwrap() error { return e.Err }

// RetryAfter returns an error asking the caller to wait delay before retrying.
func RetryAfter(delay time.Duration, err error) error {
	return &RetryAfterError{Delay: delay, Err: err}
}

// RetryDelay returns the delay a RetryAfterError in err's chain asks for.
func RetryDelay(err error) (time.Duration, bool) {
	var ra *RetryAfterError
	if errors.As(err, &ra) {
		return ra.Delay, true
	}
	return 0, false
}

// ErrTooLarge is wrapped by errors about content over a size limit.
var ErrTooLarge = errors.New("content too large")

// ErrQuota is wrapped by errors about content refused because the gateway's attachment
// storage is full (its total quota is reached). Nothing is wrong with the file, and the same
// file may be taken once retention or an operator frees room; it is kept apart from
// ErrTooLarge so that pages tell the sender the storage is full, not that the file is too big.
var ErrQuota = errors.New("the gateway's attachment storage is full")

// ErrNotFound is wrapped by errors about a conversation, ticket or message that does not exist.
var ErrNotFound = errors.New("not found")

// ErrUnauthorized marks a remote's refusal of the connector's credentials (HTTP 401 or 403):
// nothing is wrong with the message, which goes through once the operator fixes the
// credentials or the remote accepts them again (credentials get rotated). The router retries
// it with back-off, never dead-letters it for that, and reports the connector not ready with
// the reason until a delivery to it succeeds again.
var ErrUnauthorized = errors.New("the remote refused the credentials")

// Unauthorized wraps err so that errors.Is(err, ErrUnauthorized) holds.
func Unauthorized(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrUnauthorized, err)
}

// IsUnauthorized reports whether err wraps ErrUnauthorized.
func IsUnauthorized(err error) bool { return errors.Is(err, ErrUnauthorized) }
