package store

import (
	"context"
	"fmt"

	"github.com/casino-support/gateway/normalize"
)

// StoredMessage is a message with its delivery bookkeeping, as the admin API shows it.
type StoredMessage struct {
	Seq      int64                    `json:"seq"`
	Message  normalize.Message        `json:"message"`
	Attempts int                      `json:"attempts"`
	Error    string                   `json:"last_error,omitempty"`
	TargetID normalize.ExternalID     `json:"target_id,omitempty"`
	Conv     normalize.ConversationID `json:"conversation"`
}

// Conversation returns one conversation.
func (s *Store) Conversation(ctx context.Context, id normalize.ConversationID) (normalize.Conversation, error) {
	return getConversation(ctx, s.read, id)
}

// ConversationsCursor is where a page of Conversations ends: the last conversation's
// updated_at in milliseconds and its ID. The zero cursor starts at the most recent.
type ConversationsCursor struct {
	UpdatedAt int64
	ID        normalize.ConversationID
}

// Conversations lists conversations, most recently updated first, after the cursor.
func (s *Store) Conversations(ctx context.Context, limit int, after ConversationsCursor) ([]normalize.Conversation, error) {
	if after.UpdatedAt <= 0 {
		after = ConversationsCursor{UpdatedAt: 1<<62 - 1}
	}
	// The ID breaks ties: group commit gives many conversations the same millisecond, and a
	// cursor of the time alone skipped those after a page's last one.
	rows, err := s.read.QueryContext(ctx, `SELECT id FROM conversations WHERE updated_at < ? OR (updated_at = ? AND id > ?)
		ORDER BY updated_at DESC, id LIMIT ?`, after.UpdatedAt, after.UpdatedAt, after.ID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: list conversations: %w", err)
	}
	var ids []normalize.ConversationID
	for rows.Next() {
		var id normalize.ConversationID
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: list conversations: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list conversations: %w", err)
	}
	out := make([]normalize.Conversation, 0, len(ids))
	for _, id := range ids {
		c, err := getConversation(ctx, s.read, id)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// Messages lists a conversation's messages in both directions in arrival order.
func (s *Store) Messages(ctx context.Context, conv normalize.ConversationID, afterSeq int64, limit int) ([]StoredMessage, error) {
	return s.queryMessages(ctx, `WHERE conversation_id = ? AND seq > ? ORDER BY seq LIMIT ?`, conv, afterSeq, limit)
}

// DeadLetters lists messages whose delivery was given up, oldest first.
func (s *Store) DeadLetters(ctx context.Context, afterSeq int64, limit int) ([]StoredMessage, error) {
	return s.queryMessages(ctx, `WHERE state = 'failed' AND seq > ? ORDER BY seq LIMIT ?`, afterSeq, limit)
}

func (s *Store) queryMessages(ctx context.Context, where string, args ...any) ([]StoredMessage, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT seq, conversation_id, state, attempts, last_error, target_id, body FROM messages `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list messages: %w", err)
	}
	defer rows.Close()
	var out []StoredMessage
	for rows.Next() {
		var m StoredMessage
		var state normalize.DeliveryState
		var body []byte
		if err := rows.Scan(&m.Seq, &m.Conv, &state, &m.Attempts, &m.Error, &m.TargetID, &body); err != nil {
			return nil, fmt.Errorf("store: scan message: %w", err)
		}
		if err := decodeStored(body, &m.Message); err != nil {
			return nil, fmt.Errorf("store: decode message %d: %w", m.Seq, err)
		}
		m.Message.State = state
		if state == normalize.StateFailed {
			m.Message.FailReason = m.Error
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// Replay re-queues dead letters, of one conversation or (conv empty) all, and returns how
// many. A replayed message regains its place in its conversation's order: it goes before the
// messages still queued behind it (those already delivered cannot be overtaken).
func (s *Store) Replay(ctx context.Context, conv normalize.ConversationID) (int, error) {
	var n int
	err := s.writer.do(ctx, func(ctx context.Context, tx *wtx) error {
		cond, args := `state = 'failed'`, []any{}
		if conv != "" {
			cond, args = cond+` AND conversation_id = ?`, append(args, conv)
		}
		now := millis(s.now())
		if _, err := tx.ExecContext(ctx, `INSERT INTO lanes (conversation_id, direction, due_at)
			SELECT DISTINCT conversation_id, direction, CAST(? AS BIGINT) FROM messages WHERE `+cond+`
			ON CONFLICT (conversation_id, direction) DO UPDATE SET due_at = COALESCE(lanes.due_at, excluded.due_at), failures = 0`,
			append([]any{now}, args...)...); err != nil {
			return fmt.Errorf("store: replay lanes: %w", err)
		}
		res, err := tx.ExecContext(ctx, `UPDATE messages SET state = 'queued' WHERE `+cond, args...)
		if err != nil {
			return fmt.Errorf("store: replay messages: %w", err)
		}
		affected, _ := res.RowsAffected()
		n = int(affected)
		return nil
	})
	return n, err
}

// Stats are gauges for metrics.
type Stats struct {
	Queued      map[normalize.Direction]int
	DeadLetters int
}

// Stats counts queued messages per direction and dead letters.
func (s *Store) Stats(ctx context.Context) (Stats, error) {
	st := Stats{Queued: map[normalize.Direction]int{normalize.Inbound: 0, normalize.Outbound: 0}}
	rows, err := s.read.QueryContext(ctx, `SELECT direction, state, COUNT(*) FROM messages WHERE state IN ('queued', 'failed') GROUP BY direction, state`)
	if err != nil {
		return st, fmt.Errorf("store: stats: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var dir normalize.Direction
		var state normalize.DeliveryState
		var n int
		if err := rows.Scan(&dir, &state, &n); err != nil {
			return st, fmt.Errorf("store: stats: %w", err)
		}
		if state == normalize.StateQueued {
			st.Queued[dir] = n
		} else {
			st.DeadLetters += n
		}
	}
	return st, rows.Err()
}
