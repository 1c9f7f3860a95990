package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/casino-support/gateway/normalize"
)

// ConversationAt returns the conversation of a channel address, or ErrNotFound.
func (s *Store) ConversationAt(ctx context.Context, channel normalize.InstanceName, address normalize.Address) (normalize.Conversation, error) {
	var id normalize.ConversationID
	err := s.read.QueryRowContext(ctx, `SELECT id FROM conversations WHERE channel = ? AND address = ?`, channel, address).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return normalize.Conversation{}, fmt.Errorf("store: conversation of %s at %s: %w", channel, address, ErrNotFound)
	}
	if err != nil {
		return normalize.Conversation{}, fmt.Errorf("store: find conversation: %w", err)
	}
	return getConversation(ctx, s.read, id)
}

// Thread returns the last limit messages of a conversation in both directions, oldest first,
// each with its current delivery state, for pages that show the whole exchange.
func (s *Store) Thread(ctx context.Context, conv normalize.ConversationID, limit int) ([]normalize.Message, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT state, last_error, body FROM (
		SELECT seq, state, last_error, body FROM messages WHERE conversation_id = ? ORDER BY seq DESC LIMIT ?) recent ORDER BY seq`, conv, limit)
	if err != nil {
		return nil, fmt.Errorf("store: thread of %s: %w", conv, err)
	}
	defer rows.Close()
	var out []normalize.Message
	for rows.Next() {
		var m normalize.Message
		var state normalize.DeliveryState
		var lastErr string
		var body []byte
		if err := rows.Scan(&state, &lastErr, &body); err != nil {
			return nil, fmt.Errorf("store: thread of %s: %w", conv, err)
		}
		if err := decodeStored(body, &m); err != nil {
			return nil, fmt.Errorf("store: decode message of %s: %w", conv, err)
		}
		m.State = state
		if state == normalize.StateFailed {
			m.FailReason = lastErr
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// stateRank orders delivery states so receipts only move forward: a late "delivered" never
// overwrites "read".
var stateRank = map[normalize.DeliveryState]int{
	normalize.StateSent: 1, normalize.StateDelivered: 2, normalize.StateRead: 3,
}

// MarkState records a receipt (delivered, read). It never moves a message backwards. A receipt
// for an outbound message still queued counts too: the player's page can answer before the
// router recorded that Send returned, and a receipt proves the message arrived. Inbound
// messages not yet sent and dead letters are left alone; ErrNotFound for an unknown message.
func (s *Store) MarkState(ctx context.Context, id normalize.MessageID, state normalize.DeliveryState) error {
	rank, ok := stateRank[state]
	if !ok || state == normalize.StateSent {
		return fmt.Errorf("store: %q is not a receipt state", state)
	}
	return s.writer.do(ctx, func(ctx context.Context, tx *wtx) error {
		var current normalize.DeliveryState
		var dir normalize.Direction
		err := tx.QueryRowContext(ctx, `SELECT state, direction FROM messages WHERE id = ?`, id).Scan(&current, &dir)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: message %s: %w", id, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("store: read state of %s: %w", id, err)
		}
		r, sent := stateRank[current]
		if early := current == normalize.StateQueued && dir == normalize.Outbound; !early && (!sent || r >= rank) {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE messages SET state = ? WHERE id = ?`, state, id); err != nil {
			return fmt.Errorf("store: record %s of %s: %w", state, id, err)
		}
		return nil
	})
}

// maxExternalLookup bounds how many IDs one ConversationOfExternal tries: an e-mail's
// References can name hundreds of mails, and the newest few say where it belongs.
const maxExternalLookup = 64

// ConversationOfExternal returns the conversation of the first of ids under which instance, a
// channel, knows a message: an ID it received a message under (an e-mail's Message-ID) or one
// it gave a message it sent. The ids are tried in order, so the caller puts the most telling
// first (an e-mail's In-Reply-To before its References, newest first); at most the first 64
// are tried. Only conversations of instance count. The error wraps ErrNotFound when none is
// known, also once retention deleted the messages.
func (s *Store) ConversationOfExternal(ctx context.Context, instance normalize.InstanceName, ids []normalize.ExternalID) (normalize.Conversation, error) {
	for i, id := range ids {
		if i == maxExternalLookup {
			break
		}
		if id == "" {
			continue
		}
		var conv normalize.ConversationID
		err := s.read.QueryRowContext(ctx, `SELECT m.conversation_id FROM external_ids e
			JOIN messages m ON m.id = e.message_id JOIN conversations c ON c.id = m.conversation_id
			WHERE e.instance = ? AND e.external_id = ? AND c.channel = ?`, instance, id, instance).Scan(&conv)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return normalize.Conversation{}, fmt.Errorf("store: find the conversation of %s on %s: %w", id, instance, err)
		}
		return getConversation(ctx, s.read, conv)
	}
	return normalize.Conversation{}, fmt.Errorf("store: no conversation of %s knows any of %d IDs: %w", instance, len(ids), ErrNotFound)
}
