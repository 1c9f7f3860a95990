package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/router/store"
	"github.com/casino-support/gateway/router/store/pgtest"
)

// TestRecordsMigrationMovesNoticeCursors: a database migrated up to the one before the
// records table, holding the e-mail channel's notice cursors and the voice channel's
// handled-call cursors, gets them as records that expire 30 days after they were written,
// and no longer as cursors; other cursors stay.
func TestRecordsMigrationMovesNoticeCursors(t *testing.T) {
	for _, d := range []struct {
		name, driver, file string
		dsn                func(t *testing.T) string
		sqlDriver          func(dsn string) (string, string)
	}{
		{"sqlite", "sqlite", "0007_records.sql", func(t *testing.T) string { return filepath.Join(t.TempDir(), "gw.db") },
			func(dsn string) (string, string) { return "sqlite", "file:" + dsn + "?_pragma=busy_timeout(10000)" }},
		{"postgres", "postgres", "0005_records.sql", func(t *testing.T) string { return pgtest.DSN(t) },
			func(dsn string) (string, string) { return "pgx", dsn }},
	} {
		t.Run(d.name, func(t *testing.T) {
			ctx := context.Background()
			dsn := d.dsn(t)
			db, err := sql.Open(d.sqlDriver(dsn))
			require.NoError(t, err)
			defer db.Close()
			applyMigrationsBefore(t, db, filepath.Join("migrations", d.name), d.file)

			written := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC).UnixMilli()
			for _, c := range [][2]string{
				{"notice:notice-1@casino.example", "2026-11-01T12:00:00Z"},
				{"handled:CA1", "1"},
				{"handled:CA2", ""}, // emptied: nothing to keep
				{"imap:INBOX", "v1 1 0 42"},
			} {
				_, err := db.ExecContext(ctx, `INSERT INTO cursors (instance, key, value, updated_at) VALUES ('line', '`+c[0]+`', '`+c[1]+`', `+
					strconv.FormatInt(written, 10)+`)`)
				require.NoError(t, err)
			}

			st, err := store.Open(ctx, d.driver, dsn, store.Options{Now: func() time.Time { return time.UnixMilli(written).Add(time.Hour) }})
			require.NoError(t, err)
			defer st.Close()
			recs, err := st.ListRecords(ctx, "line", "", "", 10)
			require.NoError(t, err)
			var keys []string
			for _, r := range recs {
				keys = append(keys, r.Key)
				require.Equal(t, time.UnixMilli(written).Add(30*24*time.Hour).UnixMilli(), r.Expires.UnixMilli(), r.Key)
			}
			require.Equal(t, []string{"handled:CA1", "notice:notice-1@casino.example"}, keys)
			for _, key := range []string{"notice:notice-1@casino.example", "handled:CA1", "handled:CA2"} {
				v, err := st.Cursor(ctx, "line", key)
				require.NoError(t, err)
				require.Empty(t, v, "%s is no cursor any more", key)
			}
			v, err := st.Cursor(ctx, "line", "imap:INBOX")
			require.NoError(t, err)
			require.Equal(t, "v1 1 0 42", v, "other cursors stay")
		})
	}
}

// applyMigrationsBefore applies the migrations in dir that sort before stop, as the store
// does, and records them.
func applyMigrationsBefore(t *testing.T, db *sql.DB, dir, stop string) {
	t.Helper()
	ctx := context.Background()
	_, err := db.ExecContext(ctx, `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`)
	require.NoError(t, err)
	files, err := filepath.Glob(filepath.Join(dir, "*.sql"))
	require.NoError(t, err)
	for _, f := range files {
		name := filepath.Base(f)
		if name >= stop {
			break
		}
		body, err := os.ReadFile(f)
		require.NoError(t, err)
		_, err = db.ExecContext(ctx, string(body))
		require.NoError(t, err, name)
		version, err := strconv.Atoi(strings.SplitN(name, "_", 2)[0])
		require.NoError(t, err)
		_, err = db.ExecContext(ctx, fmt.Sprintf(`INSERT INTO schema_migrations (version, applied_at) VALUES (%d, 0)`, version))
		require.NoError(t, err)
	}
}
