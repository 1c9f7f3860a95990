package webchat_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/channel/webchat"
	"github.com/casino-support/gateway/connectors/settings"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/store/blobs"
	"github.com/casino-support/gateway/test/conformance"
)

// TestChannelConformance runs the router's promises against the chat with its remote, the
// player's browser, played by a test page per address, over each transport a page uses. The
// chat is built through its public API from the production defaults, so the suite sees the
// rate limits and the token handling the gateway runs.
//
// The chat picks the address itself (a visitor ID issued in the welcome), so NewAddress opens
// a page, and ExternalIDOf is the documented "<address>:<client_id>".
//
// Replies reach a page by push only while it is open; a page that opens later reads them from
// the store's history, which the router writes before Send and which the suite does not
// have. So NewAddress opens the page before the suite sends anything to it, and Received is
// what that page shows: exactly the real-time path players rely on.
//
// The remote's view of a player's message is the page's: handed over once the page got its
// ack frame (a page resends what was not acknowledged). Send pushes to the open pages and
// meets no remote that answers with statuses, so the harness has no FailSend.
//
// Idempotent is true: Send pushes msg.ID as the reply's id, and the page (static/public/chat.js,
// render) shows one bubble per id, as it does for history, so a repeated Send re-pushes the
// same bubble rather than showing it twice. The test page keys replies by id the same way.
func TestChannelConformance(t *testing.T) {
	for _, transport := range []string{"websocket", "longpoll"} {
		t.Run(transport, func(t *testing.T) {
			var envs conformance.PerTest[*conformanceEnv]
			conformance.RunChannel(t, conformance.ChannelHarness{
				New: func(t *testing.T) connectors.Channel {
					env := newConformanceEnv(t, transport)
					envs.Put(t, env)
					return env.ch
				},
				PlayerSends: func(t *testing.T, _ connectors.Channel, address normalize.Address, externalID, text string) error {
					p, err := envs.Get(t).page(address)
					if err != nil {
						return err
					}
					return p.say(t.Context(), externalID, text)
				},
				Received: func(t *testing.T, address normalize.Address) []string {
					p, err := envs.Get(t).page(address)
					require.NoError(t, err)
					return p.replies()
				},
				Idempotent: true,
				NewAddress: func(t *testing.T) normalize.Address {
					return envs.Get(t).open(t)
				},
				ExternalIDOf: func(_ *testing.T, address normalize.Address, externalID string) normalize.ExternalID {
					return normalize.ExternalID(string(address) + ":" + externalID)
				},
				Acknowledged: func(t *testing.T, address normalize.Address, externalID string) bool {
					p, err := envs.Get(t).page(address)
					require.NoError(t, err)
					return p.acked(externalID)
				},
			})
		})
	}
}

// conformanceHistory is the store's read side as it is before the router stored anything:
// the suite's sink records messages but keeps no conversations, so every page starts empty.
type conformanceHistory struct{}

func (conformanceHistory) ConversationAt(_ context.Context, _ normalize.InstanceName, address normalize.Address) (normalize.Conversation, error) {
	return normalize.Conversation{}, fmt.Errorf("conformance history: conversation at %s: %w", address, connectors.ErrNotFound)
}

func (conformanceHistory) Thread(context.Context, normalize.ConversationID, int) ([]normalize.Message, error) {
	return nil, nil
}

// conformanceEnv is one chat served over HTTP and the pages open on it, by address.
type conformanceEnv struct {
	ch        *webchat.Channel
	srv       *httptest.Server
	transport string

	mu    sync.Mutex
	pages map[normalize.Address]testPage
}

// testPage is a player's page as the suite uses it.
type testPage interface {
	// say sends a message and returns nil only once the chat acknowledged it.
	say(ctx context.Context, clientID, text string) error
	// replies returns the texts of the agent replies the page shows, in arrival order.
	replies() []string
	// acked reports whether the chat acknowledged the message sent as clientID, after which
	// the page does not send it again.
	acked(clientID string) bool
}

func newConformanceEnv(t *testing.T, transport string) *conformanceEnv {
	t.Helper()
	cfg := webchat.DefaultConfig()
	cfg.Derive(settings.Env{Name: "web"})
	bl, err := blobs.New(t.TempDir(), 1<<20)
	require.NoError(t, err)
	ch, err := webchat.New("web", *cfg, webchat.Deps{Blobs: bl, History: conformanceHistory{}, SecretsDir: t.TempDir(),
		Log: testLog(t)})
	require.NoError(t, err)
	mux := http.NewServeMux()
	ch.Mount(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &conformanceEnv{ch: ch, srv: srv, transport: transport, pages: map[normalize.Address]testPage{}}
}

// open opens a new visitor's page, as a browser without a stored token does, and returns the
// address the chat gave the visitor.
func (e *conformanceEnv) open(t *testing.T) normalize.Address {
	t.Helper()
	var (
		p       testPage
		visitor string
		err     error
	)
	if e.transport == "websocket" {
		p, visitor, err = openWSPage(t, e.srv.URL)
	} else {
		p, visitor, err = openPollPage(t, e.srv.URL, e.srv.Client())
	}
	require.NoError(t, err, "open a %s page", e.transport)
	require.NotEmpty(t, visitor, "the welcome must name the visitor")
	// docs/webchat.md: an anonymous visitor's conversation lives at visitor:<id>.
	address := normalize.Address("visitor:" + visitor)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.pages[address] = p
	return address
}

func (e *conformanceEnv) page(address normalize.Address) (testPage, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	p, ok := e.pages[address]
	if !ok {
		return nil, fmt.Errorf("harness: no page open on %s; NewAddress did not return it", address)
	}
	return p, nil
}

// serverFrame is every frame the chat sends a page, decoded loosely.
type serverFrame struct {
	Type     string `json:"type"`
	Token    string `json:"token"`
	Visitor  string `json:"visitor"`
	ClientID string `json:"client_id"`
	ID       string `json:"id"`
	From     string `json:"from"`
	Text     string `json:"text"`
	Code     string `json:"code"`
	Message  string `json:"message"`
}

// answer returns nil when f acknowledges clientID, else an error saying what the chat answered.
func (f serverFrame) answer(clientID string) error {
	switch {
	case f.Type == "ack" && f.ClientID == clientID:
		return nil
	case f.Type == "error":
		return fmt.Errorf("message %s refused: %s: %s", clientID, f.Code, f.Message)
	}
	return fmt.Errorf("message %s: want an ack, got a %s frame", clientID, f.Type)
}

// screen is what a page shows of agent replies: one bubble per reply id, as chat.js's render
// keys them, so a reply pushed again shows once. It also keeps which of the page's own
// messages the chat acknowledged.
type screen struct {
	mu    sync.Mutex
	shown map[string]bool
	texts []string
	acks  conformance.Acks
}

func (s *screen) acked(clientID string) bool { return s.acks.Acknowledged(clientID) }

func (s *screen) show(f serverFrame) {
	if f.Type == "ack" && f.ClientID != "" {
		_ = s.acks.Record(f.ClientID, nil)
		return
	}
	if f.Type != "message" || f.From != "agent" {
		return // acks, typing, and the player's own messages echoed to the page
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shown == nil {
		s.shown = map[string]bool{}
	}
	if s.shown[f.ID] {
		return
	}
	s.shown[f.ID] = true
	s.texts = append(s.texts, f.Text)
}

func (s *screen) replies() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.texts...)
}

// answerTimeout bounds the wait for an ack; the suite retries what was not acknowledged.
const answerTimeout = 5 * time.Second

// wsPage is a page on the WebSocket: a reader shows pushed replies and hands acks and errors
// for messages to the say waiting for them. Like pollPage it sends no receipts and no typing:
// the suite checks neither.
type wsPage struct {
	screen
	conn *websocket.Conn

	mu      sync.Mutex
	waiting map[string]chan serverFrame // client_id -> the say waiting for its answer
	closed  bool
}

func openWSPage(t *testing.T, base string) (*wsPage, string, error) {
	ctx, cancel := context.WithTimeout(t.Context(), answerTimeout)
	defer cancel()
	// The Origin is the chat's own, as for the player page the chat serves.
	opts := &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {base}}}
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/chat/ws", opts)
	if err != nil {
		return nil, "", fmt.Errorf("dial: %w", err)
	}
	p := &wsPage{conn: conn, waiting: map[string]chan serverFrame{}}
	if err := p.write(ctx, map[string]string{"type": "hello", "language": "en"}); err != nil {
		conn.CloseNow()
		return nil, "", err
	}
	_, data, err := conn.Read(ctx)
	var welcome serverFrame
	if err == nil {
		err = json.Unmarshal(data, &welcome)
	}
	if err == nil && welcome.Type != "welcome" {
		err = fmt.Errorf("want a welcome, got %s", data)
	}
	if err != nil {
		conn.CloseNow()
		return nil, "", fmt.Errorf("hello: %w", err)
	}
	done := make(chan struct{})
	go p.read(done)
	t.Cleanup(func() {
		conn.CloseNow()
		<-done
	})
	return p, welcome.Visitor, nil
}

// read runs until the connection ends (the test's cleanup, or the chat closing it when Run
// ends); then every waiting say learns that no answer will come.
func (p *wsPage) read(done chan<- struct{}) {
	defer close(done)
	defer func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.closed = true
		for id, w := range p.waiting {
			close(w)
			delete(p.waiting, id)
		}
	}()
	for {
		_, data, err := p.conn.Read(context.Background())
		if err != nil {
			return
		}
		var f serverFrame
		if json.Unmarshal(data, &f) != nil {
			continue // the chat's own tests check its frames are JSON
		}
		p.show(f)
		if (f.Type == "ack" || f.Type == "error") && f.ClientID != "" {
			p.mu.Lock()
			if w, ok := p.waiting[f.ClientID]; ok {
				w <- f
				delete(p.waiting, f.ClientID)
			}
			p.mu.Unlock()
		}
	}
}

func (p *wsPage) say(ctx context.Context, clientID, text string) error {
	answer := make(chan serverFrame, 1)
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return errors.New("the connection is closed")
	}
	p.waiting[clientID] = answer
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.waiting[clientID] == answer {
			delete(p.waiting, clientID)
		}
	}()

	ctx, cancel := context.WithTimeout(ctx, answerTimeout)
	defer cancel()
	if err := p.write(ctx, map[string]string{"type": "message", "client_id": clientID, "text": text}); err != nil {
		return err
	}
	select {
	case f, ok := <-answer:
		if !ok {
			return errors.New("the connection closed before the answer")
		}
		return f.answer(clientID)
	case <-ctx.Done():
		return fmt.Errorf("message %s: no answer: %w", clientID, ctx.Err())
	}
}

func (p *wsPage) write(ctx context.Context, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if err := p.conn.Write(ctx, websocket.MessageText, b); err != nil {
		return fmt.Errorf("write frame: %w", err)
	}
	return nil
}

// pollPage is a page on the long-poll fallback: a poller shows pushed replies, and each
// message is a POST whose answer is the ack.
type pollPage struct {
	screen
	base   string
	client *http.Client

	mu     sync.Mutex
	token  string
	cursor int64
}

func openPollPage(t *testing.T, base string, client *http.Client) (*pollPage, string, error) {
	p := &pollPage{base: base, client: client}
	visitor, err := p.hello(t.Context())
	if err != nil {
		return nil, "", err
	}
	// The poll is cancelled before the server closes: Close waits for handlers, and a poll
	// waits up to 25s for a frame.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go p.poll(ctx, done)
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return p, visitor, nil
}

// hello says hello with the page's token, if it has one, and keeps the renewed token and the
// cursor to poll from, as the page does on load and after a reset.
func (p *pollPage) hello(ctx context.Context) (string, error) {
	p.mu.Lock()
	frame := map[string]string{"type": "hello", "language": "en", "token": p.token}
	p.mu.Unlock()
	var resp struct {
		Frames []serverFrame `json:"frames"`
		Cursor int64         `json:"cursor"`
	}
	if err := p.post(ctx, frame, &resp); err != nil {
		return "", fmt.Errorf("hello: %w", err)
	}
	if len(resp.Frames) != 1 || resp.Frames[0].Type != "welcome" {
		return "", fmt.Errorf("hello: want a welcome, got %+v", resp.Frames)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.token, p.cursor = resp.Frames[0].Token, resp.Cursor
	return resp.Frames[0].Visitor, nil
}

func (p *pollPage) say(ctx context.Context, clientID, text string) error {
	ctx, cancel := context.WithTimeout(ctx, answerTimeout)
	defer cancel()
	var resp struct {
		Frames []serverFrame `json:"frames"`
	}
	if err := p.post(ctx, map[string]string{"type": "message", "client_id": clientID, "text": text}, &resp); err != nil {
		return fmt.Errorf("message %s: %w", clientID, err)
	}
	if len(resp.Frames) != 1 {
		return fmt.Errorf("message %s: want one answer frame, got %d", clientID, len(resp.Frames))
	}
	p.show(resp.Frames[0])
	return resp.Frames[0].answer(clientID)
}

// poll asks for pushed frames until ctx ends; a reset makes it say hello again, as the page
// does (it would reload the history, which is empty here).
func (p *pollPage) poll(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	for ctx.Err() == nil {
		p.mu.Lock()
		token, cursor := p.token, p.cursor
		p.mu.Unlock()
		var resp struct {
			Frames []serverFrame `json:"frames"`
			Cursor int64         `json:"cursor"`
			Reset  bool          `json:"reset"`
		}
		if err := p.get(ctx, fmt.Sprintf("/chat/api/poll?after=%d", cursor), token, &resp); err != nil {
			sleep(ctx, 50*time.Millisecond) // a page backs off and polls again
			continue
		}
		for _, f := range resp.Frames {
			p.show(f)
		}
		if resp.Reset {
			if _, err := p.hello(ctx); err != nil {
				sleep(ctx, 50*time.Millisecond) // the next poll is reset again and retries
			}
			continue
		}
		p.mu.Lock()
		p.cursor = resp.Cursor
		p.mu.Unlock()
	}
}

func (p *pollPage) post(ctx context.Context, frame any, out any) error {
	b, err := json.Marshal(frame)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.base+"/chat/api/send", bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	p.mu.Lock()
	if p.token != "" {
		req.Header.Set("Authorization", "Bearer "+p.token)
	}
	p.mu.Unlock()
	return p.do(req, out)
}

func (p *pollPage) get(ctx context.Context, path, token string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.base+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	return p.do(req, out)
}

func (p *pollPage) do(req *http.Request, out any) error {
	req.Header.Set("Origin", p.base) // the player page the chat serves
	resp, err := p.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: status %d", req.Method, req.URL.Path, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", req.Method, req.URL.Path, err)
	}
	return nil
}

// testLog keeps the chat's log lines and shows them when the test failed. It does not write to
// t directly: connection handlers may still log after the test ended.
func testLog(t *testing.T) *slog.Logger {
	var buf lockedBuffer
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("chat log:\n%s", buf.String())
		}
	})
	return slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
