package store

import (
	"context"
	"path/filepath"
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
	st, err := OpenSQLite(ctx, filepath.Join(t.TempDir(), "gw.db"), Options{})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
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
