package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/casino-support/gateway/normalize"
)

// MarkFailed records that channel reports a reply it had accepted as never delivered (an
// e-mail bounce): the message becomes failed with reason, like a dead letter, and the
// conversation's helpdesk gets a system note saying so, in the same transaction. Only a sent
// outbound message of one of channel's conversations can fail this way; a queued one is still
// the router's, a failed one stays failed (a second report changes nothing and adds no note).
// The error wraps ErrNotFound when channel has no such message. failed is false when nothing
// changed.
func (s *Store) MarkFailed(ctx context.Context, channel normalize.InstanceName, id normalize.MessageID, reason string) (failed bool, err error) {
	err = s.writer.do(ctx, func(ctx context.Context, tx *wtx) error {
		failed = false
		var state normalize.DeliveryState
		var convID normalize.ConversationID
		var body []byte
		err := tx.QueryRowContext(ctx, `SELECT m.state, m.conversation_id, m.body FROM messages m JOIN conversations c ON c.id = m.conversation_id
			WHERE m.id = ? AND m.direction = ? AND c.channel = ?`, id, normalize.Outbound, channel).Scan(&state, &convID, &body)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: reply %s of %s: %w", id, channel, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("store: read reply %s: %w", id, err)
		}
		if _, sent := stateRank[state]; !sent {
			return nil // queued (not sent yet) or failed already
		}
		if _, err := tx.ExecContext(ctx, `UPDATE messages SET state = ?, last_error = ? WHERE id = ?`, normalize.StateFailed, reason, id); err != nil {
			return fmt.Errorf("store: mark %s failed: %w", id, err)
		}
		conv, err := getConversation(ctx, tx, convID)
		if err != nil {
			return err
		}
		now := millis(s.now())
		note := normalize.Message{
			ID: normalize.NewMessageID(), Direction: normalize.Inbound,
			Source: channel, ExternalID: normalize.ExternalID("failed-" + string(id)),
			Conversation: conv.ID, Channel: conv.Channel, ChannelKind: conv.ChannelKind, Address: conv.Address,
			Author: normalize.Author{Role: normalize.RoleSystem}, Kind: normalize.KindSystem,
			Text: fmt.Sprintf("A reply did not reach the player (%q): %s", quoteReply(body), reason), SentAt: fromMillis(now),
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO external_ids (instance, external_id, message_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
			note.Source, note.ExternalID, note.ID)
		if err != nil {
			return fmt.Errorf("store: record the note on %s: %w", id, err)
		}
		failed = true
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // a note for this reply exists: it failed before and was replayed
		}
		return enqueue(ctx, tx, note, now)
	})
	return failed, err
}

// quoteReply is the start of a reply's first line, for the note that names it.
func quoteReply(body []byte) string {
	var m normalize.Message
	if decodeStored(body, &m) != nil {
		return ""
	}
	line, _, _ := strings.Cut(strings.TrimSpace(m.Text), "\n")
	if r := []rune(line); len(r) > 80 {
		line = string(r[:80]) + "…"
	}
	return line
}
