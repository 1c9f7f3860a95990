package store

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"
)

// TestMigrateAppliesAVersionThatLandedLate: migration numbers are handed out to work built
// side by side, so a database may hold versions 1 and 3 when version 2 arrives; 2 must still
// be applied, once, and 1 and 3 not again.
func TestMigrateAppliesAVersionThatLandedLate(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "m.db"))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	open := func(files fstest.MapFS) error {
		s := &Store{d: &dialect{name: "sqlite", migrations: files}, write: db, now: time.Now}
		return s.migrate(ctx)
	}
	one := &fstest.MapFile{Data: []byte(`CREATE TABLE one (x INTEGER)`)}
	three := &fstest.MapFile{Data: []byte(`CREATE TABLE three (x INTEGER)`)}
	require.NoError(t, open(fstest.MapFS{"0001_one.sql": one, "0003_three.sql": three}))

	two := &fstest.MapFile{Data: []byte(`CREATE TABLE two (x INTEGER)`)}
	all := fstest.MapFS{"0001_one.sql": one, "0002_two.sql": two, "0003_three.sql": three}
	require.NoError(t, open(all), "1 and 3 are not applied again (CREATE TABLE would fail), 2 is")
	require.NoError(t, open(all), "nothing is applied twice")

	var versions []int
	rows, err := db.QueryContext(ctx, `SELECT version FROM schema_migrations ORDER BY version`)
	require.NoError(t, err)
	defer rows.Close()
	for rows.Next() {
		var v int
		require.NoError(t, rows.Scan(&v))
		versions = append(versions, v)
	}
	require.Equal(t, []int{1, 2, 3}, versions)
	_, err = db.ExecContext(ctx, `INSERT INTO two (x) VALUES (1)`)
	require.NoError(t, err, "version 2 created its table")
}
