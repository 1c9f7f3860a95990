package conformance_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/router/store"
	"github.com/casino-support/gateway/test/conformance"
)

// TestSQLiteStore runs the store suite against the embedded default store, one fresh
// database per subtest.
func TestSQLiteStore(t *testing.T) {
	conformance.RunStore(t, func(t *testing.T) conformance.Store {
		st, err := store.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "gateway.db"), store.Options{})
		require.NoError(t, err, "OpenSQLite()")
		t.Cleanup(func() { require.NoError(t, st.Close(), "Close()") })
		return st
	})
}
