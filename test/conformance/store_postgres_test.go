package conformance_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/store"
	"github.com/casino-support/gateway/router/store/pgtest"
	"github.com/casino-support/gateway/test/conformance"
)

// TestPostgresStore runs the store suite against PostgreSQL, one fresh schema per subtest
// (pgtest says which server, and when the test skips).
func TestPostgresStore(t *testing.T) {
	conformance.RunStore(t, func(t *testing.T, now func() time.Time) conformance.Store {
		st, err := store.OpenPostgres(t.Context(), pgtest.DSN(t), store.Options{Now: now, ReopenClosed: []normalize.InstanceName{conformance.ReopenDesk}})
		require.NoError(t, err, "OpenPostgres()")
		t.Cleanup(func() { require.NoError(t, st.Close(), "Close()") })
		return st
	})
}
