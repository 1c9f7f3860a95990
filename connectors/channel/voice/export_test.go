package voice

import (
	"strings"
	"time"
)

// SetTiming shortens the channel's waits for tests: the sweep of pending records, the first
// wait after a failed download, the grace a finished call gets for its voicemail, and the
// downloads tried before giving up.
func SetTiming(c *Channel, sweep, retryBase, endGrace time.Duration, maxAttempts int) {
	c.sweep, c.retryBase, c.endGrace, c.maxAttempts = sweep, retryBase, endGrace, maxAttempts
}

// SetNow replaces the channel's clock.
func SetNow(c *Channel, now func() time.Time) { c.now = now }

// Running reports whether Run holds its sink, so webhooks and notes reach it.
func Running(c *Channel) bool { return c.sink.Sink() != nil }

// CallContextQuery returns the query the channel puts into its callback URLs for a call.
func CallContextQuery(c *Channel, call, from, to, lang string) string {
	u := c.callbackURL("", caller{call: call, from: from, to: to, lang: lang})
	_, q, _ := strings.Cut(u, "?")
	return "?" + q
}
