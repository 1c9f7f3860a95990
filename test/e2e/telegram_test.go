package e2e

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/test/telegramfake"
)

// TestTelegramThroughTheBinary: players write to the fake Bot API, the gateway polls it, is
// killed once mid-flight and restarted, the helpdesk gets every message once and in order,
// and an agent reply reaches the player through sendMessage.
func TestTelegramThroughTheBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test builds and runs the binary")
	}
	const token = "123456:e2e-secret-token"
	tg := telegramfake.New(token)
	tgSrv := httptest.NewServer(tg)
	t.Cleanup(tgSrv.Close)
	t.Cleanup(tg.Close)
	e := newEnvWith(t, "  backoff_base: 50ms", func(string) string {
		return fmt.Sprintf("  - name: tg\n    type: telegram\n    token: %q\n    api_url: %s\n    poll_timeout: 1s\n", token, tgSrv.URL)
	})
	e.start()

	chats := []int64{7000000001, 7000000002, 7000000003}
	const perChat = 10
	send := func(from, to int) {
		for i := from; i < to; i++ {
			for _, chat := range chats {
				tg.AddUpdate(tgbotapi.Update{Message: &tgbotapi.Message{
					MessageID: 100 + i, Date: int(time.Now().Unix()),
					From: &tgbotapi.User{ID: chat, FirstName: "Player", LanguageCode: "de"},
					Chat: &tgbotapi.Chat{ID: chat, Type: "private"},
					Text: fmt.Sprintf("chat %d message %02d", chat, i)}})
			}
		}
	}
	send(0, perChat/2)
	require.Eventually(t, func() bool { return e.helpdeskMessages() >= 3 }, 30*time.Second, 10*time.Millisecond)
	e.kill() // mid-flight: some updates stored, some delivered, the offset maybe not confirmed
	send(perChat/2, perChat)
	e.start()

	require.Eventually(t, func() bool { return e.helpdeskMessages() == len(chats)*perChat }, time.Minute, 20*time.Millisecond,
		"helpdesk holds %d of %d messages", e.helpdeskMessages(), len(chats)*perChat)
	tickets := e.helpdesk.Tickets()
	require.Len(t, tickets, len(chats), "one ticket per chat")
	for _, tk := range tickets {
		var chat int64
		_, err := fmt.Sscanf(tk.Messages[0].Text, "chat %d", &chat)
		require.NoError(t, err)
		var got, want []string
		for i, m := range tk.Messages {
			got = append(got, m.Text)
			want = append(want, fmt.Sprintf("chat %d message %02d", chat, i))
		}
		require.Equal(t, want, got, "every message of chat %d once, in order", chat)
		require.Equal(t, "tg", tk.Channel)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The helpdesk holds a message a moment before the gateway records the helpdesk's ID of it,
	// which is what a reply naming that ID is threaded by.
	e.waitMetrics(t, `gateway_queue_depth{direction="inbound"} 0`)
	// Each agent answers the chat's third message specifically: the reply is threaded to it.
	for _, tk := range tickets {
		require.NoError(t, e.agentReplyTo(ctx, tk.ID, "r-"+tk.ID, "Danke, wir kümmern uns darum.", tk.Messages[2].ID))
	}
	for _, chat := range chats {
		replies := func() []telegramfake.SentMessage { return sentMessages(tg, chat, "kümmern") }
		require.Eventually(t, func() bool { return len(replies()) > 0 }, 30*time.Second, 20*time.Millisecond, "reply to chat %d", chat)
		got := replies()
		require.Len(t, got, 1, "reply to chat %d exactly once", chat)
		require.Equal(t, 102, got[0].ReplyTo, "the reply must be threaded to the answered message")
	}
	require.False(t, e.logs.Contains(token), "the bot token must never reach the logs")
}

// sentMessages are the texts sent to chat with sendMessage that contain text, in order.
func sentMessages(tg *telegramfake.Server, chat int64, text string) []telegramfake.SentMessage {
	var out []telegramfake.SentMessage
	for _, m := range tg.Sent(chat) {
		if m.Method == "sendMessage" && strings.Contains(m.Text, text) {
			out = append(out, m)
		}
	}
	return out
}
