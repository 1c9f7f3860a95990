package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/store"
	"github.com/casino-support/gateway/router/store/pgtest"
)

// TestOpensADatabaseMigratedByANewerVersion: during a rolling upgrade the new version
// migrates the database while replicas of the previous one still run and restart. The
// previous version must start on that database and keep working (docs/deploy.md, "Rolling
// upgrades"): it skips migrations it does not know rather than refusing, and its queries name
// their columns, so a column added nullable or with a default and a new table change nothing
// for it.
func TestOpensADatabaseMigratedByANewerVersion(t *testing.T) {
	for _, d := range []struct {
		name, driver string
		dsn          func(t *testing.T) string
		sqlDriver    func(dsn string) (string, string)
	}{
		{"sqlite", "sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "gw.db") },
			func(dsn string) (string, string) { return "sqlite", "file:" + dsn + "?_pragma=busy_timeout(10000)" }},
		{"postgres", "postgres", func(t *testing.T) string { return pgtest.DSN(t) },
			func(dsn string) (string, string) { return "pgx", dsn }},
	} {
		t.Run(d.name, func(t *testing.T) {
			ctx := context.Background()
			dsn := d.dsn(t)
			st, err := store.Open(ctx, d.driver, dsn, store.Options{})
			require.NoError(t, err)
			_, err = st.Intake(ctx, []normalize.Message{inbound("p1", "before")}, assess)
			require.NoError(t, err)
			require.NoError(t, st.Close())

			// What a next version's migration may do, by the rule: record itself, add a table,
			// add columns nullable or with a default.
			db, err := sql.Open(d.sqlDriver(dsn))
			require.NoError(t, err)
			defer db.Close()
			var known int
			require.NoError(t, db.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&known))
			future := known + 1000
			for _, stmt := range []string{
				`CREATE TABLE future_things (id BIGINT PRIMARY KEY, what TEXT)`,
				`ALTER TABLE messages ADD COLUMN future_note TEXT`,
				`ALTER TABLE conversations ADD COLUMN future_flag INTEGER NOT NULL DEFAULT 0`,
				`ALTER TABLE lanes ADD COLUMN future_hint TEXT`,
			} {
				_, err := db.ExecContext(ctx, stmt)
				require.NoError(t, err, stmt)
			}
			_, err = db.ExecContext(ctx, fmt.Sprintf(`INSERT INTO schema_migrations (version, applied_at) VALUES (%d, %d)`, future, time.Now().UnixMilli()))
			require.NoError(t, err)

			// The previous version opens it and runs its whole cycle on it.
			st, err = store.Open(ctx, d.driver, dsn, store.Options{})
			require.NoError(t, err, "a database one version ahead must not stop the previous version from starting")
			defer st.Close()
			_, err = st.Intake(ctx, []normalize.Message{inbound("p1", "after"), inbound("p2", "new")}, assess)
			require.NoError(t, err)
			delivered := 0
			for range 10 {
				lanes, err := st.Claim(ctx, "old", store.Budget{Inbound: 10}, 10, time.Minute)
				require.NoError(t, err)
				if len(lanes) == 0 {
					break
				}
				for _, l := range lanes {
					o := store.Outcome{Conversation: l.Conversation.ID, Direction: l.Direction, Owner: "old", Token: l.Token,
						Target: "desk", Ticket: normalize.Ref("T-" + string(l.Conversation.ID))}
					for _, p := range l.Pending {
						o.Delivered = append(o.Delivered, store.Delivered{Seq: p.Seq, ID: p.Message.ID, TargetID: normalize.ExternalID("hd-" + string(p.Message.ID))})
					}
					require.NoError(t, st.Complete(ctx, o))
					delivered += len(o.Delivered)
				}
			}
			require.Equal(t, 3, delivered, "every message, the one stored before and the two after the newer migration")

			var version int
			require.NoError(t, db.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&version))
			require.Equal(t, future, version, "the previous version neither undoes nor re-applies the newer migration")
		})
	}
}
