package store

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
)

// The empty-claim check on a read connection passes over the lanes the FAQ bot holds, as the
// claim does: a held lane must not send every claim on to the writer for nothing (issue 16).
func TestNothingDueLeavesHeldLanesOut(t *testing.T) {
	onBothDatabases(t, func(t *testing.T, st *Store) {
		ctx := context.Background()
		msg := func(addr string) normalize.Message {
			return normalize.Message{Direction: normalize.Inbound, Source: "chat", Channel: "chat", ChannelKind: normalize.KindLoopback,
				Address: normalize.Address(addr), ExternalID: normalize.ExternalID(addr + "-1"),
				Author: normalize.Author{Role: normalize.RolePlayer}, Text: "hello"}
		}
		later := millis(time.Now().Add(time.Minute))
		both := Budget{Inbound: 4, Outbound: 4}

		_, err := st.Intake(ctx, []normalize.Message{msg("held")}, func(normalize.Message) Assessment {
			return Assessment{Helpdesk: "desk", Hold: "faq"}
		})
		require.NoError(t, err)
		require.True(t, st.nothingDue(ctx, both, later), "a held lane is not claimable")

		_, err = st.Intake(ctx, []normalize.Message{msg("free")}, func(normalize.Message) Assessment {
			return Assessment{Helpdesk: "desk"}
		})
		require.NoError(t, err)
		require.False(t, st.nothingDue(ctx, both, later), "an ordinary due lane is")
		require.True(t, st.nothingDue(ctx, Budget{Outbound: 4}, later), "nor is it when only outbound lanes are asked for")
	})
}
