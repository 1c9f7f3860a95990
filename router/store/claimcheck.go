package store

import (
	"context"

	"github.com/casino-support/gateway/normalize"
)

// nothingDue reports whether no lane of a direction max has room for is due and unleased at
// now, asked on a read connection. The router claims each time intake stores something and
// each time a worker finishes, and most of those claims, at a steady rate of messages, find
// nothing; as write transactions they queued at the writer with intake and took a sixth of
// the gateway's CPU at 500 messages/s (issue 16). A lane made due after this read was stored
// by a caller that then wakes the router, so the next claim finds it. Any error answers
// false: the claim itself then finds out. The condition is leaseDueLanes' or wider: a lane counted
// here that leaseDueLanes passes over costs the full claim, nothing more. Lanes the FAQ bot holds
// are left out as leaseDueLanes leaves them out: otherwise every held lane would send each claim
// on to the writer for nothing.
func (s *Store) nothingDue(ctx context.Context, max Budget, now int64) bool {
	var dirs []any
	if max.Inbound > 0 {
		dirs = append(dirs, normalize.Inbound)
	}
	if max.Outbound > 0 {
		dirs = append(dirs, normalize.Outbound)
	}
	var query string
	switch len(dirs) {
	case 0:
		return true
	case 1:
		query = `direction = ?`
	default:
		query = `direction IN (?, ?)`
	}
	var due bool
	err := s.read.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM lanes
		WHERE due_at IS NOT NULL AND due_at <= ? AND lease_until <= ? AND held = '' AND `+query+`)`, append([]any{now, now}, dirs...)...).Scan(&due)
	if err != nil {
		return false
	}
	return !due
}
