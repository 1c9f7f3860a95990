package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/casino-support/gateway/normalize"
)

// MarkSLABreaches finds up to limit conversations whose first-response clock ran out
// without an answer, marks them breached and enqueues an Update for each one's helpdesk, in
// one transaction; it returns them. Replicas may call it concurrently: each breach is
// marked, and reported, once.
func (s *Store) MarkSLABreaches(ctx context.Context, limit int) ([]normalize.Conversation, error) {
	var out []normalize.Conversation
	err := s.writer.do(ctx, func(ctx context.Context, tx *wtx) error {
		out = out[:0]
		now := s.now().UnixMilli()
		rows, err := tx.QueryContext(ctx, `SELECT id FROM conversations WHERE sla_due_at <= ? AND sla_breached_at IS NULL ORDER BY sla_due_at LIMIT ?`, now, limit)
		if err != nil {
			return fmt.Errorf("store: find SLA breaches: %w", err)
		}
		var ids []normalize.ConversationID
		for rows.Next() {
			var id normalize.ConversationID
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return fmt.Errorf("store: find SLA breaches: %w", err)
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("store: find SLA breaches: %w", err)
		}
		for _, id := range ids {
			// Another replica may have marked it since the select (PostgreSQL re-checks the
			// condition once that replica's transaction commits): only one reports it.
			res, err := tx.ExecContext(ctx, `UPDATE conversations SET sla_breached_at = ? WHERE id = ? AND sla_breached_at IS NULL`, now, id)
			if err != nil {
				return fmt.Errorf("store: mark SLA breach of %s: %w", id, err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return fmt.Errorf("store: mark SLA breach of %s: %w", id, err)
			} else if n == 0 {
				continue
			}
			c, err := getConversation(ctx, tx, id)
			if err != nil {
				return err
			}
			if err := enqueue(ctx, tx, breachMessage(c, now), now); err != nil {
				return err
			}
			out = append(out, c)
		}
		return nil
	})
	return out, err
}

// breachMessage is the Update that reports c's breach; its dedup key names the wait.
func breachMessage(c normalize.Conversation, now int64) normalize.Message {
	u := &normalize.Update{Changed: []normalize.Field{normalize.FieldSLA}, Language: c.Language, PlayerID: c.Player.PlayerID,
		VIPTier: c.Player.VIPTier, Priority: c.Priority, SLA: c.SLA}
	return normalize.Message{
		ID: normalize.NewMessageID(), Direction: normalize.Inbound,
		Source: c.Channel, ExternalID: normalize.ExternalID(fmt.Sprintf("sla-%s-%d", c.ID, c.SLA.AwaitingSince.UnixMilli())),
		Conversation: c.ID, Channel: c.Channel, ChannelKind: c.ChannelKind, Address: c.Address,
		Author: normalize.Author{Role: normalize.RoleSystem},
		Kind:   normalize.KindSystem, Text: describeUpdate(u), Update: u, SentAt: fromMillis(now),
	}
}

// NextSLADue returns when the earliest running first-response clock runs out, or the zero
// time when none runs.
func (s *Store) NextSLADue(ctx context.Context) (time.Time, error) {
	var due sql.NullInt64
	if err := s.read.QueryRowContext(ctx, `SELECT MIN(sla_due_at) FROM conversations WHERE sla_due_at IS NOT NULL AND sla_breached_at IS NULL`).Scan(&due); err != nil {
		return time.Time{}, fmt.Errorf("store: next SLA due: %w", err)
	}
	if !due.Valid {
		return time.Time{}, nil
	}
	return fromMillis(due.Int64), nil
}
