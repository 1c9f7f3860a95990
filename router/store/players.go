package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/casino-support/gateway/normalize"
)

// maxLinked bounds the other conversations a helpdesk is told about: the most recent ones.
// A player with more has a history the helpdesk can search by player ID.
const maxLinked = 20

// linkPlayer records that conv's player is playerID, proved by by (normalize.LinkedBy*). It
// runs in intake's transaction whenever a conversation opens with an identified player or
// learns its player's ID, so the link is there exactly when the conversation says so; an ID
// the directory corrects later moves the row, since a conversation has one player.
func linkPlayer(ctx context.Context, tx *wtx, conv normalize.ConversationID, playerID, by string, now int64) error {
	if playerID == "" {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO player_links (conversation_id, player_id, linked_by, linked_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (conversation_id) DO UPDATE SET player_id = excluded.player_id, linked_by = excluded.linked_by, linked_at = excluded.linked_at`,
		conv, playerID, by, now); err != nil {
		return fmt.Errorf("store: link %s to player: %w", conv, err)
	}
	return nil
}

// unlinkPlayer drops conv's link; retention runs it with the conversation's purge.
func unlinkPlayer(ctx context.Context, tx *wtx, conv normalize.ConversationID) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM player_links WHERE conversation_id = ?`, conv); err != nil {
		return fmt.Errorf("store: purge %s: delete player link: %w", conv, err)
	}
	return nil
}

// PlayerConversations returns the conversations linked to playerID, most recently linked
// first, up to limit (<= 0: maxLinked).
func (s *Store) PlayerConversations(ctx context.Context, playerID string, limit int) ([]normalize.LinkedConversation, error) {
	return linkedConversations(ctx, s.read, playerID, "", limit)
}

// linkedConversations lists playerID's conversations but except, newest link first.
func linkedConversations(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, playerID string, except normalize.ConversationID, limit int) ([]normalize.LinkedConversation, error) {
	if playerID == "" {
		return nil, nil
	}
	if limit <= 0 {
		limit = maxLinked
	}
	rows, err := q.QueryContext(ctx, `SELECT c.id, c.channel, c.channel_kind, c.helpdesk, c.ticket, c.status, l.linked_by, l.linked_at
		FROM player_links l JOIN conversations c ON c.id = l.conversation_id
		WHERE l.player_id = ? AND l.conversation_id <> ? ORDER BY l.linked_at DESC, l.conversation_id LIMIT ?`, playerID, except, limit)
	if err != nil {
		return nil, fmt.Errorf("store: list conversations of player: %w", err)
	}
	defer rows.Close()
	var out []normalize.LinkedConversation
	for rows.Next() {
		var lc normalize.LinkedConversation
		var at int64
		if err := rows.Scan(&lc.ID, &lc.Channel, &lc.ChannelKind, &lc.Helpdesk, &lc.Ticket, &lc.Status, &lc.LinkedBy, &at); err != nil {
			return nil, fmt.Errorf("store: scan conversation of player: %w", err)
		}
		lc.LinkedAt = fromMillis(at)
		out = append(out, lc)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list conversations of player: %w", err)
	}
	return out, nil
}
