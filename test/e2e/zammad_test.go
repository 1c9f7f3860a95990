package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/test/telegramfake"
	"github.com/casino-support/gateway/test/zammadfake"
)

const zammadHookToken = "e2e-zammad-hmac-signature-token"

// TestZammadThroughTheBinary: Telegram and web chat players write, the gateway makes one
// Zammad ticket per conversation with every message once and in order as the customer's,
// even though it is SIGKILLed while Zammad has taken a ticket write whose answer never came
// back; an agent's public replies reach the players once (through the trigger's signed
// webhook, which also fires for the gateway's own articles), an internal note never does;
// closing the ticket closes the conversation, and the player's next message opens a
// follow-up ticket linked to the closed one.
func TestZammadThroughTheBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test builds and runs the binary")
	}
	const token = "123456:e2e-zammad-token"
	tg := telegramfake.New(token)
	tgSrv := httptest.NewServer(tg)
	t.Cleanup(tgSrv.Close)
	t.Cleanup(tg.Close)
	zm := zammadfake.New()
	t.Cleanup(zm.Close)
	e := (&env{}).configure(t, fmt.Sprintf(`delivery:
  backoff_base: 50ms
  backoff_max: 500ms
channels:
  - name: tg
    type: telegram
    token: %q
    api_url: %s
    poll_timeout: 1s
  - name: web
    type: webchat
helpdesks:
  - name: zm
    type: zammad
    url: %s
    token: %s
    webhook_token: %s
    tags: [e2e]
    attributes:
      language: player_language
default_helpdesk: zm
`, token, tgSrv.URL, zm.URL, zammadfake.Token, zammadHookToken))
	zm.SetWebhook(e.base+"/hooks/zm", zammadHookToken, true)
	agent := zm.AddAgent("Alice Agent")
	e.start()

	chats := []int64{7200000001, 7200000002}
	const perChat = 5
	send := func(chat int64, i int) {
		tg.AddUpdate(tgbotapi.Update{Message: &tgbotapi.Message{MessageID: 100 + i, Date: int(time.Now().Unix()),
			From: &tgbotapi.User{ID: chat, FirstName: "Player", LanguageCode: "de"},
			Chat: &tgbotapi.Chat{ID: chat, Type: "private"}, Text: fmt.Sprintf("chat %d message %02d", chat, i)}})
	}

	// The first ticket write is done in Zammad, but the gateway dies before it hears so.
	held := zm.HoldWrites(1)
	send(chats[0], 0)
	select {
	case w := <-held:
		t.Logf("SIGKILL while Zammad holds the answer of %s", w)
	case <-time.After(30 * time.Second):
		t.Fatal("the gateway never wrote to Zammad")
	}
	e.kill()
	e.start()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	web := newWebPlayer(e.base)
	for i := 1; i < perChat; i++ {
		send(chats[0], i)
	}
	for i := range perChat {
		send(chats[1], i)
	}
	for i := range 3 {
		require.NoError(t, web.send(ctx, fmt.Sprintf("w%d", i), fmt.Sprintf("web message %02d", i)))
	}

	// One ticket per conversation, every message once, in order, as the customer's.
	want := map[string][]string{}
	for _, chat := range chats {
		k := fmt.Sprintf("gateway:tg:%d", chat)
		for i := range perChat {
			want[k] = append(want[k], fmt.Sprintf("chat %d message %02d", chat, i))
		}
	}
	threads := func() map[string][]string { return zammadThreads(zm) }
	require.Eventually(t, func() bool {
		got := threads()
		return len(got) == 3 && len(got[fmt.Sprintf("gateway:tg:%d", chats[0])]) >= perChat &&
			len(got[fmt.Sprintf("gateway:tg:%d", chats[1])]) >= perChat && len(zammadWebThread(got)) >= 3
	}, time.Minute, 50*time.Millisecond, "Zammad holds %v", threads())
	e.waitMetrics(t, `gateway_queue_depth{direction="inbound"} 0`)
	got := threads()
	require.Len(t, got, 3, "one ticket per conversation: %v", got)
	for k, texts := range want {
		require.Equal(t, texts, got[k], "the ticket of %s holds every message once, in order", k)
	}
	require.Equal(t, []string{"web message 00", "web message 01", "web message 02"}, zammadWebThread(got))
	require.True(t, e.logs.Contains("zammad: message already on the ticket"),
		"the retry after the SIGKILL must find the held write's message in Zammad instead of writing it again")

	// Customers: messenger players by a login of channel and address, no e-mail.
	for _, tk := range zm.Tickets() {
		u, ok := zm.User(tk.CustomerID)
		require.True(t, ok)
		require.Empty(t, u.Email, "a messenger player gets no made-up address")
		require.Regexp(t, `^gateway:(tg|web):.+`, u.Login)
		require.Contains(t, tk.Tags, "e2e")
		require.NotEmpty(t, tk.Attributes["gateway_conversation"])
	}

	// Agents answer: an internal note first (never sent), then a public reply, per ticket.
	for id := range zm.Tickets() {
		_, err := zm.AgentArticle(id, agent, fmt.Sprintf("internal: check KYC of #%d", id), true)
		require.NoError(t, err)
		_, err = zm.AgentArticle(id, agent, fmt.Sprintf("<p>Hallo, wir kümmern uns darum (#%d).</p>", id), false)
		require.NoError(t, err)
	}
	for _, chat := range chats {
		replies := func() []telegramfake.SentMessage {
			var out []telegramfake.SentMessage
			for _, m := range tg.Sent(chat) {
				if m.Method == "sendMessage" && strings.Contains(m.Text, "kümmern") {
					out = append(out, m)
				}
			}
			return out
		}
		require.Eventually(t, func() bool { return len(replies()) > 0 }, 30*time.Second, 20*time.Millisecond, "reply to chat %d", chat)
		require.Len(t, replies(), 1, "the reply reaches chat %d once", chat)
		require.NotContains(t, replies()[0].Text, "<p>", "the reply's HTML becomes text")
		for _, m := range tg.Sent(chat) {
			require.NotContains(t, m.Text, "internal:", "an internal note reached chat %d", chat)
			require.NotContains(t, m.Text, "chat ", "the player's own message came back to chat %d", chat)
		}
	}
	require.Eventually(t, func() bool {
		web.poll(ctx, time.Second)
		return web.agentTexts()["kümmern"] > 0
	}, 30*time.Second, 10*time.Millisecond, "the web chat player never saw the reply")
	require.Equal(t, 1, web.agentTexts()["kümmern"], "the web chat shows the reply once")
	require.Zero(t, web.agentTexts()["internal:"], "an internal note reached the web chat")

	// The agent closes the first chat's ticket: the conversation closes, and the player's next
	// message opens a follow-up ticket linked to the closed one (closed_ticket: follow_up).
	var closed zammadfake.Ticket
	for _, tk := range zm.Tickets() {
		if u, _ := zm.User(tk.CustomerID); u.Login == fmt.Sprintf("gateway:tg:%d", chats[0]) {
			closed = tk
		}
	}
	require.NoError(t, zm.SetState(closed.ID, agent, "closed"))
	conv, _ := closed.Attributes["gateway_conversation"].(string)
	require.Eventually(t, func() bool {
		var c normalize.Conversation
		return e.api(http.MethodGet, "/api/v1/conversations/"+conv, nil, &c) == http.StatusOK && c.Status == normalize.StatusClosed
	}, 30*time.Second, 20*time.Millisecond, "closing the ticket never closed conversation %s", conv)
	send(chats[0], perChat)
	var followUp zammadfake.Ticket
	require.Eventually(t, func() bool {
		for _, tk := range zm.Tickets() {
			if tk.Attributes["gateway_conversation"] == conv && tk.ID != closed.ID {
				followUp = tk
				return true
			}
		}
		return false
	}, 30*time.Second, 20*time.Millisecond, "the message after the close opened no follow-up ticket")
	require.Equal(t, []int64{closed.ID}, zm.Links(followUp.ID), "the follow-up is linked to the closed ticket")
	require.Len(t, followUp.Articles, 1)
	require.Contains(t, followUp.Articles[0].Body, fmt.Sprintf("chat %d message %02d", chats[0], perChat))
	after, _ := zm.Ticket(closed.ID)
	require.Equal(t, "closed", after.State, "the closed ticket stays closed")
	require.False(t, e.logs.Contains(zammadfake.Token), "the API token must never reach the logs")
	require.False(t, e.logs.Contains("zammad: poll failed"), "the reconciling poll at start must be a query Zammad answers")
}

// zammadThreads returns the customer's articles of each ticket without their markers, keyed
// by the customer's login; a second ticket of one customer shows as a key with "#2".
func zammadThreads(zm *zammadfake.Server) map[string][]string {
	out := map[string][]string{}
	for _, tk := range zm.Tickets() {
		u, _ := zm.User(tk.CustomerID)
		key := u.Login
		if _, dup := out[key]; dup {
			key += "#2"
		}
		texts := []string{}
		for _, a := range tk.Articles {
			if a.Sender == "Customer" {
				texts = append(texts, markerLine.ReplaceAllString(a.Body, ""))
			}
		}
		out[key] = texts
	}
	return out
}

func zammadWebThread(threads map[string][]string) []string {
	for k, v := range threads {
		if strings.HasPrefix(k, "gateway:web:") {
			return v
		}
	}
	return nil
}
