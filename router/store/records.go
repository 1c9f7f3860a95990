package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

var _ connectors.Records = (*Store)(nil)

// PutRecord implements connectors.Records: one upsert, so replicas putting the same key at
// once leave one of their values whole; it commits with the other writes of the moment.
func (s *Store) PutRecord(ctx context.Context, instance normalize.InstanceName, key, value string, expires time.Time) error {
	return s.writer.do(ctx, func(ctx context.Context, tx *wtx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO records (instance, key, value, expires_at, updated_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (instance, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at, updated_at = excluded.updated_at`,
			instance, key, value, millis(expires), millis(s.now()))
		if err != nil {
			return fmt.Errorf("store: put record %s of %s: %w", key, instance, err)
		}
		return nil
	})
}

// Record implements connectors.Records.
func (s *Store) Record(ctx context.Context, instance normalize.InstanceName, key string) (string, bool, error) {
	var v string
	err := s.read.QueryRowContext(ctx, `SELECT value FROM records WHERE instance = ? AND key = ? AND expires_at > ?`,
		instance, key, millis(s.now())).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("store: record %s of %s: %w", key, instance, err)
	}
	return v, true, nil
}

// DeleteRecord implements connectors.Records.
func (s *Store) DeleteRecord(ctx context.Context, instance normalize.InstanceName, key string) error {
	return s.writer.do(ctx, func(ctx context.Context, tx *wtx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM records WHERE instance = ? AND key = ?`, instance, key); err != nil {
			return fmt.Errorf("store: delete record %s of %s: %w", key, instance, err)
		}
		return nil
	})
}

// ListRecords implements connectors.Records. The prefix is compared with substr rather than
// LIKE, whose wildcards a key may contain.
func (s *Store) ListRecords(ctx context.Context, instance normalize.InstanceName, prefix, after string, limit int) ([]connectors.Record, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.read.QueryContext(ctx, `SELECT key, value, expires_at FROM records
		WHERE instance = ? AND substr(key, 1, ?) = ? AND key > ? AND expires_at > ? ORDER BY key LIMIT ?`,
		instance, len([]rune(prefix)), prefix, after, millis(s.now()), limit)
	if err != nil {
		return nil, fmt.Errorf("store: list records %s* of %s: %w", prefix, instance, err)
	}
	defer rows.Close()
	var out []connectors.Record
	for rows.Next() {
		var r connectors.Record
		var expires int64
		if err := rows.Scan(&r.Key, &r.Value, &expires); err != nil {
			return nil, fmt.Errorf("store: list records %s* of %s: %w", prefix, instance, err)
		}
		r.Expires = time.UnixMilli(expires)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list records %s* of %s: %w", prefix, instance, err)
	}
	return out, nil
}

// ExpireRecords deletes up to limit connectors' records whose expiry has passed and returns
// how many it deleted. Retention calls it; replicas may call it concurrently.
func (s *Store) ExpireRecords(ctx context.Context, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	var n int64
	err := s.writer.do(ctx, func(ctx context.Context, tx *wtx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM records WHERE (instance, key) IN
			(SELECT instance, key FROM records WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)`, millis(s.now()), limit)
		if err != nil {
			return fmt.Errorf("store: expire records: %w", err)
		}
		n, err = res.RowsAffected()
		if err != nil {
			return fmt.Errorf("store: expire records: %w", err)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return int(n), nil
}

// TakeRecord writes key's record when it is absent or expired, and reports whether it did:
// a lease one replica at a time holds (the FAQ bot's step on a conversation). One statement,
// so replicas taking the same key at once find one winner.
func (s *Store) TakeRecord(ctx context.Context, instance normalize.InstanceName, key, value string, expires time.Time) (bool, error) {
	var taken bool
	err := s.writer.do(ctx, func(ctx context.Context, tx *wtx) error {
		now := millis(s.now())
		res, err := tx.ExecContext(ctx, `INSERT INTO records (instance, key, value, expires_at, updated_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (instance, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at, updated_at = excluded.updated_at
			WHERE records.expires_at <= ?`, instance, key, value, millis(expires), now, now)
		if err != nil {
			return fmt.Errorf("store: take record %s of %s: %w", key, instance, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("store: take record %s of %s: %w", key, instance, err)
		}
		taken = n == 1
		return nil
	})
	return taken, err
}

// DropRecord deletes key's record when its value is still value: a lease given up by its
// holder, never one another replica took after it lapsed.
func (s *Store) DropRecord(ctx context.Context, instance normalize.InstanceName, key, value string) error {
	return s.writer.do(ctx, func(ctx context.Context, tx *wtx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM records WHERE instance = ? AND key = ? AND value = ?`, instance, key, value); err != nil {
			return fmt.Errorf("store: drop record %s of %s: %w", key, instance, err)
		}
		return nil
	})
}
