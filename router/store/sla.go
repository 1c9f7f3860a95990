package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/casino-support/gateway/normalize"
)

// MarkSLABreaches finds up to limit conversations whose response clock ran out without an
// answer, marks them breached and enqueues an Update for each one's helpdesk, in one
// transaction; it returns them. Replicas may call it concurrently: each breach is marked,
// and reported, once. It is MarkSLA of the breach, changing nothing else.
func (s *Store) MarkSLABreaches(ctx context.Context, limit int) ([]normalize.Conversation, error) {
	return s.MarkSLA(ctx, StageBreach, SLAMark{}, limit)
}

// NextSLADue returns when the earliest running response clock reaches its near-breach point
// or runs out, or the zero time when none runs.
func (s *Store) NextSLADue(ctx context.Context) (time.Time, error) {
	var due, warn sql.NullInt64
	if err := s.read.QueryRowContext(ctx, `SELECT MIN(sla_due_at) FROM conversations WHERE sla_due_at IS NOT NULL AND sla_breached_at IS NULL`).Scan(&due); err != nil {
		return time.Time{}, fmt.Errorf("store: next SLA due: %w", err)
	}
	// Each MIN on its own reads one partial index.
	if err := s.read.QueryRowContext(ctx, `SELECT MIN(sla_warn_at) FROM conversations WHERE sla_warn_at IS NOT NULL AND sla_warned_at IS NULL`).Scan(&warn); err != nil {
		return time.Time{}, fmt.Errorf("store: next SLA near-breach: %w", err)
	}
	if warn.Valid && (!due.Valid || warn.Int64 < due.Int64) {
		due = warn
	}
	if !due.Valid {
		return time.Time{}, nil
	}
	return fromMillis(due.Int64), nil
}
