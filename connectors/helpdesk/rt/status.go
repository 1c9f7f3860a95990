package rt

import "github.com/casino-support/gateway/normalize"

// rtStatuses maps RT 5's default lifecycle to the conversation's status. Unknown statuses
// (custom lifecycles) are not mapped.
var rtStatuses = map[string]normalize.Status{
	"new":      normalize.StatusOpen,
	"open":     normalize.StatusOpen,
	"stalled":  normalize.StatusPending,
	"resolved": normalize.StatusClosed,
	"rejected": normalize.StatusClosed,
	"deleted":  normalize.StatusClosed,
}

// conversationStatus maps an RT status; ok is false for statuses of custom lifecycles.
func conversationStatus(rtStatus string) (normalize.Status, bool) {
	s, ok := rtStatuses[rtStatus]
	return s, ok
}
