package store

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"
)

// A statement queued with execLater fails its operation as one run at once would, on both
// databases: its check's error, and its own, reach the caller, and nothing of the operation
// is committed, even when the operation went on without reading anything (then the error
// comes only from the writer). On PostgreSQL the statements go in one round trip with the
// next read, which sees what they wrote.
func TestLaterStatementsFailTheirOperation(t *testing.T) {
	errCheck := errors.New("check failed")
	onBothDatabases(t, func(t *testing.T, st *Store) {
		ctx := t.Context()
		insert := `INSERT INTO cursors (instance, key, value, updated_at) VALUES (?, ?, ?, 0)`
		stored := func(key string) bool {
			t.Helper()
			v, err := st.Cursor(ctx, "i", key)
			require.NoError(t, err)
			return v != ""
		}
		rows := func(want int64) func(int64) error {
			return func(n int64) error {
				if n != want {
					return errCheck
				}
				return nil
			}
		}

		// Queued, then read back in the same transaction: the read sends them first.
		var value string
		require.NoError(t, st.writer.do(ctx, func(ctx context.Context, tx *wtx) error {
			if err := tx.execLater(ctx, rows(1), insert, "i", "a", "1"); err != nil {
				return err
			}
			if err := tx.execLater(ctx, rows(1), `UPDATE cursors SET value = ? WHERE instance = ? AND key = ?`, "2", "i", "a"); err != nil {
				return err
			}
			return tx.QueryRowContext(ctx, `SELECT value FROM cursors WHERE instance = ? AND key = ?`, "i", "a").Scan(&value)
		}))
		require.Equal(t, "2", value)

		// A failed check, the operation returning nothing else: the writer reports the
		// check's error and commits nothing, the statement queued after it neither.
		err := st.writer.do(ctx, func(ctx context.Context, tx *wtx) error {
			if err := tx.execLater(ctx, nil, insert, "i", "b", "1"); err != nil {
				return err
			}
			_ = tx.execLater(ctx, rows(1), `UPDATE cursors SET value = ? WHERE instance = ? AND key = ?`, "x", "i", "nobody")
			_ = tx.execLater(ctx, nil, insert, "i", "c", "1")
			return nil
		})
		require.ErrorIs(t, err, errCheck)
		require.False(t, stored("b"), "a write before the failed check is rolled back")
		require.False(t, stored("c"), "a write after the failed check is rolled back")

		// A failed check, and a read after it that the operation ignores the failure of.
		err = st.writer.do(ctx, func(ctx context.Context, tx *wtx) error {
			_ = tx.execLater(ctx, rows(1), `UPDATE cursors SET value = ? WHERE instance = ? AND key = ?`, "x", "i", "nobody")
			var v string
			_ = tx.QueryRowContext(ctx, `SELECT value FROM cursors WHERE instance = ? AND key = ?`, "i", "a").Scan(&v)
			_, _ = tx.ExecContext(ctx, insert, "i", "d", "1")
			return nil
		})
		require.ErrorIs(t, err, errCheck)
		require.False(t, stored("d"))

		// An update that must change a row and changes none fails the operation with its own
		// error, the COMMIT queued behind it and all (one round trip on PostgreSQL).
		errLost := errors.New("lost")
		err = st.writer.do(ctx, func(ctx context.Context, tx *wtx) error {
			_ = tx.execLater(ctx, nil, insert, "i", "f", "1")
			_ = tx.execChanging(ctx, func() error { return errLost },
				`UPDATE cursors SET value = ? WHERE instance = ? AND key = ?`, "x", "i", "nobody")
			_ = tx.execLater(ctx, nil, insert, "i", "g", "1")
			return nil
		})
		require.ErrorIs(t, err, errLost)
		require.False(t, stored("f"))
		require.False(t, stored("g"))
		require.NoError(t, st.writer.do(ctx, func(ctx context.Context, tx *wtx) error {
			return tx.execChanging(ctx, func() error { return errLost },
				`UPDATE cursors SET value = ? WHERE instance = ? AND key = ?`, "3", "i", "a")
		}))
		value, err = st.Cursor(ctx, "i", "a")
		require.NoError(t, err)
		require.Equal(t, "3", value, "an update that changes its row commits")

		// A statement the database refuses (a duplicate key) fails the operation with the
		// database's error.
		err = st.writer.do(ctx, func(ctx context.Context, tx *wtx) error {
			_ = tx.execLater(ctx, nil, insert, "i", "e", "1")
			_ = tx.execLater(ctx, nil, insert, "i", "a", "1")
			return nil
		})
		require.Error(t, err)
		if st.d.pipeline != nil {
			var pgErr *pgconn.PgError
			require.ErrorAs(t, err, &pgErr)
			require.Equal(t, "23505", pgErr.Code)
		}
		require.False(t, stored("e"))
		value, err = st.Cursor(ctx, "i", "a")
		require.NoError(t, err)
		require.Equal(t, "3", value, "the committed write is untouched")
	})
}
