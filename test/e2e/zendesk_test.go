package e2e

import (
	"bytes"
	"context"
	"encoding/json"
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
	"github.com/casino-support/gateway/test/telegramfake"
	"github.com/casino-support/gateway/test/zendeskfake"
)

const zendeskSecret = "e2e-zendesk-webhook-signing-secret"

// TestZendeskThroughTheBinary: Telegram and web chat players write, the gateway makes one
// Zendesk ticket per conversation with every message once and in order, even though it is
// SIGKILLed twice while Zendesk has taken a write (the ticket's creation, then a comment)
// whose answer never came back; an agent's public replies reach the players once (through
// Zendesk's signed webhook), an internal note never does, and solving the ticket makes the
// next message open a follow-up.
func TestZendeskThroughTheBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test builds and runs the binary")
	}
	const token = "123456:e2e-zendesk-token"
	tg := telegramfake.New(token)
	tgSrv := httptest.NewServer(tg)
	t.Cleanup(tgSrv.Close)
	t.Cleanup(tg.Close)
	zd := zendeskfake.New()
	t.Cleanup(zd.Close)
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
  - name: zd
    type: zendesk
    url: %s
    email: %s
    token: %s
    webhook_secret: %s
    tags: [e2e]
default_helpdesk: zd
`, token, tgSrv.URL, zd.URL, zendeskfake.Email, zendeskfake.Token, zendeskSecret))
	zd.SetWebhook(e.base+"/hooks/zd", zendeskSecret, true)
	agent := zd.AddAgent("Alice Agent")
	e.start()

	chats := []int64{7100000001, 7100000002}
	const perChat = 5
	send := func(chat int64, i int) {
		tg.AddUpdate(tgbotapi.Update{Message: &tgbotapi.Message{MessageID: 100 + i, Date: int(time.Now().Unix()),
			From: &tgbotapi.User{ID: chat, FirstName: "Player", LanguageCode: "de"},
			Chat: &tgbotapi.Chat{ID: chat, Type: "private"}, Text: fmt.Sprintf("chat %d message %02d", chat, i)}})
	}

	// The first ticket write is done in Zendesk, but the gateway dies before it hears so.
	held := zd.HoldWrites(1)
	send(chats[0], 0)
	select {
	case w := <-held:
		t.Logf("SIGKILL while Zendesk holds the answer of %s", w)
	case <-time.After(30 * time.Second):
		t.Fatal("the gateway never wrote to Zendesk")
	}
	e.kill()
	e.start()
	// Again for a comment on the ticket that exists by now.
	held = zd.HoldWrites(1)
	send(chats[0], 1)
	select {
	case w := <-held:
		t.Logf("SIGKILL while Zendesk holds the answer of %s", w)
		require.Contains(t, w, "PUT /api/v2/tickets/")
	case <-time.After(30 * time.Second):
		t.Fatal("the gateway never commented on the ticket")
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
	held3 := func() map[string][]string { return zendeskThreads(zd) }
	require.Eventually(t, func() bool {
		got := held3()
		return len(got) == 3 && len(got["tg:"+fmt.Sprint(chats[0])]) >= perChat && len(got["tg:"+fmt.Sprint(chats[1])]) >= perChat && len(webThread(got)) >= 3
	}, time.Minute, 50*time.Millisecond, "Zendesk holds %v", held3())
	e.waitMetrics(t, `gateway_queue_depth{direction="inbound"} 0`)
	got := held3()
	require.Len(t, got, 3, "one ticket per conversation: %v", got)
	for k, texts := range want {
		require.Equal(t, texts, got[k], "the ticket of %s holds every message once, in order", k)
	}
	require.Equal(t, []string{"web message 00", "web message 01", "web message 02"}, webThread(got))
	require.True(t, e.logs.Contains("zendesk: message already on the ticket"),
		"the retry after the SIGKILL must find the held write's message in Zendesk instead of writing it again")

	// Requesters: messenger players by an external ID of channel and address, no e-mail.
	for _, tk := range zd.Tickets() {
		u, ok := zd.User(tk.RequesterID)
		require.True(t, ok)
		require.Empty(t, u.Email, "a messenger player gets no made-up address")
		require.Regexp(t, `^(tg|web):.+`, u.ExternalID)
		require.Contains(t, tk.Tags, "e2e")
	}

	// Agents answer: an internal note first (never sent), then a public reply, per ticket.
	for id, tk := range zd.Tickets() {
		_, err := zd.AgentComment(id, agent, "internal: check KYC of "+tk.ExternalID, false)
		require.NoError(t, err)
		_, err = zd.AgentComment(id, agent, "Hallo, wir kümmern uns darum ("+tk.ExternalID+").", true)
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
			require.NotContains(t, m.Text, "internal:", "an internal note reached chat %d", chat)
		}
	}
	require.Eventually(t, func() bool {
		web.poll(ctx, time.Second)
		return web.agentTexts()["kümmern"] > 0
	}, 30*time.Second, 10*time.Millisecond, "the web chat player never saw the reply")
	require.Equal(t, 1, web.agentTexts()["kümmern"], "the web chat shows the reply once")
	require.Zero(t, web.agentTexts()["internal:"], "an internal note reached the web chat")

	// The agent solves the first chat's ticket: the conversation closes, and the player's next
	// message opens a follow-up ticket tagged with the solved one (closed_ticket: follow_up).
	var solved zendeskfake.Ticket
	for _, tk := range zd.Tickets() {
		if u, _ := zd.User(tk.RequesterID); u.ExternalID == fmt.Sprintf("tg:%d", chats[0]) {
			solved = tk
		}
	}
	require.NoError(t, zd.SetStatus(solved.ID, agent, "solved"))
	conv, _ := strings.CutPrefix(solved.ExternalID, "gateway:")
	require.Eventually(t, func() bool {
		var c normalize.Conversation
		return e.api(http.MethodGet, "/api/v1/conversations/"+conv, nil, &c) == http.StatusOK && c.Status == normalize.StatusClosed
	}, 30*time.Second, 20*time.Millisecond, "solving the ticket never closed conversation %s", conv)
	send(chats[0], perChat)
	var followUp zendeskfake.Ticket
	require.Eventually(t, func() bool {
		for _, tk := range zd.Tickets() {
			if tk.ExternalID == solved.ExternalID && tk.ID != solved.ID {
				followUp = tk
				return true
			}
		}
		return false
	}, 30*time.Second, 20*time.Millisecond, "the message after the solve opened no follow-up ticket")
	require.Contains(t, followUp.Tags, fmt.Sprintf("follow_up_of_%d", solved.ID))
	require.Len(t, followUp.Comments, 1)
	require.Contains(t, followUp.Comments[0].Body, fmt.Sprintf("chat %d message %02d", chats[0], perChat))
	after, _ := zd.Ticket(solved.ID)
	require.Equal(t, "solved", after.Status, "the solved ticket stays solved")
	require.False(t, e.logs.Contains(zendeskfake.Token), "the API token must never reach the logs")
}

// markerLine is the line the gateway ends its comments with.
var markerLine = regexp.MustCompile(`\n*\[gateway-message-id: [A-Za-z0-9._-]+\]\s*$`)

// zendeskThreads returns the player comments of each ticket without their markers, keyed by
// the requester's external ID; a second ticket of one requester shows as a key with "#2".
func zendeskThreads(zd *zendeskfake.Server) map[string][]string {
	out := map[string][]string{}
	for _, tk := range zd.Tickets() {
		u, _ := zd.User(tk.RequesterID)
		key := u.ExternalID
		if _, dup := out[key]; dup {
			key += "#2"
		}
		texts := []string{}
		for _, c := range tk.Comments {
			if c.AuthorID == tk.RequesterID {
				texts = append(texts, markerLine.ReplaceAllString(c.Body, ""))
			}
		}
		out[key] = texts
	}
	return out
}

func webThread(threads map[string][]string) []string {
	for k, v := range threads {
		if strings.HasPrefix(k, "web:") {
			return v
		}
	}
	return nil
}

// webPlayer is a web chat page: hello, send with a client_id until acknowledged, poll.
type webPlayer struct {
	base, token string
	cursor      int64
	agent       map[string]string // message ID → text of the agent messages shown
}

func newWebPlayer(base string) *webPlayer { return &webPlayer{base: base, agent: map[string]string{}} }

type webFrame struct {
	Type     string `json:"type"`
	Token    string `json:"token"`
	ClientID string `json:"client_id"`
	ID       string `json:"id"`
	From     string `json:"from"`
	Text     string `json:"text"`
}

func (p *webPlayer) call(ctx context.Context, method, path string, body any, out any) error {
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if p.token != "" {
		req.Header.Set("Authorization", "Bearer "+p.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %d", method, path, resp.StatusCode)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

func (p *webPlayer) send(ctx context.Context, clientID, text string) error {
	return retry(ctx, func() error {
		if p.token == "" {
			var hello struct {
				Frames []webFrame `json:"frames"`
				Cursor int64      `json:"cursor"`
			}
			if err := p.call(ctx, http.MethodPost, "/chat/api/send", map[string]string{"type": "hello"}, &hello); err != nil {
				return err
			}
			if len(hello.Frames) == 0 || hello.Frames[0].Token == "" {
				return fmt.Errorf("no welcome: %+v", hello)
			}
			p.token, p.cursor = hello.Frames[0].Token, hello.Cursor
		}
		var resp struct {
			Frames []webFrame `json:"frames"`
		}
		if err := p.call(ctx, http.MethodPost, "/chat/api/send", map[string]string{"type": "message", "client_id": clientID, "text": text}, &resp); err != nil {
			return err
		}
		for _, f := range resp.Frames {
			if f.Type == "ack" && f.ClientID == clientID {
				return nil
			}
		}
		return fmt.Errorf("no ack for %s: %+v", clientID, resp.Frames)
	})
}

func (p *webPlayer) poll(ctx context.Context, d time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var resp struct {
		Frames []webFrame `json:"frames"`
		Cursor int64      `json:"cursor"`
	}
	if err := p.call(ctx, http.MethodGet, fmt.Sprintf("/chat/api/poll?after=%d", p.cursor), nil, &resp); err != nil {
		return
	}
	for _, f := range resp.Frames {
		if f.Type == "message" && f.From == "agent" {
			p.agent[f.ID] = f.Text
		}
	}
	p.cursor = resp.Cursor
}

// agentTexts counts the agent messages shown whose text contains each key asked for.
func (p *webPlayer) agentTexts() map[string]int {
	out := map[string]int{}
	for _, text := range p.agent {
		for _, k := range []string{"kümmern", "internal:"} {
			if strings.Contains(text, k) {
				out[k]++
			}
		}
	}
	return out
}
