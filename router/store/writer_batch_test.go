package store

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
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
	st := openSQLite(t)
	assess := func(normalize.Message) Assessment { return Assessment{Helpdesk: "desk"} }
	noDesk := func(normalize.Message) Assessment { return Assessment{} }
	msg := func(addr, ext string) normalize.Message {
		return normalize.Message{Direction: normalize.Inbound, Source: "chat", Channel: "chat", ChannelKind: normalize.KindLoopback,
			Address: normalize.Address(addr), ExternalID: normalize.ExternalID(ext), Author: normalize.Author{Role: normalize.RolePlayer}, Text: ext}
	}

	release := holdWriter(t, st)
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
	release()
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

// Intake's writes (doFirst) go before the writes waiting when the writer takes its next
// batch, and commit without them: in a burst intake bounds the rate, and it waited behind
// every worker's completion, on SQLite inside its own transaction (issue 16).
func TestFirstWritesGoFirstAndAlone(t *testing.T) {
	ctx := t.Context()
	st := openSQLite(t)

	release := holdWriter(t, st)
	done := make(chan error, 3)
	var w writes
	write := w.write
	for _, name := range []string{"completion 1", "completion 2"} {
		go func() { done <- st.writer.do(ctx, write(name)) }()
	}
	require.Eventually(t, func() bool { return len(st.writer.ops) == 2 }, 5*time.Second, time.Millisecond)
	go func() { done <- st.writer.doFirst(ctx, write("intake")) }()
	require.Eventually(t, func() bool { return len(st.writer.firstOps) == 1 }, 5*time.Second, time.Millisecond)
	release()
	for range 3 {
		require.NoError(t, <-done)
	}
	order := w.ran()
	require.Len(t, order, 3)
	require.Equal(t, "intake", order[0], "the intake queued last runs first: %v", order)
	require.NotSame(t, w.txOf["intake"], w.txOf["completion 1"], "the intake commits alone")
	require.Same(t, w.txOf["completion 1"], w.txOf["completion 2"], "the others share a commit")
}

// A lazy write (an inbound completion) that finds the writer idle waits for the next write
// and commits with it, an intake going first: at a steady rate that saves a transaction per
// message (issue 16). The bubble lets the test see the writer idle before the completion
// comes, and waiting for the intake.
func TestLazyWriteSharesTheNextCommit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		st := openSQLite(t, Options{LazyHold: time.Minute})

		var w writes
		write := w.write
		synctest.Wait() // the writer is idle
		completion := &writeOp{ctx: ctx, fn: write("completion"), done: make(chan error, 1), lazy: true}
		st.writer.ops <- completion
		synctest.Wait() // and holds the completion
		require.Empty(t, w.ran(), "the completion waits")
		require.NoError(t, st.writer.doFirst(ctx, write("intake")))
		require.NoError(t, <-completion.done)
		require.Equal(t, []string{"intake", "completion"}, w.ran(), "the intake goes first")
		require.Same(t, w.txOf["intake"], w.txOf["completion"], "one commit holds both")
	})
}

// A lazy write with no company commits once the hold is over; one waiting when the store
// closes is committed at once, without waiting out the hold.
func TestLazyWriteAloneCommits(t *testing.T) {
	for _, closing := range []bool{false, true} {
		t.Run(fmt.Sprintf("closing=%v", closing), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := t.Context()
				st, err := OpenSQLite(ctx, filepath.Join(t.TempDir(), "gw.db"), Options{LazyHold: time.Hour})
				require.NoError(t, err)
				var ran atomic.Bool
				completion := &writeOp{ctx: ctx, fn: func(context.Context, *wtx) error { ran.Store(true); return nil }, done: make(chan error, 1), lazy: true}
				synctest.Wait()
				start := time.Now()
				st.writer.ops <- completion
				synctest.Wait()
				require.False(t, ran.Load(), "the completion waits")
				if closing {
					require.NoError(t, st.Close())
					require.Less(t, time.Since(start), time.Hour, "Close did not wait out the hold")
				}
				require.NoError(t, <-completion.done)
				require.True(t, ran.Load())
				if !closing {
					require.Equal(t, time.Hour, time.Since(start), "committed when the hold ended")
					require.NoError(t, st.Close())
				}
			})
		})
	}
}

// writes records the order the writes it makes (write) ran in, and the transaction of each.
type writes struct {
	mu    sync.Mutex
	order []string
	txOf  map[string]*wtx
}

func (w *writes) write(name string) func(context.Context, *wtx) error {
	return func(_ context.Context, tx *wtx) error {
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.txOf == nil {
			w.txOf = map[string]*wtx{}
		}
		w.order = append(w.order, name)
		w.txOf[name] = tx
		return nil
	}
}

func (w *writes) ran() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.order)
}

// holdWriter keeps st's writer busy with a write until release is called (at the latest when
// the test ends, so that Close finishes), and the writes submitted meanwhile queue behind it.
func holdWriter(t *testing.T, st *Store) (release func()) {
	t.Helper()
	free, running := make(chan struct{}), make(chan struct{})
	held := make(chan error, 1)
	go func() {
		held <- st.writer.do(t.Context(), func(context.Context, *wtx) error { close(running); <-free; return nil })
	}()
	<-running
	var once sync.Once
	release = func() {
		once.Do(func() {
			close(free)
			require.NoError(t, <-held)
		})
	}
	t.Cleanup(release)
	return release
}

// The writer's own SQLite connection (writer.own) may break while it is idle. The next write
// then takes a fresh connection from the pool, prepares its statements on it again, and goes
// through: nothing of it had run on the broken one.
func TestWriterReplacesABrokenConnection(t *testing.T) {
	ctx := t.Context()
	st := openSQLite(t)
	assess := func(normalize.Message) Assessment { return Assessment{Helpdesk: "desk"} }
	msg := func(ext string) []normalize.Message {
		return []normalize.Message{{Direction: normalize.Inbound, Source: "chat", Channel: "chat", ChannelKind: normalize.KindLoopback,
			Address: "p1", ExternalID: normalize.ExternalID(ext), Author: normalize.Author{Role: normalize.RolePlayer}, Text: "hello"}}
	}
	_, err := st.Intake(ctx, msg("m1"), assess)
	require.NoError(t, err)
	broken := st.writer.own
	require.NotNil(t, broken, "the writer keeps the connection of its first transaction")
	require.NoError(t, broken.Close()) // as a connection the driver found bad is given up

	_, err = st.Intake(ctx, msg("m2"), assess)
	require.NoError(t, err, "the write after the break goes through")
	require.NotSame(t, broken, st.writer.own, "on a fresh connection")
	_, err = st.Intake(ctx, msg("m3"), assess)
	require.NoError(t, err)
	stats, err := st.Stats(ctx)
	require.NoError(t, err)
	require.Equal(t, 3, stats.Queued[normalize.Inbound], "every message was stored")
}
