package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/casino-support/gateway/test/telegramfake"
)

// TestBrokenConnectorStopsAlone runs the binary with the web chat, the inbox and a Telegram
// bot whose token the Bot API refuses (401). The gateway starts and stays ready, the web chat
// and the inbox carry a conversation both ways, the health details name the bot and why,
// and once the Bot API accepts the token again the bot recovers without a restart.
func TestBrokenConnectorStopsAlone(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test builds and runs the binary")
	}
	const token = "123456:e2e-revoked-token"
	tg := telegramfake.New(token)
	tg.Revoke(true)
	tgSrv := httptest.NewServer(tg)
	t.Cleanup(tgSrv.Close)
	t.Cleanup(tg.Close)
	const password = "alice-e2e-password"
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	require.NoError(t, err)
	e := (&env{}).configure(t, fmt.Sprintf(`channels:
  - name: web
    type: webchat
  - name: tg
    type: telegram
    token: %q
    api_url: %s
    poll_timeout: 1s
helpdesks:
  - name: inbox
    type: inbox
    agents:
      - {name: alice, password_hash: %q}
default_helpdesk: inbox
`, token, tgSrv.URL, hash))
	e.start() // ready, although the bot's token is refused

	// The health details name the bot and the reason, and only the bot.
	require.Eventually(t, func() bool { return !e.health().connector("tg").Ready }, 30*time.Second, 10*time.Millisecond)
	h := e.health()
	require.False(t, h.Ready)
	require.Contains(t, h.connector("tg").Reason, "rejected (401)")
	require.True(t, h.connector("web").Ready)
	require.True(t, h.connector("inbox").Ready)
	status, body := e.get("/readyz")
	require.Equal(t, http.StatusOK, status, "one broken bot does not take the gateway out of the load balancer")
	require.Regexp(t, `(?m)^channel tg \(telegram\): not ready since .*rejected \(401\)`, body)
	require.Regexp(t, `(?m)^channel web \(webchat\): ready$`, body)
	_, metrics := e.get("/metrics")
	require.Contains(t, metrics, `gateway_connector_up{connector="tg",family="channel",type="telegram"} 0`)
	require.Contains(t, metrics, `gateway_connector_up{connector="web",family="channel",type="webchat"} 1`)

	// The web chat and the inbox work meanwhile: a player writes, an agent answers.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	page := openChat(ctx, t, e.base)
	page.say(ctx, t, "c-1", "my withdrawal is stuck")
	agent := signIn(t, e.base, "alice", password)
	conv := agent.waitConversation(t, "web")
	agent.reply(t, conv, "We are on it.")
	require.Equal(t, "We are on it.", page.nextReply(ctx, t))

	// The token is accepted again: the bot recovers by itself and its players get through.
	tg.Revoke(false)
	require.Eventually(t, func() bool { return e.health().connector("tg").Ready }, 30*time.Second, 10*time.Millisecond)
	_, body = e.get("/readyz")
	require.Regexp(t, `(?m)^channel tg \(telegram\): ready(; singleton .* runs on this replica .*)?$`, body)
	tg.AddUpdate(tgbotapi.Update{Message: &tgbotapi.Message{MessageID: 1, Date: int(time.Now().Unix()),
		From: &tgbotapi.User{ID: 7000000042, FirstName: "Tele"}, Chat: &tgbotapi.Chat{ID: 7000000042, Type: "private"},
		Text: "hello from Telegram"}})
	agent.waitConversation(t, "tg")
	require.False(t, e.logs.Contains(token), "the bot token must never reach the logs")
}

// healthAnswer is GET /api/v1/health.
type healthAnswer struct {
	Ready      bool              `json:"ready"`
	Connectors []connectorHealth `json:"connectors"`
}

type connectorHealth struct {
	Name   string `json:"name"`
	Ready  bool   `json:"ready"`
	Reason string `json:"reason"`
}

// connector returns the health of the connector name; a zero one (not ready) when absent.
func (h healthAnswer) connector(name string) connectorHealth {
	for _, c := range h.Connectors {
		if c.Name == name {
			return c
		}
	}
	return connectorHealth{}
}

func (e *env) health() healthAnswer {
	e.t.Helper()
	var h healthAnswer
	require.Equal(e.t, http.StatusOK, e.api(http.MethodGet, "/api/v1/health", nil, &h))
	return h
}

// get answers a GET of path with its status and body.
func (e *env) get(path string) (int, string) {
	e.t.Helper()
	resp, err := http.Get(e.base + path)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	return resp.StatusCode, string(b)
}

// chatPage is a player's page on the web chat, over its WebSocket.
type chatPage struct {
	conn *websocket.Conn
}

func openChat(ctx context.Context, t *testing.T, base string) *chatPage {
	t.Helper()
	conn, _, err := websocket.Dial(ctx, strings.Replace(base, "http", "ws", 1)+"/chat/ws",
		&websocket.DialOptions{HTTPHeader: http.Header{"Origin": {base}}})
	require.NoError(t, err)
	t.Cleanup(func() { conn.CloseNow() })
	p := &chatPage{conn: conn}
	p.send(ctx, t, map[string]string{"type": "hello", "language": "en"})
	require.Equal(t, "welcome", p.next(ctx, t, "welcome")["type"])
	return p
}

func (p *chatPage) send(ctx context.Context, t *testing.T, frame any) {
	t.Helper()
	b, err := json.Marshal(frame)
	require.NoError(t, err)
	require.NoError(t, p.conn.Write(ctx, websocket.MessageText, b))
}

// next returns the next frame of type typ, skipping others (typing hints, echoes).
func (p *chatPage) next(ctx context.Context, t *testing.T, typ string) map[string]any {
	t.Helper()
	for {
		_, b, err := p.conn.Read(ctx)
		require.NoError(t, err)
		var f map[string]any
		require.NoError(t, json.Unmarshal(b, &f))
		require.NotEqual(t, "error", f["type"], "the chat refused: %s", b)
		if f["type"] == typ {
			return f
		}
	}
}

// say sends a message and waits for its ack, which the chat gives only once it is stored.
func (p *chatPage) say(ctx context.Context, t *testing.T, clientID, text string) {
	t.Helper()
	p.send(ctx, t, map[string]string{"type": "message", "client_id": clientID, "text": text})
	require.Equal(t, clientID, p.next(ctx, t, "ack")["client_id"])
}

// nextReply returns the text of the next agent message pushed to the page.
func (p *chatPage) nextReply(ctx context.Context, t *testing.T) string {
	t.Helper()
	for {
		f := p.next(ctx, t, "message")
		if f["from"] == "agent" {
			text, _ := f["text"].(string)
			return text
		}
	}
}

// inboxAgent is an agent signed in to the inbox.
type inboxAgent struct {
	base   string
	client *http.Client
}

var (
	csrfPattern  = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	tokenPattern = regexp.MustCompile(`name="token" value="([^"]+)"`)
)

func signIn(t *testing.T, base, name, password string) *inboxAgent {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	a := &inboxAgent{base: base, client: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
	form := a.page(t, "/inbox/signin")
	resp, err := a.client.PostForm(base+"/inbox/signin", url.Values{"csrf": {field(t, csrfPattern, form)},
		"username": {name}, "password": {password}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "signed in and redirected to the list")
	return a
}

func (a *inboxAgent) page(t *testing.T, path string) string {
	t.Helper()
	resp, err := a.client.Get(a.base + path)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "GET %s: %s", path, b)
	return string(b)
}

// waitConversation waits until the list shows a conversation on channel and returns its path.
func (a *inboxAgent) waitConversation(t *testing.T, channel string) string {
	t.Helper()
	row := regexp.MustCompile(`<a href="(/inbox/conversations/[^"]+)">[^<]*</a>[^\n]*\n<td class="channel"><span class="kind">[a-z]+</span> ` + channel + `</td>`)
	var path string
	require.Eventually(t, func() bool {
		m := row.FindStringSubmatch(a.page(t, "/inbox/?status=all"))
		if m != nil {
			path = m[1]
		}
		return m != nil
	}, 30*time.Second, 20*time.Millisecond, "no conversation on %s in the inbox", channel)
	return path
}

func (a *inboxAgent) reply(t *testing.T, conv, text string) {
	t.Helper()
	thread := a.page(t, conv)
	resp, err := a.client.PostForm(a.base+conv+"/reply", url.Values{"csrf": {field(t, csrfPattern, thread)},
		"token": {field(t, tokenPattern, thread)}, "text": {text}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "the reply is stored and the thread shown again")
}

func field(t *testing.T, p *regexp.Regexp, page string) string {
	t.Helper()
	m := p.FindStringSubmatch(page)
	require.NotNil(t, m, "no %s in the page", p)
	return m[1]
}
