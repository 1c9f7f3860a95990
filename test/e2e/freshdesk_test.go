package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/test/freshdeskfake"
	"github.com/casino-support/gateway/test/telegramfake"
)

const freshdeskSecret = "e2e-freshdesk-shared-webhook-secret"

// TestFreshdeskThroughTheBinary: Telegram and web chat players write, the gateway makes one
// Freshdesk ticket per conversation with every message once and in order, even though it is
// SIGKILLed twice while Freshdesk has taken a write (the ticket's creation, then a note)
// whose answer never came back; an agent's replies reach the players once (through the
// automation rule's webhook with its shared secret header), a private note never does, and
// resolving the ticket makes the next message open a follow-up.
func TestFreshdeskThroughTheBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test builds and runs the binary")
	}
	const token = "123456:e2e-freshdesk-token"
	tg := telegramfake.New(token)
	tgSrv := httptest.NewServer(tg)
	t.Cleanup(tgSrv.Close)
	t.Cleanup(tg.Close)
	fd := freshdeskfake.New()
	t.Cleanup(fd.Close)
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
  - name: fd
    type: freshdesk
    url: %s
    api_key: %s
    webhook_secret: %s
    tags: [e2e]
default_helpdesk: fd
`, token, tgSrv.URL, fd.URL, freshdeskfake.APIKey, freshdeskSecret))
	fd.SetWebhook(e.base+"/hooks/fd", "X-Gateway-Webhook-Secret", freshdeskSecret, true)
	agent := fd.AddAgent("Alice Agent")
	e.start()

	chats := []int64{7200000001, 7200000002}
	const perChat = 5
	send := func(chat int64, i int) {
		tg.AddUpdate(tgbotapi.Update{Message: &tgbotapi.Message{MessageID: 100 + i, Date: int(time.Now().Unix()),
			From: &tgbotapi.User{ID: chat, FirstName: "Player", LanguageCode: "de"},
			Chat: &tgbotapi.Chat{ID: chat, Type: "private"}, Text: fmt.Sprintf("chat %d message %02d", chat, i)}})
	}

	// The ticket's creation is done in Freshdesk, but the gateway dies before it hears so.
	held := fd.HoldWrites(1)
	send(chats[0], 0)
	select {
	case w := <-held:
		t.Logf("SIGKILL while Freshdesk holds the answer of %s", w)
		require.Equal(t, "POST /api/v2/tickets", w)
	case <-time.After(30 * time.Second):
		t.Fatal("the gateway never wrote to Freshdesk")
	}
	e.kill()
	e.start()
	// Again for a note on the ticket that exists by now.
	held = fd.HoldWrites(1)
	send(chats[0], 1)
	select {
	case w := <-held:
		t.Logf("SIGKILL while Freshdesk holds the answer of %s", w)
		require.Regexp(t, `^POST /api/v2/tickets/\d+/notes$`, w)
	case <-time.After(30 * time.Second):
		t.Fatal("the gateway never added a note to the ticket")
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

	// One ticket per conversation, every message once, in order.
	want := map[string][]string{}
	for _, chat := range chats {
		for i := range perChat {
			want[fmt.Sprintf("tg:%d", chat)] = append(want[fmt.Sprintf("tg:%d", chat)], fmt.Sprintf("chat %d message %02d", chat, i))
		}
	}
	threads := func() map[string][]string { return freshdeskThreads(fd) }
	require.Eventually(t, func() bool {
		got := threads()
		return len(got) == 3 && len(got["tg:"+fmt.Sprint(chats[0])]) >= perChat && len(got["tg:"+fmt.Sprint(chats[1])]) >= perChat && len(webThread(got)) >= 3
	}, time.Minute, 50*time.Millisecond, "Freshdesk holds %v", threads())
	e.waitMetrics(t, `gateway_queue_depth{direction="inbound"} 0`)
	got := threads()
	require.Len(t, got, 3, "one ticket per conversation: %v", got)
	for k, texts := range want {
		require.Equal(t, texts, got[k], "the ticket of %s holds every message once, in order", k)
	}
	require.Equal(t, []string{"web message 00", "web message 01", "web message 02"}, webThread(got))
	require.True(t, e.logs.Contains("freshdesk: message already on the ticket"),
		"the retry after the SIGKILL must find the held write's message in Freshdesk instead of writing it again")

	// Requesters: messenger players by a unique external ID of channel and address, no e-mail.
	contacts := fd.Contacts()
	require.Len(t, contacts, 3, "one contact per player")
	for _, c := range contacts {
		require.Nil(t, c.Email, "a messenger player gets no made-up address")
		require.NotNil(t, c.UniqueExternalID)
		require.Regexp(t, `^(tg|web):.+`, *c.UniqueExternalID)
	}
	for _, tk := range fd.Tickets() {
		require.Contains(t, tk.Tags, "e2e")
	}

	// Agents answer: a private note first (never sent), then a reply, per ticket.
	for id := range fd.Tickets() {
		_, err := fd.AgentNote(id, agent, fmt.Sprintf("internal: check KYC of #%d", id), false)
		require.NoError(t, err)
		_, err = fd.AgentReply(id, agent, fmt.Sprintf("Hallo, wir kümmern uns darum (#%d).", id))
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
			require.NotContains(t, m.Text, "internal:", "a private note reached chat %d", chat)
		}
	}
	require.Eventually(t, func() bool {
		web.poll(ctx, time.Second)
		return web.agentTexts()["kümmern"] > 0
	}, 30*time.Second, 10*time.Millisecond, "the web chat player never saw the reply")
	require.Equal(t, 1, web.agentTexts()["kümmern"], "the web chat shows the reply once")
	require.Zero(t, web.agentTexts()["internal:"], "a private note reached the web chat")

	// The agent resolves the first chat's ticket: the conversation closes, and the player's
	// next message opens a follow-up ticket tagged with the resolved one.
	var resolved freshdeskfake.Ticket
	for _, tk := range fd.Tickets() {
		if strings.Contains(tk.DescriptionText, fmt.Sprintf("chat %d message 00", chats[0])) {
			resolved = tk
		}
	}
	require.NotZero(t, resolved.ID)
	require.NoError(t, fd.SetStatus(resolved.ID, freshdeskfake.StatusResolved))
	m := convMarker.FindStringSubmatch(resolved.Description)
	require.NotNil(t, m, "the ticket's description names its conversation")
	conv := strings.TrimPrefix(m[1], "gateway:")
	require.Eventually(t, func() bool {
		var c normalize.Conversation
		return e.api(http.MethodGet, "/api/v1/conversations/"+conv, nil, &c) == http.StatusOK && c.Status == normalize.StatusClosed
	}, 30*time.Second, 20*time.Millisecond, "resolving the ticket never closed conversation %s", conv)
	send(chats[0], perChat)
	var followUp freshdeskfake.Ticket
	require.Eventually(t, func() bool {
		for _, tk := range fd.Tickets() {
			if tk.ID != resolved.ID && strings.Contains(tk.Description, m[0]) {
				followUp = tk
				return true
			}
		}
		return false
	}, 30*time.Second, 20*time.Millisecond, "the message after the resolve opened no follow-up ticket")
	require.Contains(t, followUp.Tags, fmt.Sprintf("follow_up_of_%d", resolved.ID))
	require.Contains(t, followUp.DescriptionText, fmt.Sprintf("chat %d message %02d", chats[0], perChat))
	require.Empty(t, followUp.Conversations)
	after, _ := fd.Ticket(resolved.ID)
	require.Equal(t, freshdeskfake.StatusResolved, after.Status, "the resolved ticket stays resolved")
	require.False(t, e.logs.Contains(freshdeskfake.APIKey), "the API key must never reach the logs")
	require.False(t, e.logs.Contains(freshdeskSecret), "the webhook secret must never reach the logs")
}

var (
	convMarker   = regexp.MustCompile(`\[gateway-conversation: ([^\]<>\s]+)\]`)
	gatewayLines = regexp.MustCompile(`(?m)^\[gateway-[a-z-]+: [^\]]+\]\s*$`)
)

// freshdeskThreads returns the player's messages of each ticket (the description, then the
// requester's incoming notes) without their markers, keyed by the requester's unique external
// ID; a second ticket of one requester shows as a key with "#2".
func freshdeskThreads(fd *freshdeskfake.Server) map[string][]string {
	ext := map[int64]string{}
	for _, c := range fd.Contacts() {
		if c.UniqueExternalID != nil {
			ext[c.ID] = *c.UniqueExternalID
		}
	}
	clean := func(s string) string { return strings.TrimSpace(gatewayLines.ReplaceAllString(s, "")) }
	out := map[string][]string{}
	for _, tk := range fd.Tickets() {
		key := ext[tk.RequesterID]
		if _, dup := out[key]; dup {
			key += "#2"
		}
		texts := []string{clean(tk.DescriptionText)}
		for _, c := range tk.Conversations {
			if c.UserID == tk.RequesterID && c.Incoming {
				texts = append(texts, clean(c.BodyText))
			}
		}
		out[key] = texts
	}
	return out
}
