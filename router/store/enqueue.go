package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/casino-support/gateway/normalize"
)

// laneKey names one conversation's outbox in one direction.
type laneKey struct {
	conv normalize.ConversationID
	dir  normalize.Direction
}

// dueSet holds the lanes one Intake call has made due so far. A batch of a chat's messages
// (a getUpdates answer, a burst of webhooks) updates each lane once rather than once per
// message: nothing in intake idles a lane, so a lane made due stays due, and its row lock
// (which orders the enqueues on it, see enqueue) is held until the commit.
type dueSet map[laneKey]struct{}

// enqueue is the package's enqueue, skipping the lane update when this call made the lane
// due already.
func (due dueSet) enqueue(ctx context.Context, tx *wtx, m normalize.Message, now int64) error {
	k := laneKey{m.Conversation, m.Direction}
	_, made := due[k]
	if err := enqueueLane(ctx, tx, m, now, !made); err != nil {
		return err
	}
	due[k] = struct{}{}
	return nil
}

// enqueue stores m, which knows its conversation, as queued and makes its lane due.
func enqueue(ctx context.Context, tx *wtx, m normalize.Message, now int64) error {
	return enqueueLane(ctx, tx, m, now, true)
}

// enqueueLane is enqueue, with the lane update left out unless makeDue.
func enqueueLane(ctx context.Context, tx *wtx, m normalize.Message, now int64, makeDue bool) error {
	m.ReceivedAt = fromMillis(now)
	m.State = normalize.StateQueued
	body, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("store: encode message: %w", err)
	}
	// The lane first: its row lock orders the transactions that enqueue on one lane, so the
	// one that takes a seq first commits first. On PostgreSQL, where several transactions
	// enqueue at once, a later seq committed before an earlier one would let a claim hand out
	// the later message before the earlier is visible. A lane waiting out a back-off keeps its
	// due time; an idle lane becomes due now.
	if makeDue {
		if _, err := tx.ExecContext(ctx, `INSERT INTO lanes (conversation_id, direction, due_at) VALUES (?, ?, ?)
			ON CONFLICT (conversation_id, direction) DO UPDATE SET due_at = COALESCE(lanes.due_at, excluded.due_at)`,
			m.Conversation, m.Direction, now); err != nil {
			return fmt.Errorf("store: enqueue: %w", err)
		}
	}
	const insert = `INSERT INTO messages (id, conversation_id, direction, state, body, created_at) VALUES (?, ?, ?, ?, ?, ?)`
	if !hasBlobs(m) {
		// The seq is only needed to record attachments; an Exec costs less than a row to read.
		if _, err := tx.ExecContext(ctx, insert, m.ID, m.Conversation, m.Direction, normalize.StateQueued, body, now); err != nil {
			return fmt.Errorf("store: insert message: %w", err)
		}
		return nil
	}
	var seq int64
	if err := tx.QueryRowContext(ctx, insert+` RETURNING seq`, m.ID, m.Conversation, m.Direction, normalize.StateQueued, body, now).Scan(&seq); err != nil {
		return fmt.Errorf("store: insert message: %w", err)
	}
	return recordBlobs(ctx, tx, seq, m, now)
}
