package e2e

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/test/chatwootfake"
	"github.com/casino-support/gateway/test/telegramfake"
)

const chatwootSecret = "e2e-chatwoot-inbox-webhook-secret"

// TestChatwootThroughTheBinary: Telegram and web chat players write, the gateway makes one
// Chatwoot conversation per gateway conversation, every message once and in order as the
// contact's, even though it is SIGKILLed while Chatwoot has taken a message whose answer
// never came back; an agent's public replies reach the players once through the inbox's
// signed webhook, a private note never does, assigning and resolving the conversation reach
// the gateway's, and the player's next message opens a follow-up naming the resolved one.
func TestChatwootThroughTheBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test builds and runs the binary")
	}
	const token = "123456:e2e-chatwoot-token"
	tg := telegramfake.New(token)
	tgSrv := httptest.NewServer(tg)
	t.Cleanup(tgSrv.Close)
	t.Cleanup(tg.Close)
	cw := chatwootfake.New(t, chatwootfake.Options{Token: "e2e-chatwoot-api-token", AccountID: 3, InboxID: 8})
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
  - name: cw
    type: chatwoot
    url: %s
    account_id: 3
    inbox_id: 8
    api_token: %s
    webhook_secret: %s
default_helpdesk: cw
`, token, tgSrv.URL, cw.URL, cw.Token(), chatwootSecret))
	cw.SetWebhook(chatwootfake.Webhook{URL: e.base + "/hooks/cw", Secret: chatwootSecret})
	e.start()

	chats := []int64{7200000001, 7200000002}
	const perChat = 5
	send := func(chat int64, i int) {
		tg.AddUpdate(tgbotapi.Update{Message: &tgbotapi.Message{MessageID: 100 + i, Date: int(time.Now().Unix()),
			From: &tgbotapi.User{ID: chat, FirstName: "Player", LanguageCode: "pt"},
			Chat: &tgbotapi.Chat{ID: chat, Type: "private"}, Text: fmt.Sprintf("chat %d message %02d", chat, i)}})
	}

	// The first message is in Chatwoot, but the gateway dies before it hears so.
	held := cw.HoldMessages(1)
	send(chats[0], 0)
	select {
	case w := <-held:
		t.Logf("SIGKILL while Chatwoot holds the answer of %s", w)
	case <-time.After(30 * time.Second):
		t.Fatal("the gateway never posted to Chatwoot")
	}
	e.kill()
	cw.Release()
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

	threads := func() map[string][]string { return chatwootThreads(cw) }
	require.Eventually(t, func() bool {
		got := threads()
		return len(got) == 3 && len(got["tg:"+fmt.Sprint(chats[0])]) >= perChat && len(got["tg:"+fmt.Sprint(chats[1])]) >= perChat && len(webThread(got)) >= 3
	}, time.Minute, 50*time.Millisecond, "Chatwoot holds %v", threads())
	e.waitMetrics(t, `gateway_queue_depth{direction="inbound"} 0`)
	got := threads()
	require.Len(t, got, 3, "one conversation per gateway conversation: %v", got)
	for _, chat := range chats {
		var want []string
		for i := range perChat {
			want = append(want, fmt.Sprintf("chat %d message %02d", chat, i))
		}
		require.Equal(t, want, got[fmt.Sprintf("tg:%d", chat)], "the conversation of chat %d holds every message once, in order", chat)
	}
	require.Equal(t, []string{"web message 00", "web message 01", "web message 02"}, webThread(got))
	for _, c := range cw.Contacts() {
		require.Empty(t, c.Email, "a messenger player gets no made-up address")
		require.Regexp(t, `^(tg|web):.+`, c.Identifier)
	}

	// Agents answer: a private note first (never sent), then a public reply, per conversation.
	agent := chatwootfake.Agent{ID: 7, Name: "Ana Agente"}
	for id := range cw.Conversations() {
		require.NoError(t, retry(ctx, func() error {
			_, _, err := cw.AgentReply(ctx, id, agent, "internal: check KYC of #"+strconv.Itoa(id), true)
			return err
		}))
		require.NoError(t, retry(ctx, func() error {
			_, _, err := cw.AgentReply(ctx, id, agent, "Olá, wir kümmern uns darum (#"+strconv.Itoa(id)+").", false)
			return err
		}))
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
		for _, m := range tg.Sent(chat) {
			require.NotContains(t, m.Text, "internal:", "a private note reached chat %d", chat)
			require.NotContains(t, m.Text, fmt.Sprintf("chat %d message", chat), "the player's own message came back to chat %d", chat)
		}
	}
	require.Eventually(t, func() bool {
		web.poll(ctx, time.Second)
		return web.agentTexts()["kümmern"] > 0
	}, 30*time.Second, 10*time.Millisecond, "the web chat player never saw the reply")
	require.Equal(t, 1, web.agentTexts()["kümmern"], "the web chat shows the reply once")
	require.Zero(t, web.agentTexts()["internal:"], "a private note reached the web chat")
	require.False(t, e.logs.Contains(cw.Token()), "the API token must never reach the logs")

	// Assigning and resolving in Chatwoot reach the gateway's conversations.
	for id := range cw.Conversations() {
		require.NoError(t, retry(ctx, func() error { _, err := cw.SetAssignee(ctx, id, &agent); return err }))
		require.NoError(t, retry(ctx, func() error { _, err := cw.SetStatus(ctx, id, "resolved"); return err }))
	}
	e.waitMetrics(t, `gateway_chatwoot_webhooks_total{helpdesk="cw",outcome="assignment"} 3`,
		`gateway_chatwoot_webhooks_total{helpdesk="cw",outcome="status"} 3`)

	// The player writes again after the close: a new conversation that names the resolved one.
	before := cw.Conversations()
	send(chats[0], perChat)
	var followUp chatwootfake.Conversation
	require.Eventually(t, func() bool {
		for id, c := range cw.Conversations() {
			if _, old := before[id]; !old && len(c.Messages) > 0 {
				followUp = c
				return true
			}
		}
		return false
	}, 30*time.Second, 20*time.Millisecond, "the player's message after the close opened no follow-up")
	old, err := strconv.Atoi(fmt.Sprint(followUp.CustomAttributes["follow_up_of"]))
	require.NoError(t, err, "the follow-up names the resolved conversation: %v", followUp.CustomAttributes)
	require.Equal(t, "resolved", before[old].Status)
	require.Equal(t, fmt.Sprintf("chat %d message %02d", chats[0], perChat), followUp.Messages[0].Content)
	require.Len(t, cw.Conversations(), len(before)+1, "one follow-up")
}

// chatwootThreads returns the player messages of each conversation, keyed by the contact's
// identifier; a second conversation of one contact shows as a key with "#2".
func chatwootThreads(cw *chatwootfake.Server) map[string][]string {
	ids := map[int]string{}
	for _, c := range cw.Contacts() {
		ids[c.ID] = c.Identifier
	}
	out := map[string][]string{}
	for _, c := range cw.Conversations() {
		key := ids[c.ContactID]
		if _, dup := out[key]; dup {
			key += "#2"
		}
		texts := []string{}
		for _, m := range c.Messages {
			if m.Type == chatwootfake.Incoming {
				texts = append(texts, m.Content)
			}
		}
		out[key] = texts
	}
	return out
}
