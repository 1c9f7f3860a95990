package telegram

import (
	"time"

	"golang.org/x/time/rate"
)

// The conformance harness (package telegram_test) builds the channel through its public API
// and shortens only the waits a test would otherwise sit out in real time.

// SetBackoff sets the first wait after a failed poll or delivery, so that a redelivery after
// the suite's failing sink takes milliseconds.
func SetBackoff(c *Channel, d time.Duration) { c.backoff = d }

// SetChatInterval paces messages to one chat one per d instead of Telegram's one a second,
// so that the suite's replies to one player do not wait seconds; send_test.go checks the
// production pacing.
func SetChatInterval(c *Channel, d time.Duration) { c.perChat = newChatLimiters(rate.Every(d), 1) }
