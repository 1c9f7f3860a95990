package store

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
)

// What must survive a power loss is synced; what the far end would recognise if repeated is
// not (issue 16): intake always syncs before it returns, a completion of inbound messages
// syncs only when it records a ticket or hands out the lane's next messages (their attempts
// must be on disk before they are posted), and agents' replies always sync.
func TestSyncedOnlyWhatMustSurviveAPowerLoss(t *testing.T) {
	ctx := context.Background()
	st := openSQLite(t)
	syncs := 0
	real := st.writer.syncWAL
	st.writer.syncWAL = func() error { syncs++; return real() }
	synced := func(what string, fn func()) {
		t.Helper()
		before := syncs
		fn()
		require.Equal(t, 1, syncs-before, "%s must be synced", what)
	}
	notSynced := func(what string, fn func()) {
		t.Helper()
		before := syncs
		fn()
		require.Equal(t, 0, syncs-before, "%s must not wait for a sync", what)
	}
	assess := func(normalize.Message) Assessment { return Assessment{Helpdesk: "desk"} }
	msg := func(ext string) normalize.Message {
		return normalize.Message{Direction: normalize.Inbound, Source: "chat", Channel: "chat", ChannelKind: normalize.KindLoopback,
			Address: "p1", ExternalID: normalize.ExternalID(ext), Author: normalize.Author{Role: normalize.RolePlayer}, Text: ext}
	}
	h := Handoff{Owner: "w", Max: Budget{Inbound: 1}, Batch: 10, Lease: time.Minute}
	var lanes []Lane
	var err error
	synced("intake", func() {
		_, lanes, err = st.IntakeHandoff(ctx, []normalize.Message{msg("m1"), msg("m2")}, assess, h)
		require.NoError(t, err)
	})
	require.Len(t, lanes, 1)
	lane := lanes[0]
	require.Len(t, lane.Pending, 1, "the opening message goes alone")
	delivered := func(l Lane, ticket normalize.Ref) Outcome {
		o := Outcome{Conversation: l.Conversation.ID, Direction: l.Direction, Owner: "w", Token: l.Token, Target: "desk", Ticket: ticket}
		for _, p := range l.Pending {
			o.Delivered = append(o.Delivered, Delivered{Seq: p.Seq, ID: p.Message.ID, TargetID: normalize.ExternalID("t-" + p.Message.ExternalID)})
		}
		return o
	}
	var ok bool
	synced("a completion that records the ticket and hands out the next message", func() {
		lane, ok, err = st.CompleteNext(ctx, delivered(lane, "T-1"), 10, time.Minute)
		require.NoError(t, err)
		require.True(t, ok)
	})
	notSynced("a completion of inbound messages with nothing left", func() {
		_, ok, err = st.CompleteNext(ctx, delivered(lane, ""), 10, time.Minute)
		require.NoError(t, err)
		require.False(t, ok)
	})

	conv := lane.Conversation.ID
	_, lanes, err = st.IntakeHandoff(ctx, []normalize.Message{{Direction: normalize.Outbound, Source: "desk", ExternalID: "r1",
		Conversation: conv, Author: normalize.Author{Role: normalize.RoleAgent}, Text: "hi"}}, assess, Handoff{Owner: "w", Max: Budget{Outbound: 1}, Batch: 10, Lease: time.Minute})
	require.NoError(t, err)
	require.Len(t, lanes, 1)
	synced("a completion of an agent's reply", func() {
		_, _, err = st.CompleteNext(ctx, delivered(lanes[0], ""), 10, time.Minute)
		require.NoError(t, err)
	})
}

// The writer runs the next group commit while the log is synced (issue 16: a seventh of a
// burst's writer time was fdatasync), and no caller hears of its commit before every earlier
// commit is durable: a lazy one's caller neither, since what it goes on to do may rest on the
// earlier commit.
func TestNextCommitRunsWhileTheLogSyncs(t *testing.T) {
	ctx := context.Background()
	st := openSQLite(t)
	syncing, open := holdFirstSync(t, st, nil)
	durable := make(chan error, 1)
	go func() {
		durable <- st.writer.do(ctx, func(ctx context.Context, tx *wtx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO cursors (instance, key, value, updated_at) VALUES ('a', 'k', 'v', 0)`)
			return err
		})
	}()
	select {
	case <-syncing:
	case err := <-durable:
		t.Fatalf("the write was answered (%v) without a sync", err)
	}
	ran := make(chan struct{})
	lazy := make(chan error, 1)
	go func() {
		lazy <- st.writer.doLazy(ctx, func(ctx context.Context, tx *wtx) error {
			defer close(ran)
			_, err := tx.ExecContext(ctx, `INSERT INTO cursors (instance, key, value, updated_at) VALUES ('b', 'k', 'v', 0)`)
			return err
		})
	}()
	select {
	case <-ran:
	case <-time.After(10 * time.Second):
		t.Fatal("the next group commit waited for the sync of the one before")
	}
	select {
	case err := <-lazy:
		t.Fatalf("a commit was answered (%v) before the earlier commit was durable", err)
	case <-time.After(50 * time.Millisecond):
	}
	open()
	require.NoError(t, <-durable)
	require.NoError(t, <-lazy)
}

// A sync that fails fails the commit it followed, those made while it ran, and every commit
// after it: Linux may drop the pages a failed fsync could not write and report the next sync
// clean, and recovery stops the log at the first lost frame. Callers hear an error, and write
// again after a restart, which the store recognises; none is told its write is durable.
func TestFailedSyncFailsEveryCommitUntilARestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "gw.db")
	st, err := OpenSQLite(ctx, path, Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	closed := false
	t.Cleanup(func() {
		if !closed {
			st.Close()
		}
	})
	syncing, open := holdFirstSync(t, st, errors.New("EIO"))
	insert := func(key string) func(ctx context.Context, tx *wtx) error {
		return func(ctx context.Context, tx *wtx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO cursors (instance, key, value, updated_at) VALUES ('a', ?, 'v', 0)`, key)
			return err
		}
	}
	failed := make(chan error, 1)
	go func() { failed <- st.writer.do(ctx, insert("k1")) }()
	<-syncing
	ran := make(chan struct{})
	during := make(chan error, 1)
	go func() {
		during <- st.writer.do(ctx, func(ctx context.Context, tx *wtx) error {
			defer close(ran)
			return insert("k2")(ctx, tx)
		})
	}()
	<-ran // committed while the failing sync ran
	open()
	require.ErrorContains(t, <-failed, "sync the write-ahead log: EIO")
	require.ErrorContains(t, <-during, "sync the write-ahead log: EIO", "a commit waits for the sync before its own")
	require.ErrorContains(t, st.writer.do(ctx, insert("k3")), "until the gateway restarts", "a later commit cannot be durable either")
	require.ErrorContains(t, st.Ping(ctx), "until the gateway restarts", "the gateway is no longer ready")

	require.NoError(t, st.Close())
	closed = true
	st, err = OpenSQLite(ctx, path, Options{})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	require.NoError(t, st.writer.do(ctx, insert("k4")), "a restarted store writes again")
}

// holdFirstSync holds the store's next sync of the log until open is called, and then has it
// fail with err, or sync. syncing is closed once the sync is held. open is called on cleanup,
// before Close, which waits for the sync, when a test fails early.
func holdFirstSync(t *testing.T, st *Store, err error) (syncing <-chan struct{}, open func()) {
	real := st.writer.syncWAL
	held, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	open = func() { once.Do(func() { close(release) }) }
	t.Cleanup(open)
	first := true
	st.writer.syncWAL = func() error {
		if first {
			first = false
			close(held)
			<-release
			if err != nil {
				return err
			}
		}
		return real()
	}
	return held, open
}
