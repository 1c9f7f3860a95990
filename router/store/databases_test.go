package store

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/router/store/pgtest"
)

// onBothDatabases runs test on a fresh store on SQLite, then on PostgreSQL.
func onBothDatabases(t *testing.T, test func(t *testing.T, st *Store)) {
	for _, tc := range []struct {
		name string
		open func(t *testing.T) (*Store, error)
	}{
		{"sqlite", func(t *testing.T) (*Store, error) {
			return OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "gw.db"), Options{})
		}},
		{"postgres", func(t *testing.T) (*Store, error) { return OpenPostgres(t.Context(), pgtest.DSN(t), Options{}) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := tc.open(t)
			require.NoError(t, err)
			t.Cleanup(func() { st.Close() })
			test(t, st)
		})
	}
}

// openSQLite returns a store on a fresh SQLite database, with opts when given, closed when
// the test ends.
func openSQLite(t *testing.T, opts ...Options) *Store {
	t.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	st, err := OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "gw.db"), o)
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	return st
}
