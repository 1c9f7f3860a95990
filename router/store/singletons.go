package store

import (
	"context"
	"fmt"
	"time"
)

// SingletonLease is the lease of one singleton (a connector's session that one replica at a
// time may hold) as the store has it.
type SingletonLease struct {
	Key string
	// Owner is the replica that holds it, or last held it when it lapsed or was released.
	Owner string
	// Token fences the take: every take gets a higher one, and renewals must present it.
	Token int64
	// Until is when the lease lapses without a renewal; the zero time once released.
	Until time.Time
}

// Held reports whether the lease is held at now: taken, not released, not lapsed.
func (l SingletonLease) Held(now time.Time) bool {
	return !l.Until.IsZero() && l.Until.After(now)
}

// TakeSingleton takes the lease named key for owner until now+lease when no one else holds
// it (never taken, released, lapsed, or owner's own), and returns the lease as it stands
// after: owner's with a new token when taken, else the other holder's.
func (s *Store) TakeSingleton(ctx context.Context, key, owner string, lease time.Duration) (SingletonLease, error) {
	var l SingletonLease
	err := s.writer.do(ctx, func(ctx context.Context, tx *wtx) error {
		now := millis(s.now())
		if _, err := tx.ExecContext(ctx, `INSERT INTO singletons (key) VALUES (?) ON CONFLICT (key) DO NOTHING`, key); err != nil {
			return fmt.Errorf("store: take singleton %s: %w", key, err)
		}
		// On PostgreSQL a concurrent take waits for the row and then re-checks the condition
		// against the other's take: one of them wins.
		if _, err := tx.ExecContext(ctx, `UPDATE singletons SET owner = ?, token = token + 1, lease_until = ?
			WHERE key = ? AND (lease_until <= ? OR owner = ?)`, owner, now+lease.Milliseconds(), key, now, owner); err != nil {
			return fmt.Errorf("store: take singleton %s: %w", key, err)
		}
		var until int64
		if err := tx.QueryRowContext(ctx, `SELECT owner, token, lease_until FROM singletons WHERE key = ?`, key).
			Scan(&l.Owner, &l.Token, &until); err != nil {
			return fmt.Errorf("store: take singleton %s: %w", key, err)
		}
		l.Key = key
		if until > 0 {
			l.Until = fromMillis(until)
		}
		return nil
	})
	return l, err
}

// RenewSingleton extends the lease of key taken with token to now+lease. A lease that lapsed
// but was not taken since is taken back. It returns ErrLeaseLost when another take (or a
// release) came after token's: the caller must stop what the lease guards.
func (s *Store) RenewSingleton(ctx context.Context, key string, token int64, lease time.Duration) error {
	return s.writer.do(ctx, func(ctx context.Context, tx *wtx) error {
		res, err := tx.ExecContext(ctx, `UPDATE singletons SET lease_until = ? WHERE key = ? AND token = ? AND lease_until > 0`,
			millis(s.now())+lease.Milliseconds(), key, token)
		if err != nil {
			return fmt.Errorf("store: renew singleton %s: %w", key, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("store: renew singleton %s: %w", key, err)
		} else if n == 0 {
			return fmt.Errorf("%w (singleton %s, token %d)", ErrLeaseLost, key, token)
		}
		return nil
	})
}

// ReleaseSingleton gives up the lease of key taken with token, so that another replica may
// take it at once. A lease taken by another since is left alone, and is no error.
func (s *Store) ReleaseSingleton(ctx context.Context, key string, token int64) error {
	return s.writer.do(ctx, func(ctx context.Context, tx *wtx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE singletons SET lease_until = 0 WHERE key = ? AND token = ?`, key, token); err != nil {
			return fmt.Errorf("store: release singleton %s: %w", key, err)
		}
		return nil
	})
}
