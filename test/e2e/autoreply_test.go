package e2e

import (
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/router/autoreply"
	"github.com/casino-support/gateway/test/loopback"
	"github.com/casino-support/gateway/test/playerdir"
	"github.com/casino-support/gateway/test/telegramfake"
)

// TestVIPRomanianOnTelegramGetsARomanianAcknowledgement: a VIP player (tier 3 in the player
// directory) writes in Romanian on Telegram, from an app set to English: the conversation
// reaches the VIP group with high priority by the routing rule, and the player gets one
// acknowledgement, in Romanian, with the ticket's reference, however many messages follow.
// Another player, writing on a closed day, is told in Romanian when support opens, once.
func TestVIPRomanianOnTelegramGetsARomanianAcknowledgement(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test builds and runs the binary")
	}
	const token, secret = "123456:e2e-autoreply-token", "directory-secret-of-16+"
	tg := telegramfake.New(token)
	tgSrv := httptest.NewServer(tg)
	t.Cleanup(tgSrv.Close)
	t.Cleanup(tg.Close)
	dir := playerdir.Start(secret)
	t.Cleanup(dir.Close)
	const vipChat, otherChat = 7200000001, 7200000002
	dir.Add(playerdir.Player{PlayerID: "P-2001", Name: "Ana Popescu", VIPTier: 3, Country: "RO"}, "telegram", fmt.Sprint(vipChat))

	e := newEnvWith(t, "  backoff_base: 50ms", func(string) string {
		return fmt.Sprintf("  - name: tg\n    type: telegram\n    token: %q\n    api_url: %s\n    poll_timeout: 1s\n", token, tgSrv.URL)
	})
	// Closed today and tomorrow (UTC) for everyone but the VIPs, whose rule comes first.
	today := time.Now().UTC()
	closed := fmt.Sprintf("[%q, %q]", today.Format(time.DateOnly), today.AddDate(0, 0, 1).Format(time.DateOnly))
	e.addConfig(fmt.Sprintf(`language:
  detect: [en, ro, ru, sv, de, es, pt, it, fr, tr]
player_directory:
  url: %s
  secret: %q
  budget: 5s
routes:
  - name: vip
    match: {min_vip: 3}
    helpdesk: desk
    group: vip
    priority: high
auto_replies:
  wait: 30s
  rules:
    - min_vip: 3
      acknowledgement: true
    - kinds: [telegram]
      out_of_hours: true
      hours: {timezone: UTC, weekly: ["mon-sun 00:00-24:00"], holidays: %s}
`, dir.URL, secret, closed))
	e.start()

	say := func(chat int64, id int, text string) {
		tg.AddUpdate(tgbotapi.Update{Message: &tgbotapi.Message{
			MessageID: id, Date: int(time.Now().Unix()),
			From: &tgbotapi.User{ID: chat, FirstName: "Ana", LanguageCode: "en"},
			Chat: &tgbotapi.Chat{ID: chat, Type: "private"},
			Text: text}})
	}
	ticketOf := func(chat int64, messages int) loopback.Ticket {
		var tk loopback.Ticket
		require.Eventually(t, func() bool {
			for _, x := range e.helpdesk.Tickets() {
				if x.Address == fmt.Sprint(chat) {
					tk = x
				}
			}
			return len(tk.Messages) >= messages
		}, time.Minute, 20*time.Millisecond)
		return tk
	}
	say(vipChat, 1, "Bună ziua, nu am primit retragerea de ieri, vă rog verificați contul meu")
	tk := ticketOf(vipChat, 1)
	conv := e.conversationOf(t, tk.ID)
	require.Equal(t, "high", string(conv.Priority))
	require.True(t, slices.Contains(conv.Tags, "group:vip"), "the VIP group, tags %v", conv.Tags)
	require.Equal(t, "ro", conv.Language)
	require.Equal(t, 3, conv.Player.VIPTier)

	want := strings.ReplaceAll(autoreply.Builtin["ro"].AcknowledgementTicket, "{ticket}", tk.ID)
	require.Eventually(t, func() bool { return len(tg.Sent(vipChat)) > 0 }, time.Minute, 20*time.Millisecond)
	require.Equal(t, want, tg.Sent(vipChat)[0].Text)

	// The player writes again; the helpdesk has the message, and still one acknowledgement.
	say(vipChat, 2, "Vă mulțumesc, aștept răspunsul dumneavoastră")
	ticketOf(vipChat, 2)
	require.Len(t, tg.Sent(vipChat), 1, "one acknowledgement per conversation")

	// Another player, no VIP, on a closed day: the notice names the next opening, once.
	say(otherChat, 3, "Bună seara, am o întrebare despre bonusul de bun venit")
	say(otherChat, 4, "Și încă una: cât durează verificarea contului?")
	ticketOf(otherChat, 2)
	require.Eventually(t, func() bool { return len(tg.Sent(otherChat)) > 0 }, time.Minute, 20*time.Millisecond)
	notice := tg.Sent(otherChat)
	require.Len(t, notice, 1, "one notice per closed period")
	require.True(t, strings.HasPrefix(notice[0].Text, "Vă mulțumim că ne-ați contactat."), notice[0].Text)
	require.Contains(t, notice[0].Text, "ora 00:00 (UTC)")
	require.True(t, e.logs.Contains("auto-reply queued"))
}
