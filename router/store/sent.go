package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/casino-support/gateway/normalize"
)

// SentReply returns the ID of the reply channel sent and was given externalID for by its
// remote (a WhatsApp wamid), as the delivery recorded it. Only outbound messages of channel's
// own conversations count, so another instance's ID never matches. The error wraps
// ErrNotFound when there is none: not sent yet (the remote may report on a message before the
// delivery is recorded), sent by something else, or deleted by retention.
func (s *Store) SentReply(ctx context.Context, channel normalize.InstanceName, externalID normalize.ExternalID) (normalize.MessageID, error) {
	var id normalize.MessageID
	err := s.read.QueryRowContext(ctx, `SELECT m.id FROM external_ids e
		JOIN messages m ON m.id = e.message_id JOIN conversations c ON c.id = m.conversation_id
		WHERE e.instance = ? AND e.external_id = ? AND m.direction = ? AND c.channel = ?`,
		channel, externalID, normalize.Outbound, channel).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("store: no reply of %s sent as %s: %w", channel, externalID, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("store: find the reply of %s sent as %s: %w", channel, externalID, err)
	}
	return id, nil
}
