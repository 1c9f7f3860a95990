package email

import (
	"crypto/rand"
	"time"

	"github.com/casino-support/gateway/normalize"
)

// The tests of package email_test build the channel through its public API and shorten only
// the waits a test would otherwise sit out in real time.

// SetBackoff sets the first wait after a failed connection or delivery.
func SetBackoff(c *Channel, d time.Duration) { c.backoff = d }

// NewToken returns a fresh thread token, as a conversation the gateway opened has.
func NewToken() normalize.Address { return newToken("test", rand.Text()) }

// ReplyMessageID is the Message-ID the channel gives the reply id.
func ReplyMessageID(c *Channel, id normalize.MessageID) string { return replyMessageID(id, c.domain) }

// NoticeID is the Message-ID of the notice to the player about the mail mailID, from a
// channel whose Message-IDs are of domain.
func NoticeID(mailID, domain string) string { return noticeID(mailID, domain) }
