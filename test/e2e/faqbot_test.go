package e2e

import (
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/test/escalationfake"
	"github.com/casino-support/gateway/test/loopback"
	"github.com/casino-support/gateway/test/playerdir"
	"github.com/casino-support/gateway/test/telegramfake"
)

// TestFAQBotThroughTheBinary (issue 17, what must be shown): on a route with the FAQ bot, a
// Swedish "I forgot my password" on Telegram is answered by the bot from the example
// knowledge file, with the two buttons, and resolved when the player goes quiet: no ticket
// reaches the helpdesk. A Swedish player who asks for a person is handed off with the whole
// exchange on the ticket. A Russian self-exclusion request skips the bot: it reaches the
// helpdesk urgent and tagged, and the escalation webhook is called.
func TestFAQBotThroughTheBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test builds and runs the binary")
	}
	const secret = "escalation-secret-of-16+"
	e, tg := telegramEnv(t, "123456:e2e-faqbot-token")
	rc := escalationfake.New(secret)
	escSrv := httptest.NewServer(rc)
	t.Cleanup(escSrv.Close)
	const dirSecret = "directory-secret-16+"
	dir := playerdir.Start(dirSecret)
	t.Cleanup(dir.Close)
	const swede, asker, russian, payee = 7100000101, 7100000102, 7100000103, 7100000104
	dir.Add(playerdir.Player{PlayerID: "P-7", Name: "Erik", KYCStatus: "verified",
		Withdrawals: []playerdir.Withdrawal{{Amount: 250, Currency: "EUR", Status: "processing", RequestedAt: "2026-12-05"}}},
		"telegram", fmt.Sprint(payee))

	knowledge, err := os.ReadFile("../../config/faq.example.yaml")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(filepath.Dir(e.configPath), "faq.yaml"), knowledge, 0o600))
	e.addConfig(fmt.Sprintf(`language:
  detect: [en, ro, ru, sv, de, es, pt, it, fr, tr]
escalation:
  url: %s
  secret: %q
player_directory:
  url: %s
  secret: %q
  budget: 5s
routes:
  - name: faq
    match: {kinds: [telegram]}
    helpdesk: desk
    bot: {knowledge: faq.yaml, quiet: 2s}
`, escSrv.URL, secret, dir.URL, dirSecret))
	e.start()

	say := func(chat int64, id int, lang, text string) {
		tg.AddUpdate(tgbotapi.Update{Message: &tgbotapi.Message{
			MessageID: id, Date: int(time.Now().Unix()),
			From: &tgbotapi.User{ID: chat, FirstName: "Player", LanguageCode: lang},
			Chat: &tgbotapi.Chat{ID: chat, Type: "private"}, Text: text}})
	}
	ticketOf := func(chat int64) (loopback.Ticket, bool) {
		for _, x := range e.helpdesk.Tickets() {
			if x.Address == fmt.Sprint(chat) {
				return x, true
			}
		}
		return loopback.Ticket{}, false
	}
	sent := func(chat int64, n int) []telegramfake.SentMessage {
		t.Helper()
		require.Eventually(t, func() bool { return len(tg.Sent(chat)) >= n }, 30*time.Second, 20*time.Millisecond,
			"chat %d got %d messages, want %d", chat, len(tg.Sent(chat)), n)
		return tg.Sent(chat)
	}

	// 1. Swedish, routine: answered by the bot, resolved by silence, never a ticket.
	say(swede, 1, "sv", "Jag har glömt mitt lösenord")
	answer := sent(swede, 1)[0]
	require.Contains(t, answer.Text, "Glömt lösenord?")
	require.NotNil(t, answer.Markup, "the answer comes with its buttons")
	require.Equal(t, "Det hjälpte", answer.Markup.Keyboard[0][0].Text)
	require.Equal(t, "Prata med en handläggare", answer.Markup.Keyboard[1][0].Text)
	e.waitMetrics(t, `gateway_bot_conversations_total{bot="faq",outcome="resolved"} 1`,
		`gateway_bot_answers_total{bot="faq",source="knowledge"} 1`)

	// 2. Swedish, asks for a person after the answer: the ticket shows the whole exchange.
	say(asker, 2, "sv", "Jag har glömt mitt lösenord")
	sent(asker, 1)
	say(asker, 3, "sv", "Det fungerar inte, jag vill prata med en handläggare")
	var tk loopback.Ticket
	require.Eventually(t, func() bool {
		var ok bool
		tk, ok = ticketOf(asker)
		return ok && len(tk.Messages) >= 4
	}, 30*time.Second, 20*time.Millisecond)
	require.Equal(t, "Jag har glömt mitt lösenord", tk.Messages[0].Text)
	require.True(t, strings.HasPrefix(tk.Messages[1].Text, "FAQ bot: Tryck på"), tk.Messages[1].Text)
	require.Equal(t, "Det fungerar inte, jag vill prata med en handläggare", tk.Messages[2].Text)
	require.Contains(t, tk.Messages[3].Text, "the player asked for a person")
	require.Contains(t, sent(asker, 2)[1].Text, "kollega", "the player is told a person takes over")
	e.waitMetrics(t, `gateway_bot_conversations_total{bot="faq",outcome="handed_off"} 1`,
		`gateway_bot_handoffs_total{bot="faq",reason="requested"} 1`)

	// 3. Russian self-exclusion: never the bot's; urgent, tagged, escalated.
	say(russian, 4, "ru", "Здравствуйте, прошу оформить самоисключение и заблокировать мой аккаунт")
	require.Eventually(t, func() bool {
		var ok bool
		tk, ok = ticketOf(russian)
		return ok && len(tk.Messages) > 0
	}, 30*time.Second, 20*time.Millisecond)
	require.Len(t, tk.Messages, 1, "the player's words alone: the bot said nothing")
	conv := e.conversationOf(t, tk.ID)
	require.Equal(t, "urgent", string(conv.Priority))
	require.True(t, slices.Contains(conv.Tags, "responsible-gambling"), "tags %v", conv.Tags)
	require.Eventually(t, func() bool { return len(rc.Taken()) == 1 }, 30*time.Second, 20*time.Millisecond)
	require.Equal(t, "duty_of_care", rc.Taken()[0].Reason)
	require.Equal(t, conv.ID, rc.Taken()[0].Conversation)
	require.Empty(t, tg.Sent(russian), "no bot answer")

	// 4. The directory knows the player: the bot reads out their pending withdrawal.
	say(payee, 5, "en", "Hi, where is my withdrawal?")
	require.Equal(t, "Your withdrawal of 250.00 EUR requested on 2026-12-05 is processing.", sent(payee, 1)[0].Text)
	e.waitMetrics(t, `gateway_bot_answers_total{bot="faq",source="directory"} 1`)

	// The Swede's conversation never became a ticket.
	_, ok := ticketOf(swede)
	require.False(t, ok, "the resolved conversation reached the helpdesk")
	e.waitMetrics(t, `gateway_bot_conversations_total{bot="faq",outcome="resolved"} 1`,
		`gateway_bot_conversations_total{bot="faq",outcome="handed_off"} 1`)
}

// telegramEnv is a gateway whose one channel is the Telegram bot "tg" on a fake Bot API
// that accepts token, with the loopback helpdesk "desk"; add configuration, then start it.
func telegramEnv(t *testing.T, token string) (*env, *telegramfake.Server) {
	t.Helper()
	tg := telegramfake.New(token)
	tgSrv := httptest.NewServer(tg)
	t.Cleanup(tgSrv.Close)
	t.Cleanup(tg.Close)
	e := newEnvWith(t, "  backoff_base: 50ms", func(string) string {
		return fmt.Sprintf("  - name: tg\n    type: telegram\n    token: %q\n    api_url: %s\n    poll_timeout: 1s\n", token, tgSrv.URL)
	})
	return e, tg
}
