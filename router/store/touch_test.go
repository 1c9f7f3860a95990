package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
)

// An open conversation's last activity (updated_at) is kept to touchEvery while its player
// writes: a message within it leaves the row alone (rewriting it per message was a tenth of a
// burst's CPU, issue 16), a later one moves it; closing and reopening set it exactly.
func TestLastActivityKeptToTheMinute(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	st, err := OpenSQLite(ctx, filepath.Join(t.TempDir(), "gw.db"), Options{Now: func() time.Time { return now }})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	assess := func(normalize.Message) Assessment { return Assessment{Helpdesk: "desk"} }
	n := 0
	write := func() {
		t.Helper()
		n++
		_, err := st.Intake(ctx, []normalize.Message{{Direction: normalize.Inbound, Source: "chat", Channel: "chat",
			ChannelKind: normalize.KindLoopback, Address: "p1", ExternalID: normalize.ExternalID(fmt.Sprintf("m%d", n)),
			Author: normalize.Author{Role: normalize.RolePlayer}, Text: "hi"}}, assess)
		require.NoError(t, err)
	}
	updated := func() time.Time {
		t.Helper()
		c, err := st.ConversationAt(ctx, "chat", "p1")
		require.NoError(t, err)
		return c.UpdatedAt
	}

	write()
	opened := now
	require.True(t, updated().Equal(opened))
	now = now.Add(touchEvery - time.Second)
	write()
	require.True(t, updated().Equal(opened), "a message within touchEvery leaves the last activity alone")
	now = now.Add(2 * time.Second)
	write()
	require.True(t, updated().Equal(now), "a message after touchEvery moves it")

	c, err := st.ConversationAt(ctx, "chat", "p1")
	require.NoError(t, err)
	now = now.Add(time.Second)
	_, err = st.Intake(ctx, []normalize.Message{{Direction: normalize.Outbound, Source: "desk", ExternalID: "close",
		Conversation: c.ID, Kind: normalize.KindSystem, Status: normalize.StatusClosed, Author: normalize.Author{Role: normalize.RoleSystem}}}, assess)
	require.NoError(t, err)
	require.True(t, updated().Equal(now), "closing sets it exactly (retention reads it)")
	now = now.Add(time.Second)
	write()
	require.True(t, updated().Equal(now), "reopening sets it exactly")
}
