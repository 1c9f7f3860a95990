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
	"github.com/casino-support/gateway/normalize/htmltext"
	"github.com/casino-support/gateway/test/helpscoutfake"
	"github.com/casino-support/gateway/test/telegramfake"
)

const helpscoutSecret = "e2e-helpscout-webhook-secret-key"

// TestHelpScoutThroughTheBinary: Telegram and web chat players write, the gateway makes one
// Help Scout conversation per gateway conversation with every message once and in order as
// the customer's, even though it is SIGKILLed twice while Help Scout has taken a write (the
// conversation's creation, then a customer thread) whose answer never came back; an agent's
// replies reach the players once (through Help Scout's signed webhook), a note never does,
// and closing the conversation makes the next message open a follow-up.
func TestHelpScoutThroughTheBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test builds and runs the binary")
	}
	const token = "123456:e2e-helpscout-token"
	tg := telegramfake.New(token)
	tgSrv := httptest.NewServer(tg)
	t.Cleanup(tgSrv.Close)
	t.Cleanup(tg.Close)
	hs := helpscoutfake.New()
	t.Cleanup(hs.Close)
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
  - name: hs
    type: helpscout
    url: %s
    client_id: %s
    client_secret: %s
    mailbox_id: %d
    webhook_secret: %s
    tags: [e2e]
default_helpdesk: hs
`, token, tgSrv.URL, hs.URL, helpscoutfake.ClientID, helpscoutfake.ClientSecret, helpscoutfake.MailboxID, helpscoutSecret))
	hs.SetWebhook(e.base+"/hooks/hs", helpscoutSecret, true)
	agent := hs.AddAgent("Alice", "Agent")
	e.start()

	chats := []int64{7200000001, 7200000002}
	const perChat = 5
	send := func(chat int64, i int) {
		tg.AddUpdate(tgbotapi.Update{Message: &tgbotapi.Message{MessageID: 100 + i, Date: int(time.Now().Unix()),
			From: &tgbotapi.User{ID: chat, FirstName: "Player", LanguageCode: "de"},
			Chat: &tgbotapi.Chat{ID: chat, Type: "private"}, Text: fmt.Sprintf("chat %d message %02d", chat, i)}})
	}

	// The conversation's creation is done in Help Scout, but the gateway dies before it hears so.
	held := hs.HoldWrites(1)
	send(chats[0], 0)
	select {
	case w := <-held:
		t.Logf("SIGKILL while Help Scout holds the answer of %s", w)
		require.Equal(t, "POST /v2/conversations", w)
	case <-time.After(30 * time.Second):
		t.Fatal("the gateway never wrote to Help Scout")
	}
	e.kill()
	e.start()
	// Again for a customer thread in the conversation that exists by now.
	held = hs.HoldWrites(1)
	send(chats[0], 1)
	select {
	case w := <-held:
		t.Logf("SIGKILL while Help Scout holds the answer of %s", w)
		require.Regexp(t, `^POST /v2/conversations/[0-9]+/customer$`, w)
	case <-time.After(30 * time.Second):
		t.Fatal("the gateway never added a thread")
	}
	e.kill()
	e.start()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	web := newWebPlayer(e.base)
	for i := 2; i < perChat; i++ {
		send(chats[0], i)
	}
	for i := range perChat {
		send(chats[1], i)
	}
	for i := range 3 {
		require.NoError(t, web.send(ctx, fmt.Sprintf("w%d", i), fmt.Sprintf("web message %02d", i)))
	}

	// One conversation per gateway conversation, every message once, in order.
	want := map[string][]string{}
	for _, chat := range chats {
		for i := range perChat {
			want[fmt.Sprintf("tg:%d", chat)] = append(want[fmt.Sprintf("tg:%d", chat)], fmt.Sprintf("chat %d message %02d", chat, i))
		}
	}
	threads := func() map[string][]string { return helpscoutThreads(hs) }
	require.Eventually(t, func() bool {
		got := threads()
		return len(got) == 3 && len(got["tg:"+fmt.Sprint(chats[0])]) >= perChat && len(got["tg:"+fmt.Sprint(chats[1])]) >= perChat && len(webThread(got)) >= 3
	}, time.Minute, 50*time.Millisecond, "Help Scout holds %v", threads())
	e.waitMetrics(t, `gateway_queue_depth{direction="inbound"} 0`)
	got := threads()
	require.Len(t, got, 3, "one conversation per gateway conversation: %v", got)
	for k, texts := range want {
		require.Equal(t, texts, got[k], "the conversation of %s holds every message once, in order", k)
	}
	require.Equal(t, []string{"web message 00", "web message 01", "web message 02"}, webThread(got))
	require.True(t, e.logs.Contains("helpscout: message already in the conversation"),
		"the retry after the SIGKILL must find the held write's message in Help Scout instead of writing it again")

	// Customers: messenger players with no e-mail, their channel and address a chat handle.
	for _, c := range hs.Conversations() {
		cust, ok := hs.Customer(c.CustomerID)
		require.True(t, ok)
		require.Empty(t, cust.Emails, "a messenger player gets no made-up address")
		require.Contains(t, c.Tags, "e2e")
		require.Equal(t, "chat", c.Type)
		for _, th := range c.Threads {
			require.Equal(t, "customer", th.Type, "a player's message is the customer's")
		}
	}

	// Agents answer: a note first (never sent), then a reply, per conversation.
	for id := range hs.Conversations() {
		_, err := hs.AgentNote(id, agent, fmt.Sprintf("internal: check KYC of %d", id))
		require.NoError(t, err)
		_, err = hs.AgentReply(id, agent, fmt.Sprintf("Hallo, wir kümmern uns darum (%d).", id))
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
		for _, m := range tg.Sent(chat) {
			require.NotContains(t, m.Text, "internal:", "a note reached chat %d", chat)
		}
	}
	require.Eventually(t, func() bool {
		web.poll(ctx, time.Second)
		return web.agentTexts()["kümmern"] > 0
	}, 30*time.Second, 10*time.Millisecond, "the web chat player never saw the reply")
	require.Equal(t, 1, web.agentTexts()["kümmern"], "the web chat shows the reply once")
	require.Zero(t, web.agentTexts()["internal:"], "a note reached the web chat")

	// The agent closes the first chat's conversation: the gateway's conversation closes, and
	// the player's next message opens a follow-up tagged with the closed one.
	var closed helpscoutfake.Conversation
	for _, c := range hs.Conversations() {
		if cust, _ := hs.Customer(c.CustomerID); len(cust.Chats) > 0 && cust.Chats[0]["value"] == fmt.Sprintf("tg:%d", chats[0]) {
			closed = c
		}
	}
	require.NoError(t, hs.SetStatus(closed.ID, agent, "closed"))
	var conv string
	for _, tag := range closed.Tags {
		if c, ok := strings.CutPrefix(tag, "gw-"); ok {
			conv = c
		}
	}
	require.Eventually(t, func() bool {
		var c normalize.Conversation
		return e.api(http.MethodGet, "/api/v1/conversations/"+conv, nil, &c) == http.StatusOK && c.Status == normalize.StatusClosed
	}, 30*time.Second, 20*time.Millisecond, "closing in Help Scout never closed conversation %s", conv)
	send(chats[0], perChat)
	var followUp helpscoutfake.Conversation
	require.Eventually(t, func() bool {
		for _, c := range hs.Conversations() {
			if c.ID != closed.ID && strings.Contains(strings.Join(c.Tags, " "), "gw-"+conv) {
				followUp = c
				return true
			}
		}
		return false
	}, 30*time.Second, 20*time.Millisecond, "the message after the close opened no follow-up")
	require.Contains(t, followUp.Tags, fmt.Sprintf("follow-up-of-%d", closed.ID))
	require.Len(t, followUp.Threads, 1)
	require.Contains(t, followUp.Threads[0].Body, fmt.Sprintf("chat %d message %02d", chats[0], perChat))
	require.Equal(t, closed.CustomerID, followUp.CustomerID, "the follow-up keeps the player's customer")
	after, _ := hs.Conversation(closed.ID)
	require.Equal(t, "closed", after.Status, "the closed conversation stays closed")
	require.False(t, e.logs.Contains(helpscoutfake.ClientSecret), "the app secret must never reach the logs")
}

// helpscoutThreads returns the customer threads of each conversation without their markers,
// keyed by the customer's chat handle; a second conversation of one customer shows as "#2".
func helpscoutThreads(hs *helpscoutfake.Server) map[string][]string {
	out := map[string][]string{}
	for _, c := range hs.Conversations() {
		cust, _ := hs.Customer(c.CustomerID)
		key := fmt.Sprint(c.CustomerID)
		if len(cust.Chats) > 0 {
			key = cust.Chats[0]["value"]
		}
		if _, dup := out[key]; dup {
			key += "#2"
		}
		texts := []string{}
		for _, th := range c.Threads {
			if th.Type == "customer" {
				texts = append(texts, markerLine.ReplaceAllString(htmltext.Text(th.Body), ""))
			}
		}
		out[key] = texts
	}
	return out
}
