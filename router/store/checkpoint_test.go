package store

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
)

// SQLite's write-ahead log is copied into the database by the store's checkpointer, on a
// connection of its own, after commits: not by the writer inside the commit that crossed
// SQLite's threshold, which every caller of that group commit waited for (issue 16). An idle
// store arms no timer, and a store closed with a checkpoint due closes cleanly.
func TestCheckpointsOffTheWriter(t *testing.T) {
	ctx := t.Context()
	st, err := OpenSQLite(ctx, filepath.Join(t.TempDir(), "gw.db"), Options{})
	require.NoError(t, err)
	closed := false
	t.Cleanup(func() {
		if !closed {
			st.Close()
		}
	})
	ckpt := st.wal.ckpt

	var pages int
	require.NoError(t, st.write.QueryRowContext(ctx, `PRAGMA wal_autocheckpoint`).Scan(&pages))
	require.Equal(t, writerCheckpointPages, pages, "the writer must checkpoint only when the checkpointer fell far behind")

	assess := func(normalize.Message) Assessment { return Assessment{Helpdesk: "desk"} }
	for i := range 20 {
		_, err := st.Intake(ctx, []normalize.Message{{Direction: normalize.Inbound, Source: "chat", Channel: "chat",
			ChannelKind: normalize.KindLoopback, Address: "p1", ExternalID: normalize.ExternalID(rune('a' + i)),
			Author: normalize.Author{Role: normalize.RolePlayer}, Text: "hello"}}, assess)
		require.NoError(t, err)
	}
	runs := func() (int, int) {
		ckpt.mu.Lock()
		defer ckpt.mu.Unlock()
		return ckpt.runs, ckpt.framesLeft
	}
	require.Eventually(t, func() bool { n, _ := runs(); return n > 0 }, 5*time.Second, 10*time.Millisecond,
		"a checkpoint must follow the commits")
	_, left := runs()
	require.Zero(t, left, "the checkpoint must copy the whole log")
	require.Eventually(t, func() bool { return !ckpt.armed.Load() }, time.Second, time.Millisecond,
		"an idle store must arm no checkpoint")

	// Closed with a checkpoint due: once Close returned, no checkpoint runs.
	_, err = st.Intake(ctx, []normalize.Message{{Direction: normalize.Inbound, Source: "chat", Channel: "chat",
		ChannelKind: normalize.KindLoopback, Address: "p1", ExternalID: "last",
		Author: normalize.Author{Role: normalize.RolePlayer}, Text: "bye"}}, assess)
	require.NoError(t, err)
	require.True(t, ckpt.armed.Load(), "a commit must arm a checkpoint")
	closed = true
	require.NoError(t, st.Close())
	atClose, _ := runs()
	time.Sleep(2 * checkpointDelay)
	n, _ := runs()
	require.Equal(t, atClose, n, "no checkpoint may run on a closed store")
}
