package conformance_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/store"
	"github.com/casino-support/gateway/test/conformance"
)

// TestSQLiteStore runs the store suite against the embedded default store, one fresh
// database per subtest, on the suite's clock.
func TestSQLiteStore(t *testing.T) {
	conformance.RunStore(t, func(t *testing.T, now func() time.Time) conformance.Store {
		st, err := store.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "gateway.db"), store.Options{Now: now, ReopenClosed: []normalize.InstanceName{conformance.ReopenDesk}})
		require.NoError(t, err, "OpenSQLite()")
		t.Cleanup(func() { require.NoError(t, st.Close(), "Close()") })
		return st
	})
}
