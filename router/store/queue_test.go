package store_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/store"
)

func openStore(t *testing.T) (*store.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gw.db")
	st, err := store.OpenSQLite(t.Context(), path, store.Options{})
	require.NoError(t, err, "OpenSQLite()")
	t.Cleanup(func() { st.Close() })
	return st, path
}

func assess(normalize.Message) store.Assessment { return store.Assessment{Helpdesk: "desk"} }

func inbound(addr, ext string) normalize.Message {
	return normalize.Message{Direction: normalize.Inbound, Source: "chat", Channel: "chat", ChannelKind: normalize.KindLoopback,
		Address: normalize.Address(addr), ExternalID: normalize.ExternalID(ext),
		Author: normalize.Author{Role: normalize.RolePlayer}, Text: ext}
}

// A Claim that fails part-way rolls its transaction back: it must hand out no lanes, or the
// router delivers lanes nobody leased, some of them half-read (no conversation, no messages).
func TestClaimThatFailsHandsOutNoLanes(t *testing.T) {
	ctx := context.Background()
	st, path := openStore(t)
	for _, addr := range []string{"p1", "p2", "p3"} {
		_, err := st.Intake(ctx, []normalize.Message{inbound(addr, addr+"-1")}, assess)
		require.NoError(t, err)
	}
	// A row the store cannot read stands for any error in the middle of the claim.
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	require.NoError(t, err)
	defer db.Close()
	_, err = db.ExecContext(ctx, `UPDATE messages SET body = '{' WHERE seq = (SELECT MAX(seq) FROM messages)`)
	require.NoError(t, err)

	lanes, err := st.Claim(ctx, "w", store.Budget{Inbound: 10, Outbound: 10}, 10, time.Minute)
	require.Error(t, err)
	require.Empty(t, lanes, "Claim() failed but handed out lanes")
}
