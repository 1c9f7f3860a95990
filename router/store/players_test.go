package store_test

import (
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/store"
	"github.com/casino-support/gateway/router/store/pgtest"
)

// bothDialects opens a fresh store on SQLite and on PostgreSQL (skipped without one) for fn.
func bothDialects(t *testing.T, opts store.Options, fn func(t *testing.T, st *store.Store)) {
	for _, d := range []struct {
		name, driver string
		dsn          func(t *testing.T) string
	}{
		{"sqlite", "sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "gw.db") }},
		{"postgres", "postgres", func(t *testing.T) string { return pgtest.DSN(t) }},
	} {
		t.Run(d.name, func(t *testing.T) {
			st, err := store.Open(t.Context(), d.driver, d.dsn(t), opts)
			require.NoError(t, err)
			t.Cleanup(func() { st.Close() })
			fn(t, st)
		})
	}
}

// playerMsg is a player's message at channel/addr, identified as playerID by by ("" for an
// anonymous one).
func playerMsg(channel, addr, ext, playerID, by string) normalize.Message {
	kind := normalize.KindWebchat
	if channel == "tg" {
		kind = normalize.KindTelegram
	}
	return normalize.Message{Direction: normalize.Inbound, Source: normalize.InstanceName(channel), Channel: normalize.InstanceName(channel),
		ChannelKind: kind, Address: normalize.Address(addr), ExternalID: normalize.ExternalID(ext), Text: ext,
		Author: normalize.Author{Role: normalize.RolePlayer, PlayerID: playerID, PlayerIDBy: by}}
}

// TestPlayerLinks (issue 17): a conversation that opens with an identified player, or learns
// its player's ID later, is linked to the player; the player's other conversations come with
// each inbound lane the router claims, for the helpdesk; a corrected ID moves the link; a
// purged conversation leaves no link behind.
func TestPlayerLinks(t *testing.T) {
	now := time.Date(2026, 12, 6, 22, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	bothDialects(t, store.Options{Now: clock}, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		// The web chat opens identified by the casino's token.
		acc, err := st.Intake(ctx, []normalize.Message{playerMsg("chat", "player:P-1", "w1", "P-1", normalize.LinkedByWebchatToken)}, assess)
		require.NoError(t, err)
		web := acc[0].Conversation
		// Telegram opens anonymous and learns the player from a deep link.
		now = now.Add(time.Minute)
		acc, err = st.Intake(ctx, []normalize.Message{playerMsg("tg", "7100", "t1", "", "")}, assess)
		require.NoError(t, err)
		tg := acc[0].Conversation
		got, err := st.PlayerConversations(ctx, "P-1", 0)
		require.NoError(t, err)
		require.Len(t, got, 1, "the anonymous Telegram chat is nobody's yet")
		now = now.Add(time.Minute)
		_, err = st.Intake(ctx, []normalize.Message{playerMsg("tg", "7100", "t2", "P-1", normalize.LinkedByTelegramLink)}, assess)
		require.NoError(t, err)
		// A message of someone else is linked to them, not to P-1.
		_, err = st.Intake(ctx, []normalize.Message{playerMsg("chat", "player:P-2", "w2", "P-2", normalize.LinkedByDirectory)}, assess)
		require.NoError(t, err)

		got, err = st.PlayerConversations(ctx, "P-1", 0)
		require.NoError(t, err)
		require.Equal(t, []normalize.LinkedConversation{
			{ID: tg, Channel: "tg", ChannelKind: normalize.KindTelegram, Helpdesk: "desk", Status: normalize.StatusOpen,
				LinkedBy: normalize.LinkedByTelegramLink, LinkedAt: now.Add(-0)},
			{ID: web, Channel: "chat", ChannelKind: normalize.KindWebchat, Helpdesk: "desk", Status: normalize.StatusOpen,
				LinkedBy: normalize.LinkedByWebchatToken, LinkedAt: now.Add(-2 * time.Minute)},
		}, utcLinks(got), "newest link first")

		// The router's claim hands the helpdesk each conversation with the other one.
		lanes, err := st.Claim(ctx, "w", store.Budget{Inbound: 10}, 10, time.Minute)
		require.NoError(t, err)
		linked := map[normalize.ConversationID][]normalize.ConversationID{}
		for _, l := range lanes {
			for _, lc := range l.Conversation.Linked {
				linked[l.Conversation.ID] = append(linked[l.Conversation.ID], lc.ID)
			}
			if l.Conversation.ID == tg {
				require.Equal(t, normalize.LinkedByTelegramLink, l.Conversation.Player.PlayerIDBy)
			}
		}
		require.Equal(t, map[normalize.ConversationID][]normalize.ConversationID{web: {tg}, tg: {web}}, linked)

		// The directory corrects the Telegram chat's player: the link moves.
		now = now.Add(time.Minute)
		_, err = st.Intake(ctx, []normalize.Message{playerMsg("tg", "7100", "t3", "P-2", normalize.LinkedByDirectory)}, assess)
		require.NoError(t, err)
		got, err = st.PlayerConversations(ctx, "P-1", 0)
		require.NoError(t, err)
		require.Len(t, got, 1)
		require.Equal(t, web, got[0].ID)
		got, err = st.PlayerConversations(ctx, "P-2", 0)
		require.NoError(t, err)
		require.Len(t, got, 2)
		require.Equal(t, tg, got[0].ID)
		require.Equal(t, normalize.LinkedByDirectory, got[0].LinkedBy)
	})
}

func utcLinks(ls []normalize.LinkedConversation) []normalize.LinkedConversation {
	for i := range ls {
		ls[i].LinkedAt = ls[i].LinkedAt.UTC()
	}
	return ls
}

// TestPlayerLinksMigrationLinksEarlierConversations: conversations identified before the
// links table existed are linked by the migration, in both dialects.
func TestPlayerLinksMigrationLinksEarlierConversations(t *testing.T) {
	for _, d := range []struct {
		name, driver, file string
		dsn                func(t *testing.T) string
		sqlDriver          func(dsn string) (string, string)
	}{
		{"sqlite", "sqlite", "0011_player_links.sql", func(t *testing.T) string { return filepath.Join(t.TempDir(), "gw.db") },
			func(dsn string) (string, string) { return "sqlite", "file:" + dsn + "?_pragma=busy_timeout(10000)" }},
		{"postgres", "postgres", "0009_player_links.sql", func(t *testing.T) string { return pgtest.DSN(t) },
			func(dsn string) (string, string) { return "pgx", dsn }},
	} {
		t.Run(d.name, func(t *testing.T) {
			ctx := t.Context()
			dsn := d.dsn(t)
			db, err := sql.Open(d.sqlDriver(dsn))
			require.NoError(t, err)
			defer db.Close()
			applyMigrationsBefore(t, db, filepath.Join("migrations", d.name), d.file)
			for _, c := range [][2]string{
				{"c1", `{"role":"player","player_id":"P-1","player_id_by":"directory"}`},
				{"c2", `{"role":"player","player_id":"P-1"}`},
				{"c3", `{"role":"player"}`},
			} {
				_, err := db.ExecContext(ctx, `INSERT INTO conversations (id, channel, channel_kind, address, helpdesk, status, priority, player, created_at, updated_at)
					VALUES ('`+c[0]+`', 'chat', 'webchat', '`+c[0]+`', 'desk', 'open', 'normal', '`+c[1]+`', 1000, 1000)`)
				require.NoError(t, err)
			}
			st, err := store.Open(ctx, d.driver, dsn, store.Options{})
			require.NoError(t, err)
			defer st.Close()
			got, err := st.PlayerConversations(ctx, "P-1", 0)
			require.NoError(t, err)
			require.Len(t, got, 2)
			require.Equal(t, normalize.ConversationID("c1"), got[0].ID)
			require.Equal(t, normalize.LinkedByDirectory, got[0].LinkedBy)
			require.Equal(t, normalize.ConversationID("c2"), got[1].ID)
			require.Empty(t, got[1].LinkedBy)
		})
	}
}
