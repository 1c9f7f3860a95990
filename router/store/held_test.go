package store_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/store"
	"github.com/casino-support/gateway/router/store/pgtest"
)

// A conversation the FAQ bot holds is stored but never claimed for its helpdesk, nor makes
// the router poll for it; Release posts everything held in order, Settle takes it out of
// the queue up to the message named, and a message stored after it stays queued.
func TestHeldLanes(t *testing.T) {
	for _, tc := range []struct {
		name string
		open func(t *testing.T) *store.Store
	}{
		{"sqlite", func(t *testing.T) *store.Store {
			st, err := store.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "gw.db"), store.Options{})
			require.NoError(t, err)
			return st
		}},
		{"postgres", func(t *testing.T) *store.Store {
			st, err := store.OpenPostgres(t.Context(), pgtest.DSN(t), store.Options{})
			require.NoError(t, err)
			return st
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			st := tc.open(t)
			t.Cleanup(func() { st.Close() })
			hold := func(normalize.Message) store.Assessment { return store.Assessment{Helpdesk: "desk", Hold: "faq"} }

			acc, err := st.Intake(ctx, []normalize.Message{inbound("p1", "q1"), inbound("p1", "q2")}, hold)
			require.NoError(t, err)
			conv := acc[0].Conversation
			// An ordinary conversation next to it is claimed as always.
			_, err = st.Intake(ctx, []normalize.Message{inbound("p2", "x1")}, assess)
			require.NoError(t, err)

			bot, err := st.HeldBy(ctx, conv)
			require.NoError(t, err)
			require.Equal(t, "faq", bot)
			lanes, err := st.Claim(ctx, "w", store.Budget{Inbound: 10, Outbound: 10}, 10, time.Minute)
			require.NoError(t, err)
			require.Len(t, lanes, 1)
			require.NotEqual(t, conv, lanes[0].Conversation.ID, "the held lane is not claimed")
			require.NoError(t, st.Complete(ctx, store.Outcome{Conversation: lanes[0].Conversation.ID, Direction: normalize.Inbound, Owner: "w",
				Token: lanes[0].Token, Target: "desk", Delivered: []store.Delivered{{Seq: lanes[0].Pending[0].Seq, ID: lanes[0].Pending[0].Message.ID}}}))
			next, err := st.NextDue(ctx)
			require.NoError(t, err)
			require.True(t, next.IsZero(), "a held lane makes nothing due")

			// Settle up to q1: q2 stays queued (and held).
			settled, err := st.Settle(ctx, conv, acc[0].ID)
			require.NoError(t, err)
			require.True(t, settled)
			stats, err := st.Stats(ctx)
			require.NoError(t, err)
			require.Equal(t, 1, stats.Queued[normalize.Inbound], "q2 is still queued")

			// A player writing again stays with the bot: the lane is still held.
			_, err = st.Intake(ctx, []normalize.Message{inbound("p1", "q3")}, assess)
			require.NoError(t, err)
			lanes, err = st.Claim(ctx, "w", store.Budget{Inbound: 10}, 10, time.Minute)
			require.NoError(t, err)
			require.Empty(t, lanes)

			released, err := st.Release(ctx, conv, nil)
			require.NoError(t, err)
			require.True(t, released)
			released, err = st.Release(ctx, conv, nil)
			require.NoError(t, err)
			require.False(t, released, "a second release does nothing")
			bot, err = st.HeldBy(ctx, conv)
			require.NoError(t, err)
			require.Empty(t, bot)
			lanes, err = st.Claim(ctx, "w", store.Budget{Inbound: 10}, 10, time.Minute)
			require.NoError(t, err)
			require.Len(t, lanes, 1)
			require.Equal(t, conv, lanes[0].Conversation.ID)
			// The conversation has no ticket yet: the opening message goes alone, q2 first.
			require.Equal(t, "q2", lanes[0].Pending[0].Message.Text)
			settled, err = st.Settle(ctx, conv, acc[1].ID)
			require.NoError(t, err)
			require.False(t, settled, "a handed-off conversation is not settled")

			// A bot no longer configured leaves nothing held: the start releases it.
			other := func(normalize.Message) store.Assessment { return store.Assessment{Helpdesk: "desk", Hold: "gone"} }
			acc, err = st.Intake(ctx, []normalize.Message{inbound("p3", "g1")}, other)
			require.NoError(t, err)
			n, err := st.ReleaseOthers(ctx, []string{"faq", "other"}, nil)
			require.NoError(t, err)
			require.Equal(t, 1, n)
			bot, err = st.HeldBy(ctx, acc[0].Conversation)
			require.NoError(t, err)
			require.Empty(t, bot)
			n, err = st.ReleaseOthers(ctx, nil, nil)
			require.NoError(t, err)
			require.Zero(t, n)
		})
	}
}
