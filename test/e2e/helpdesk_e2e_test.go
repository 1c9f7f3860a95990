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
)

// helpdeskCase is what runHelpdesk needs of one helpdesk and its fake: every helpdesk
// connector owes the players the same, so one run checks them all and each helpdesk's file
// keeps only how its fake is driven and read.
type helpdeskCase struct {
	name     string // the helpdesk as failure messages name it
	instance string // the connector instance's name, which its webhook path carries
	kind     string // the connector type
	url      string // the fake's
	settings string // the rest of the instance's config, indented as its keys
	// hook points the fake's webhook at the gateway once its address is known.
	hook func(url string)
	// hold makes the fake do the next write but keep its answer back; release, where set,
	// lets go of it after the SIGKILL (the other fakes end it with the connection).
	hold    func() <-chan string
	release func()
	// held has, one a SIGKILL, a pattern the held write must match: the ticket's creation,
	// then (where there is a second) a comment on the ticket that exists by then.
	held []string
	// threads returns the player's messages on each ticket, in order and without the
	// gateway's markers, keyed by channel and address ("tg:…", "web:…"); a second ticket of one
	// player shows as a key with "#2".
	threads func() map[string][]string
	// already is what the gateway logs when a retry finds the held write done ("" if nothing).
	already string
	// players checks what the helpdesk holds of the players and the tickets' tags.
	players func(t *testing.T)
	// answer posts on every ticket an internal note ("internal: …") and then a public reply
	// ("… kümmern …").
	answer func(ctx context.Context, t *testing.T)
	// close closes the ticket of player (a threads key) as an agent does and returns the
	// gateway conversation it is for.
	close func(ctx context.Context, t *testing.T, e *env, player string) string
	// followUp waits for the ticket that text, the player's next message, opens after the
	// close, checks it, and checks that the closed ticket stays closed.
	followUp    func(t *testing.T, text string)
	neverLogged []string // secrets, and lines of a failure the run must not meet
}

// runHelpdesk runs the gateway binary with Telegram and web chat players writing to the
// helpdesk of h: it SIGKILLs the gateway while h's fake holds the answer of a write, then
// checks one ticket per conversation with every message once and in order, that agents'
// replies reach the players once and internal notes never, and that closing a ticket makes
// the player's next message open a follow-up.
func runHelpdesk(t *testing.T, h helpdeskCase) {
	if testing.Short() {
		t.Skip("end-to-end test builds and runs the binary")
	}
	const token = "123456:e2e-helpdesk-token"
	tg := telegramfake.New(token)
	tgSrv := httptest.NewServer(tg)
	t.Cleanup(tgSrv.Close)
	t.Cleanup(tg.Close)
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
  - name: %s
    type: %s
    url: %s
%sdefault_helpdesk: %[3]s
`, token, tgSrv.URL, h.instance, h.kind, h.url, h.settings))
	h.hook(e.base + "/hooks/" + h.instance)
	e.start()

	chats := []int64{7200000001, 7200000002}
	const perChat = 5
	send := func(chat int64, i int) {
		tg.AddUpdate(tgbotapi.Update{Message: &tgbotapi.Message{MessageID: 100 + i, Date: int(time.Now().Unix()),
			From: &tgbotapi.User{ID: chat, FirstName: "Player", LanguageCode: "de"},
			Chat: &tgbotapi.Chat{ID: chat, Type: "private"}, Text: fmt.Sprintf("chat %d message %02d", chat, i)}})
	}

	// Each write is done in the helpdesk, but the gateway dies before it hears so.
	for i, want := range h.held {
		held := h.hold()
		send(chats[0], i)
		select {
		case w := <-held:
			t.Logf("SIGKILL while %s holds the answer of %s", h.name, w)
			require.Regexp(t, want, w)
		case <-time.After(30 * time.Second):
			t.Fatalf("the gateway never made write %d to %s", i+1, h.name)
		}
		e.kill()
		if h.release != nil {
			h.release()
		}
		e.start()
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	web := newWebPlayer(e.base)
	for i := len(h.held); i < perChat; i++ {
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
		k := fmt.Sprintf("tg:%d", chat)
		for i := range perChat {
			want[k] = append(want[k], fmt.Sprintf("chat %d message %02d", chat, i))
		}
	}
	require.Eventually(t, func() bool {
		got := h.threads()
		return len(got) == 3 && len(got[fmt.Sprintf("tg:%d", chats[0])]) >= perChat &&
			len(got[fmt.Sprintf("tg:%d", chats[1])]) >= perChat && len(webThread(got)) >= 3
	}, time.Minute, 50*time.Millisecond, "%s holds %v", h.name, h.threads())
	e.waitMetrics(t, `gateway_queue_depth{direction="inbound"} 0`)
	got := h.threads()
	require.Len(t, got, 3, "one ticket per conversation: %v", got)
	for k, texts := range want {
		require.Equal(t, texts, got[k], "the ticket of %s holds every message once, in order", k)
	}
	require.Equal(t, []string{"web message 00", "web message 01", "web message 02"}, webThread(got))
	if h.already != "" {
		require.True(t, e.logs.Contains(h.already),
			"the retry after the SIGKILL must find the held write's message in %s instead of writing it again", h.name)
	}
	h.players(t)

	// Agents answer every ticket: an internal note first (never sent), then a public reply.
	h.answer(ctx, t)
	for _, chat := range chats {
		replies := func() []telegramfake.SentMessage { return sentMessages(tg, chat, "kümmern") }
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

	// An agent closes the first chat's ticket: the conversation closes, and the player's next
	// message opens a follow-up (closed_ticket: follow_up).
	conv := h.close(ctx, t, e, fmt.Sprintf("tg:%d", chats[0]))
	require.Eventually(t, func() bool {
		var c normalize.Conversation
		return e.api(http.MethodGet, "/api/v1/conversations/"+conv, nil, &c) == http.StatusOK && c.Status == normalize.StatusClosed
	}, 30*time.Second, 20*time.Millisecond, "closing in %s never closed conversation %s", h.name, conv)
	send(chats[0], perChat)
	h.followUp(t, fmt.Sprintf("chat %d message %02d", chats[0], perChat))
	for _, s := range h.neverLogged {
		require.False(t, e.logs.Contains(s), "%q reached the logs", s)
	}
}

// markerLine is the line the gateway ends its comments with.
var markerLine = regexp.MustCompile(`\n*\[gateway-message-id: [A-Za-z0-9._-]+\]\s*$`)

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

// waitForTicket returns a ticket of tickets (a fake's, by ID) that is, once there is one.
func waitForTicket[K comparable, T any](t *testing.T, tickets func() map[K]T, is func(T) bool, msg string) T {
	t.Helper()
	var found T
	require.Eventually(t, func() bool {
		for _, tk := range tickets() {
			if is(tk) {
				found = tk
				return true
			}
		}
		return false
	}, 30*time.Second, 20*time.Millisecond, msg)
	return found
}
