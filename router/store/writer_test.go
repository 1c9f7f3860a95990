package store_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/router/store"
)

// Writes submitted after Close are refused, never left waiting for a writer that has stopped.
// Each call races the closed writer against room in its queue, so many calls are made: with
// the race lost every other time, one of them would hang.
func TestWriteAfterCloseIsRefused(t *testing.T) {
	st, err := store.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "gw.db"), store.Options{})
	require.NoError(t, err)
	require.NoError(t, st.Close())
	for i := range 64 {
		done := make(chan error, 1)
		go func() { done <- st.SetCursor(context.Background(), "chat", "offset", "1") }()
		select {
		case err := <-done:
			require.Error(t, err, "SetCursor() #%d after Close", i)
		case <-time.After(5 * time.Second):
			t.Fatalf("SetCursor() #%d after Close did not return", i)
		}
	}
}
