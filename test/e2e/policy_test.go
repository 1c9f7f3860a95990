package e2e

import (
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/test/loopback"
	"github.com/casino-support/gateway/test/playerdir"
	"github.com/casino-support/gateway/test/telegramfake"
)

// TestPlayerDirectoryAndLanguageThroughTheBinary: a Telegram player the directory knows as
// VIP tier 3 reaches the helpdesk with that tier, their ID and name on the ticket from the
// first message, and the conversation in the language they write in rather than their
// app's; a player the directory does not know goes through as they came.
func TestPlayerDirectoryAndLanguageThroughTheBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test builds and runs the binary")
	}
	const token, secret = "123456:e2e-policy-token", "directory-secret-of-16+"
	tg := telegramfake.New(token)
	tgSrv := httptest.NewServer(tg)
	t.Cleanup(tgSrv.Close)
	t.Cleanup(tg.Close)
	dir := playerdir.Start(secret)
	t.Cleanup(dir.Close)
	const vipChat, otherChat = 7100000001, 7100000002
	dir.Add(playerdir.Player{PlayerID: "P-1001", Name: "Ana Popescu", VIPTier: 3, Country: "RO", AccountStatus: "active",
		KYCStatus: "verified", PersonalManager: "mgr-ioana"}, "telegram", fmt.Sprint(vipChat))

	e := newEnvWith(t, "  backoff_base: 50ms", func(string) string {
		return fmt.Sprintf("  - name: tg\n    type: telegram\n    token: %q\n    api_url: %s\n    poll_timeout: 1s\n", token, tgSrv.URL)
	})
	// A generous budget: the machine may be loaded, and this test is about the tier arriving.
	e.addConfig(fmt.Sprintf("language:\n  detect: [en, ro, ru, sv, de, es, pt, it, fr, tr]\n"+
		"player_directory:\n  url: %s\n  secret: %q\n  budget: 5s\n", dir.URL, secret))
	e.start()

	for i, chat := range []int64{vipChat, otherChat} {
		tg.AddUpdate(tgbotapi.Update{Message: &tgbotapi.Message{
			MessageID: 10 + i, Date: int(time.Now().Unix()),
			From: &tgbotapi.User{ID: chat, FirstName: "Player", LanguageCode: "en"},
			Chat: &tgbotapi.Chat{ID: chat, Type: "private"},
			Text: "Bună ziua, nu am primit retragerea de ieri, vă rog verificați contul meu"}})
	}
	var vip, other loopback.Ticket
	require.Eventually(t, func() bool {
		for _, tk := range e.helpdesk.Tickets() {
			switch tk.Address {
			case fmt.Sprint(vipChat):
				vip = tk
			case fmt.Sprint(otherChat):
				other = tk
			}
		}
		return len(vip.Messages) > 0 && len(other.Messages) > 0
	}, time.Minute, 20*time.Millisecond)

	require.Equal(t, 3, vip.Player.VIPTier, "the directory's tier on the ticket the first message opened")
	require.Equal(t, "P-1001", vip.Player.PlayerID)
	require.Equal(t, "Ana Popescu", vip.Player.DisplayName)
	require.Equal(t, "ro", vip.Player.Language, "the words' language, not the app's")
	conv := e.conversationOf(t, vip.ID)
	require.Equal(t, 3, conv.Player.VIPTier)
	require.Equal(t, "ro", conv.Language)
	require.Equal(t, "high", string(conv.Priority), "a VIP's conversation starts high")

	require.Zero(t, other.Player.VIPTier)
	require.Empty(t, other.Player.PlayerID)
	require.Equal(t, "ro", other.Player.Language)

	require.Zero(t, dir.Refused(), "every look-up was signed with the configured secret")
	require.Len(t, dir.Requests(), 2, "one look-up per player")
	require.False(t, e.logs.Contains(secret), "the directory's secret never reaches the logs")
}
