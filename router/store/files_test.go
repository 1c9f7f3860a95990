package store_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/store"
)

// TestDatabaseFilesArePrivate: the database holds players' messages and identities, so it and
// the files SQLite keeps beside it (-wal, -shm) are readable by the gateway's user only,
// whatever the umask, and a database an earlier version left world-readable is narrowed.
func TestDatabaseFilesArePrivate(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, path string)
	}{
		{"new database", func(*testing.T, string) {}},
		{"world-readable database of an earlier version", func(t *testing.T, path string) {
			st, err := store.OpenSQLite(t.Context(), path, store.Options{})
			require.NoError(t, err)
			require.NoError(t, st.Close())
			require.NoError(t, os.Chmod(path, 0o644))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "data", "gateway.db")
			require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o750))
			tc.prepare(t, path)
			st, err := store.OpenSQLite(t.Context(), path, store.Options{})
			require.NoError(t, err, "OpenSQLite()")
			t.Cleanup(func() { st.Close() })
			// A write while open makes SQLite create the -wal and -shm files.
			_, err = st.Intake(t.Context(), []normalize.Message{inbound("p1", "m1")}, assess)
			require.NoError(t, err)

			entries, err := os.ReadDir(filepath.Dir(path))
			require.NoError(t, err)
			var names []string
			for _, e := range entries {
				info, err := e.Info()
				require.NoError(t, err)
				names = append(names, e.Name())
				require.Zero(t, info.Mode().Perm()&0o077, "%s has mode %s", e.Name(), info.Mode().Perm())
			}
			require.Subset(t, names, []string{"gateway.db", "gateway.db-wal", "gateway.db-shm"})
		})
	}
}
