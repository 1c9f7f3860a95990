package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

// A group commit whose operation fails commits the others' writes and none of the failing
// one's (each runs in a savepoint of its own). The batch is made deterministic: a first
// operation holds the writer while the others queue behind it.
func TestFailingWriteRollsBackAlone(t *testing.T) {
	ctx := t.Context()
	st, err := OpenSQLite(ctx, filepath.Join(t.TempDir(), "gw.db"), Options{})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	assess := func(normalize.Message) Assessment { return Assessment{Helpdesk: "desk"} }
	noDesk := func(normalize.Message) Assessment { return Assessment{} }
	msg := func(addr, ext string) normalize.Message {
		return normalize.Message{Direction: normalize.Inbound, Source: "chat", Channel: "chat", ChannelKind: normalize.KindLoopback,
			Address: normalize.Address(addr), ExternalID: normalize.ExternalID(ext), Author: normalize.Author{Role: normalize.RolePlayer}, Text: ext}
	}

	release, running := make(chan struct{}), make(chan struct{})
	held := make(chan error, 1)
	go func() {
		held <- st.writer.do(ctx, func(context.Context, *wtx) error { close(running); <-release; return nil })
	}()
	<-running
	released := false
	defer func() {
		if !released {
			close(release) // let Close finish when the test fails early
		}
	}()
	type result struct {
		i   int
		err error
	}
	results := make(chan result, 8)
	for i := range 8 {
		go func() {
			// Every third message opens a conversation no helpdesk takes: it fails inside the
			// transaction, after its dedup key and conversation were written.
			a := assess
			if i%3 == 0 {
				a = noDesk
			}
			_, err := st.Intake(ctx, []normalize.Message{msg(fmt.Sprintf("p%d", i), fmt.Sprintf("m%d", i))}, a)
			results <- result{i, err}
		}()
	}
	require.Eventually(t, func() bool { return len(st.writer.ops)+len(st.writer.firstOps) == 8 }, 5*time.Second, time.Millisecond)
	close(release)
	released = true
	require.NoError(t, <-held)
	for range 8 {
		r := <-results
		if r.i%3 == 0 {
			require.ErrorIs(t, r.err, connectors.ErrPermanent, "message %d", r.i)
			continue
		}
		require.NoError(t, r.err, "message %d", r.i)
	}
	for i := range 8 {
		_, err := st.ConversationAt(ctx, "chat", normalize.Address(fmt.Sprintf("p%d", i)))
		if i%3 == 0 {
			require.ErrorIs(t, err, ErrNotFound, "the failed message %d opened no conversation", i)
			// Nor was its dedup key kept: the same message is new when a helpdesk takes it.
			acc, err := st.Intake(ctx, []normalize.Message{msg(fmt.Sprintf("p%d", i), fmt.Sprintf("m%d", i))}, assess)
			require.NoError(t, err)
			require.False(t, acc[0].Duplicate, "message %d", i)
			continue
		}
		require.NoError(t, err, "message %d was stored", i)
	}
}
