package store

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/casino-support/gateway/normalize"
)

// laneKey names one conversation's outbox in one direction.
type laneKey struct {
	conv normalize.ConversationID
	dir  normalize.Direction
}

// intakeBatch is what one Intake call has enqueued so far. A batch of a chat's messages (a
// getUpdates answer, a burst of webhooks) makes each lane due once rather than once per
// message: nothing in intake idles a lane, so a lane made due stays due, and its row lock
// (which orders the enqueues on it, see makeLaneDue) is held until the commit. The lanes, then
// the messages' rows, are written together, a chunk per statement, when the call needs the rows
// stored (flush):
// before reading messages, before a message with attachments (whose seq must follow theirs),
// and at its end; one statement per message was a round trip each on PostgreSQL (issue 16).
// Per call, not per transaction: another caller's share of a group commit may be rolled back
// to its savepoint, taking its lane updates with it.
type intakeBatch struct {
	due   map[laneKey]struct{}
	lanes []laneKey // the lanes to make due before rows are inserted
	rows  []any     // the message rows not inserted yet, a value for each of messageTypes
	now   int64
}

// messageTypes are the SQL types of a queued message's row, as intakeBatch keeps its values.
var messageTypes = []string{"TEXT", "TEXT", "TEXT", "TEXT", "TEXT", "BIGINT"}

// messageChunk bounds the rows of one insert; SQLite keeps a prepared statement for each
// chunk size (1, 2, 4, 8, 16).
const messageChunk = 16

func newIntakeBatch() *intakeBatch { return &intakeBatch{due: map[laneKey]struct{}{}} }

// enqueue is the package's enqueue, skipping the lane update when this call made the lane
// due already, and keeping the row to insert with the others.
func (b *intakeBatch) enqueue(ctx context.Context, tx *wtx, m normalize.Message, now int64) error {
	k := laneKey{m.Conversation, m.Direction}
	_, made := b.due[k]
	if hasBlobs(m) {
		if err := b.flush(ctx, tx); err != nil {
			return err
		}
		if err := enqueueLane(ctx, tx, m, now, !made); err != nil {
			return err
		}
	} else {
		if !made {
			b.lanes = append(b.lanes, k)
		}
		body, err := queuedBody(m, now)
		if err != nil {
			return err
		}
		b.rows = append(b.rows, string(m.ID), string(m.Conversation), string(m.Direction), string(normalize.StateQueued), body, now)
		b.now = now
	}
	b.due[k] = struct{}{}
	return nil
}

// flush makes the lanes of the rows kept so far due, then inserts the rows in their order
// (which is their seqs' order).
func (b *intakeBatch) flush(ctx context.Context, tx *wtx) error {
	if err := makeLanesDue(ctx, tx, b.lanes, b.now); err != nil {
		return err
	}
	b.lanes = b.lanes[:0]
	err := tx.w.d.eachChunk(messageTypes, b.rows, messageChunk, func(source string, args []any) error {
		return tx.execLater(ctx, nil, `INSERT INTO messages (id, conversation_id, direction, state, body, created_at) `+source, args...)
	})
	if err != nil {
		return fmt.Errorf("store: insert messages: %w", err)
	}
	b.rows = b.rows[:0]
	return nil
}

// enqueue stores m, which knows its conversation, as queued and makes its lane due.
func enqueue(ctx context.Context, tx *wtx, m normalize.Message, now int64) error {
	return enqueueLane(ctx, tx, m, now, true)
}

// enqueueLane is enqueue, with the lane update left out unless makeDue.
func enqueueLane(ctx context.Context, tx *wtx, m normalize.Message, now int64, makeDue bool) error {
	body, err := queuedBody(m, now)
	if err != nil {
		return err
	}
	if makeDue {
		if err := makeLaneDue(ctx, tx, m.Conversation, m.Direction, now); err != nil {
			return err
		}
	}
	const insert = `INSERT INTO messages (id, conversation_id, direction, state, body, created_at) VALUES (?, ?, ?, ?, ?, ?)`
	if !hasBlobs(m) {
		// The seq is only needed to record attachments; an Exec costs less than a row to read.
		if err := tx.execLater(ctx, nil, insert, m.ID, m.Conversation, m.Direction, normalize.StateQueued, body, now); err != nil {
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

// queuedBody is m's stored form as a queued message received at now.
func queuedBody(m normalize.Message, now int64) ([]byte, error) {
	m.ReceivedAt = fromMillis(now)
	m.State = normalize.StateQueued
	body, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("store: encode message: %w", err)
	}
	return body, nil
}

// makeLanesDue is makeLaneDue for several lanes, a chunk per statement: one statement per
// message was a round trip each on PostgreSQL (issue 16). The lanes go in a fixed order, so
// that transactions making the same lanes due lock them in the same order.
func makeLanesDue(ctx context.Context, tx *wtx, lanes []laneKey, now int64) error {
	if len(lanes) == 1 {
		return makeLaneDue(ctx, tx, lanes[0].conv, lanes[0].dir, now)
	}
	slices.SortFunc(lanes, func(a, b laneKey) int {
		return cmp.Or(cmp.Compare(a.conv, b.conv), cmp.Compare(a.dir, b.dir))
	})
	args := make([]any, 0, 3*len(lanes))
	for _, k := range lanes {
		args = append(args, string(k.conv), string(k.dir), now)
	}
	err := tx.w.d.eachChunk([]string{"TEXT", "TEXT", "BIGINT"}, args, messageChunk, func(source string, args []any) error {
		return tx.execLater(ctx, nil, `INSERT INTO lanes (conversation_id, direction, due_at) `+source+dueUnlessDue, args...)
	})
	if err != nil {
		return fmt.Errorf("store: enqueue: %w", err)
	}
	return nil
}

// dueUnlessDue ends makeLaneDue's insert: a lane that exists is made due unless it is due
// already or waits out a back-off. Such a lane is left as it was, not written again with the
// same due_at: in a burst nearly every lane is due, and that was a row version (and its WAL)
// per lane of every intake (issue 16). PostgreSQL still locks it: ON CONFLICT DO UPDATE locks
// every conflicting row, whether its WHERE holds or not, and that lock orders the
// transactions enqueuing on the lane (makeLaneDue).
const dueUnlessDue = `
	ON CONFLICT (conversation_id, direction) DO UPDATE SET due_at = excluded.due_at WHERE lanes.due_at IS NULL`

// makeLaneDue makes the lane due now unless it waits out a back-off. It runs before the
// message's row is inserted: the lane's row lock orders the transactions that enqueue on one
// lane, so the one that takes a seq first commits first. On PostgreSQL, where several
// transactions enqueue at once, a later seq committed before an earlier one would let a claim
// hand out the later message before the earlier is visible.
func makeLaneDue(ctx context.Context, tx *wtx, conv normalize.ConversationID, dir normalize.Direction, now int64) error {
	if err := tx.execLater(ctx, nil, `INSERT INTO lanes (conversation_id, direction, due_at) VALUES (?, ?, ?)`+dueUnlessDue,
		conv, dir, now); err != nil {
		return fmt.Errorf("store: enqueue: %w", err)
	}
	return nil
}
