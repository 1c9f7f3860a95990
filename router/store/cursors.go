package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

var _ connectors.Cursors = (*Store)(nil)

// Cursor implements connectors.Cursors.
func (s *Store) Cursor(ctx context.Context, instance normalize.InstanceName, key string) (string, error) {
	var v string
	err := s.read.QueryRowContext(ctx, `SELECT value FROM cursors WHERE instance = ? AND key = ?`, instance, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: cursor %s of %s: %w", key, instance, err)
	}
	return v, nil
}

// SetCursor implements connectors.Cursors; it commits with the other writes of the moment.
func (s *Store) SetCursor(ctx context.Context, instance normalize.InstanceName, key, value string) error {
	return s.writer.do(ctx, func(ctx context.Context, tx *wtx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO cursors (instance, key, value, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (instance, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
			instance, key, value, s.now().UnixMilli())
		if err != nil {
			return fmt.Errorf("store: set cursor %s of %s: %w", key, instance, err)
		}
		return nil
	})
}
