package inbox

import (
	"fmt"
	"github.com/casino-support/gateway/normalize"
	"time"
)

// slaState is where a conversation stands against the first-response SLA.
type slaState string

const (
	slaAnswered slaState = "answered" // nothing waits for an agent
	slaOK       slaState = "ok"
	slaDueSoon  slaState = "due soon" // in the last fifth of the allowed time
	slaBreached slaState = "breached"
)

// dueSoonShare is the share of the SLA after which a wait is "due soon": late enough to
// matter, early enough to still answer in time.
const dueSoonShare = 0.8

// computeSLA returns the SLA state of a conversation whose oldest unanswered player message
// arrived at since (zero when nothing waits), at now, for the allowed first-response time
// (0: no target, never late).
func computeSLA(now, since time.Time, allowed time.Duration) slaState {
	if since.IsZero() {
		return slaAnswered
	}
	if allowed <= 0 {
		return slaOK
	}
	waited := now.Sub(since)
	switch {
	case waited >= allowed:
		return slaBreached
	case float64(waited) >= dueSoonShare*float64(allowed):
		return slaDueSoon
	}
	return slaOK
}

// firstResponse is the first-response target of t's conversation.
func (i *Inbox) firstResponse(t ticket) time.Duration {
	if i.deps.FirstResponse == nil {
		return 5 * time.Minute
	}
	return i.deps.FirstResponse(normalize.ChannelKind(t.ChannelKind), t.VIPTier)
}

// class is the CSS class of the state: its words with the space replaced.
func (s slaState) class() string {
	if s == slaDueSoon {
		return "sla-due-soon"
	}
	return "sla-" + string(s)
}

// humanDuration renders a wait the way agents say it: "45s", "12m", "3h 5m", "2d 4h".
func humanDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 24*time.Hour:
		h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
		if m == 0 {
			return fmt.Sprintf("%dh", h)
		}
		return fmt.Sprintf("%dh %dm", h, m)
	}
	days, h := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour)
	if h == 0 {
		return fmt.Sprintf("%dd", days)
	}
	return fmt.Sprintf("%dd %dh", days, h)
}
