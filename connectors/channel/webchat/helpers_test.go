package webchat

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/store/blobs"
)

const (
	testTokenSecret  = "test-token-secret-0123456789abcdef"
	testPlayerSecret = "test-player-secret-0123456789abcdef"
	testPublicURL    = "https://gw.example"
	testAllowed      = "https://casino.example"
)

// fakeStore is the router and the store in one: a Sink that deduplicates on ExternalID like
// the real store, the History the chat reads, and the router's receipts. gate, when set, holds every Deliver until a
// value is sent on it, and entered reports each Deliver as it starts.
type fakeStore struct {
	mu      sync.Mutex
	convs   map[normalize.Address]normalize.ConversationID
	msgs    map[normalize.ConversationID][]normalize.Message
	seen    map[normalize.ExternalID]bool
	calls   []normalize.Message // every message handed to Deliver, duplicates too
	marks   []mark
	fail    error
	gate    chan struct{}
	entered chan normalize.Message
}

type mark struct {
	id    normalize.MessageID
	state normalize.DeliveryState
}

func newFakeStore() *fakeStore {
	return &fakeStore{
		convs: map[normalize.Address]normalize.ConversationID{},
		msgs:  map[normalize.ConversationID][]normalize.Message{},
		seen:  map[normalize.ExternalID]bool{},
	}
}

func (s *fakeStore) Deliver(ctx context.Context, msgs ...normalize.Message) error {
	s.mu.Lock()
	gate, entered, fail := s.gate, s.entered, s.fail
	s.calls = append(s.calls, msgs...)
	s.mu.Unlock()
	if entered != nil {
		for _, m := range msgs {
			entered <- m
		}
	}
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if fail != nil {
		return fail
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range msgs {
		if s.seen[m.ExternalID] {
			continue
		}
		s.seen[m.ExternalID] = true
		s.add(m)
	}
	return nil
}

// add stores m in the conversation of its address; the caller holds mu.
func (s *fakeStore) add(m normalize.Message) {
	conv, ok := s.convs[m.Address]
	if !ok {
		conv = normalize.NewConversationID()
		s.convs[m.Address] = conv
	}
	m.Conversation = conv
	if m.State == "" {
		m.State = normalize.StateQueued
	}
	s.msgs[conv] = append(s.msgs[conv], m)
}

// reply stores an outbound message (or note) of kind in addr's conversation, as the router
// would before calling Send, and returns it.
func (s *fakeStore) reply(addr normalize.Address, kind normalize.MessageKind, text string) normalize.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := normalize.Message{ID: normalize.NewMessageID(), Direction: normalize.Outbound, Source: "inbox",
		ExternalID: normalize.ExternalID(fmt.Sprint("reply-", len(s.calls), "-", time.Now().UnixNano())), Address: addr,
		Author: normalize.Author{Role: normalize.RoleAgent, DisplayName: "Anna"}, Kind: kind, Text: text,
		SentAt: time.Now().UTC(), State: normalize.StateSent}
	s.add(m)
	return s.msgs[s.convs[addr]][len(s.msgs[s.convs[addr]])-1]
}

// sendReply stores reply as the router stores an outbound message, then hands it to Send as
// the router does; fields a test leaves empty get a reply's usual values.
func (h *harness) sendReply(t *testing.T, reply normalize.Message) {
	t.Helper()
	reply.ID = cmp.Or(reply.ID, normalize.NewMessageID())
	reply.ExternalID = cmp.Or(reply.ExternalID, normalize.ExternalID("reply-"+string(reply.ID)))
	reply.Direction, reply.Kind = normalize.Outbound, cmp.Or(reply.Kind, normalize.KindText)
	reply.State = cmp.Or(reply.State, normalize.StateSent)
	if reply.SentAt.IsZero() {
		reply.SentAt = time.Now().UTC()
	}
	h.store.mu.Lock()
	h.store.add(reply)
	h.store.mu.Unlock()
	_, err := h.ch.Send(context.Background(), normalize.Conversation{Address: reply.Address}, reply)
	require.NoError(t, err)
}

// botAnswer is an FAQ bot's answer to addr with options as its quick replies.
func botAnswer(addr normalize.Address, options ...string) normalize.Message {
	return normalize.Message{Source: "faqbot", Address: addr, Author: normalize.Author{Role: normalize.RoleBot, DisplayName: "Assistant"},
		Text: "Withdrawals take up to 24 hours.", QuickReplies: options}
}

func (s *fakeStore) ConversationAt(ctx context.Context, channel normalize.InstanceName, address normalize.Address) (normalize.Conversation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.convs[address]
	if !ok {
		return normalize.Conversation{}, fmt.Errorf("fake: conversation at %s: %w", address, connectors.ErrNotFound)
	}
	return normalize.Conversation{ID: id, Channel: channel, ChannelKind: normalize.KindWebchat, Address: address}, nil
}

func (s *fakeStore) Thread(ctx context.Context, conv normalize.ConversationID, limit int) ([]normalize.Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	all := s.msgs[conv]
	if len(all) > limit {
		all = all[len(all)-limit:]
	}
	return append([]normalize.Message(nil), all...), nil
}

// Receipt is the router's connectors.ReceiptSink, on the sink the chat runs with.
func (s *fakeStore) Receipt(ctx context.Context, id normalize.MessageID, state normalize.DeliveryState) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.marks = append(s.marks, mark{id, state})
	return nil
}

// hold makes every Deliver report itself on entered and wait for a value on gate.
func (s *fakeStore) hold() (gate chan struct{}, entered chan normalize.Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gate, s.entered = make(chan struct{}), make(chan normalize.Message, 1)
	return s.gate, s.entered
}

// release makes later Delivers pass straight through again.
func (s *fakeStore) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gate, s.entered = nil, nil
}

func (s *fakeStore) failWith(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = err
}

func (s *fakeStore) delivered() []normalize.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []normalize.Message
	for _, conv := range s.msgs {
		for _, m := range conv {
			if m.Direction == normalize.Inbound {
				out = append(out, m)
			}
		}
	}
	return out
}

func (s *fakeStore) attempts() []normalize.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]normalize.Message(nil), s.calls...)
}

func (s *fakeStore) markCalls() []mark {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]mark(nil), s.marks...)
}

// syncBuffer collects log output from concurrent handlers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// harness is a running chat behind an httptest server.
type harness struct {
	ch    *Channel
	srv   *httptest.Server
	store *fakeStore
	logs  *syncBuffer
}

func testConfig() Config {
	d := DefaultConfig()
	return Config{
		Path: "/chat", Title: "Support", Color: "#0b5fff",
		Greetings:    map[string]string{"en": "Hi! How can we help you today?", "de": "Hallo! Wie können wir helfen?"},
		TokenSecret:  testTokenSecret,
		PlayerSecret: testPlayerSecret,
		TokenTTL:     time.Hour, AllowedOrigins: []string{testAllowed}, MessagesPerMinute: 20,
		UploadTypes: append([]string(nil), DefaultUploadTypes...),
		PerAddress:  d.PerAddress, MaxConnections: d.MaxConnections,
	}
}

// testClientHeader names the client address a test request claims. The harness's server
// resolves it the way the gateway's server resolves a trusted proxy's forwarded address, so
// tests can play several players and attackers from one loopback address.
const testClientHeader = "X-Test-Client"

func withTestClient(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v := r.Header.Get(testClientHeader); v != "" {
			r = connectors.WithClientAddr(r, netip.MustParseAddr(v))
		}
		next.ServeHTTP(w, r)
	})
}

// start runs a chat; edit may change the configuration and deps before New. run false leaves
// it without a sink, as before Run.
func start(t *testing.T, edit func(*Config, *Deps), run bool) *harness {
	t.Helper()
	cfg := testConfig()
	logs := &syncBuffer{}
	st := newFakeStore()
	bl, err := blobs.New(t.TempDir(), 1<<20)
	require.NoError(t, err)
	deps := Deps{Blobs: bl, History: st, PublicURL: testPublicURL, SecretsDir: t.TempDir(), MaxUploadBytes: 64 << 10,
		Log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	if edit != nil {
		edit(&cfg, &deps)
	}
	ch, err := New("web", cfg, deps)
	require.NoError(t, err)
	mux := http.NewServeMux()
	ch.Mount(mux)
	srv := httptest.NewServer(withTestClient(mux))
	t.Cleanup(srv.Close)
	if run {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- ch.Run(ctx, st) }()
		require.Eventually(t, func() bool { return ch.sink() != nil }, 5*time.Second, time.Millisecond)
		t.Cleanup(func() {
			cancel()
			require.NoError(t, <-done)
		})
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("chat log:\n%s", logs.String())
		}
	})
	return &harness{ch: ch, srv: srv, store: st, logs: logs}
}

// visitorToken signs a visitor token as the chat would issue it.
func visitorToken(visitor string, exp time.Time) string {
	return signToken([]byte(testTokenSecret), claims{Visitor: visitor, Exp: exp.Unix()})
}

func playerToken(c claims) string { return signToken([]byte(testPlayerSecret), c) }

// frame is any server frame, decoded loosely.
type frame struct {
	Type     string        `json:"type"`
	Token    string        `json:"token"`
	Visitor  string        `json:"visitor"`
	Title    string        `json:"title"`
	Greeting string        `json:"greeting"`
	Language string        `json:"language"`
	History  []wireMessage `json:"history"`
	Limits   limits        `json:"limits"`
	// CallbackRequests is the welcome's.
	CallbackRequests bool   `json:"callback_requests"`
	Code             string `json:"code"`
	Message          string `json:"message"`
	wireMessage
}

// client is a WebSocket page. A goroutine reads frames into a channel, because a Read that
// times out closes a coder/websocket connection.
type client struct {
	t      *testing.T
	conn   *websocket.Conn
	frames chan frame
	// closed receives the close status the server sent (-1 for none) when the connection ends.
	closed chan websocket.StatusCode
}

func (h *harness) dial(t *testing.T, origin string) (*client, error) {
	t.Helper()
	hdr := http.Header{}
	if origin != "" {
		hdr.Set("Origin", origin)
	}
	return h.dialWith(t, hdr)
}

// dialFrom opens a WebSocket as the client at addr.
func (h *harness) dialFrom(t *testing.T, addr string) (*client, error) {
	t.Helper()
	return h.dialWith(t, http.Header{testClientHeader: {addr}})
}

func (h *harness) dialWith(t *testing.T, hdr http.Header) (*client, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	opts := &websocket.DialOptions{HTTPHeader: hdr}
	conn, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(h.srv.URL, "http")+"/chat/ws", opts)
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("dial: status %d: %w", resp.StatusCode, err)
		}
		return nil, err
	}
	c := &client{t: t, conn: conn, frames: make(chan frame, 64), closed: make(chan websocket.StatusCode, 1)}
	go func() {
		for {
			_, data, err := conn.Read(context.Background())
			if err != nil {
				c.closed <- websocket.CloseStatus(err)
				close(c.frames)
				return
			}
			var f frame
			if err := json.Unmarshal(data, &f); err != nil {
				panic(fmt.Sprintf("server sent a frame that is not JSON: %q", data))
			}
			c.frames <- f
		}
	}()
	t.Cleanup(func() { conn.CloseNow() })
	return c, nil
}

func (h *harness) connect(t *testing.T) *client {
	t.Helper()
	c, err := h.dial(t, "")
	require.NoError(t, err)
	return c
}

func (c *client) send(v any) {
	c.t.Helper()
	b, err := json.Marshal(v)
	require.NoError(c.t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(c.t, c.conn.Write(ctx, websocket.MessageText, b))
}

// next returns the next frame, failing after a few seconds.
func (c *client) next() frame {
	c.t.Helper()
	select {
	case f, ok := <-c.frames:
		require.True(c.t, ok, "connection closed while waiting for a frame")
		return f
	case <-time.After(5 * time.Second):
		c.t.Fatal("no frame within 5s")
		return frame{}
	}
}

// none asserts that no frame arrives for d.
func (c *client) none(d time.Duration) {
	c.t.Helper()
	select {
	case f, ok := <-c.frames:
		if ok {
			c.t.Fatalf("unexpected frame %+v", f)
		}
	case <-time.After(d):
	}
}

// waitClosed waits until the server closed the connection.
func (c *client) waitClosed() {
	c.t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-c.frames:
			if !ok {
				return
			}
		case <-deadline:
			c.t.Fatal("connection still open after 5s")
		}
	}
}

// hello says hello and returns the welcome.
func (c *client) hello(f clientFrame) frame {
	c.t.Helper()
	f.Type = typeHello
	c.send(f)
	w := c.next()
	require.Equal(c.t, typeWelcome, w.Type, "want a welcome, got %+v", w)
	return w
}

// post sends one frame over the long-poll transport.
func (h *harness) post(t *testing.T, token string, v any) sendResponseFrames {
	t.Helper()
	return h.postFrom(t, "", token, v)
}

// postFrom sends one frame over the long-poll transport as the client at addr ("" for the
// loopback peer).
func (h *harness) postFrom(t *testing.T, addr, token string, v any) sendResponseFrames {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, h.srv.URL+"/chat/api/send", bytes.NewReader(b))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if addr != "" {
		req.Header.Set(testClientHeader, addr)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var out sendResponseFrames
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	return out
}

type sendResponseFrames struct {
	Frames []frame `json:"frames"`
	Cursor int64   `json:"cursor"`
}

type pollFrames struct {
	Frames []frame `json:"frames"`
	Cursor int64   `json:"cursor"`
	Reset  bool    `json:"reset"`
}

func (h *harness) poll(t *testing.T, token string, after int64) (int, pollFrames) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/chat/api/poll?after=%d", h.srv.URL, after), nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out pollFrames
	if resp.StatusCode == http.StatusOK {
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	}
	return resp.StatusCode, out
}

func msg(clientID, text string) clientFrame {
	return clientFrame{Type: typeMessage, ClientID: clientID, Text: text}
}
