package inbox

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/settings"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/store"
	"github.com/casino-support/gateway/router/store/blobs"
)

// The gateway store is what cmd/gateway hands the inbox.
var _ Conversations = (*store.Store)(nil)

const (
	testName     = normalize.InstanceName("inbox")
	testPassword = "alice-password"
)

// fakeConversations is the gateway store as the inbox sees it.
type fakeConversations struct {
	mu    sync.Mutex
	convs map[normalize.ConversationID]normalize.Conversation
	msgs  map[normalize.ConversationID][]normalize.Message
}

type statusCall struct {
	Conv   normalize.ConversationID
	Status normalize.Status
}

func newFakeConversations() *fakeConversations {
	return &fakeConversations{convs: map[normalize.ConversationID]normalize.Conversation{},
		msgs: map[normalize.ConversationID][]normalize.Message{}}
}

func (f *fakeConversations) add(c normalize.Conversation, msgs ...normalize.Message) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.convs[c.ID] = c
	f.msgs[c.ID] = append(f.msgs[c.ID], msgs...)
}

// intake stores c and those of msgs it does not hold yet, as the gateway store's intake
// does before the router posts them: a retried post stores nothing twice.
func (f *fakeConversations) intake(c normalize.Conversation, msgs ...normalize.Message) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.convs[c.ID] = c
	for _, m := range msgs {
		if !slices.ContainsFunc(f.msgs[c.ID], func(held normalize.Message) bool { return held.ID == m.ID }) {
			f.msgs[c.ID] = append(f.msgs[c.ID], m)
		}
	}
}

func (f *fakeConversations) Conversation(ctx context.Context, id normalize.ConversationID) (normalize.Conversation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.convs[id]
	if !ok {
		return c, fmt.Errorf("fake: conversation %s: %w", id, connectors.ErrNotFound)
	}
	return c, nil
}

func (f *fakeConversations) Thread(ctx context.Context, conv normalize.ConversationID, limit int) ([]normalize.Message, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := f.msgs[conv]
	if len(m) > limit {
		m = m[len(m)-limit:]
	}
	return append([]normalize.Message(nil), m...), nil
}

// PlayerConversations lists the conversations whose player is playerID, by ID (the store
// orders them by when they were linked, which the fake does not keep).
func (f *fakeConversations) PlayerConversations(ctx context.Context, playerID string, limit int) ([]normalize.LinkedConversation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []normalize.LinkedConversation
	for _, c := range f.convs {
		if playerID != "" && c.Player.PlayerID == playerID {
			out = append(out, normalize.LinkedConversation{ID: c.ID, Channel: c.Channel, ChannelKind: c.ChannelKind,
				Helpdesk: c.Helpdesk, Ticket: c.Ticket, Status: c.Status, LinkedBy: c.Player.PlayerIDBy, LinkedAt: c.CreatedAt})
		}
	}
	slices.SortFunc(out, func(a, b normalize.LinkedConversation) int { return strings.Compare(string(a.ID), string(b.ID)) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// recordingSink records what the inbox delivers and, as the router's connectors.TypingSink,
// the typing hints; gate, when set, holds each Deliver until the test receives from it.
type recordingSink struct {
	typing  *typingRecorder
	mu      sync.Mutex
	msgs    []normalize.Message
	err     error
	entered chan struct{}
	gate    chan struct{}
}

func (s *recordingSink) Deliver(ctx context.Context, msgs ...normalize.Message) error {
	if s.entered != nil {
		s.entered <- struct{}{}
		<-s.gate
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.msgs = append(s.msgs, msgs...)
	return nil
}

func (s *recordingSink) delivered() []normalize.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]normalize.Message(nil), s.msgs...)
}

// fakeClock is a settable clock for SLA and session expiry.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type typingRecorder struct {
	mu    sync.Mutex
	convs []normalize.ConversationID
}

func (r *typingRecorder) typing(ctx context.Context, conv normalize.ConversationID) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.convs = append(r.convs, conv)
	return nil
}

// Typing is the router's connectors.TypingSink.
func (s *recordingSink) Typing(ctx context.Context, conv normalize.ConversationID) error {
	return s.typing.typing(ctx, conv)
}

// statusCalls returns the status changes the inbox delivered, in order.
func (f *fixture) statusCalls() []statusCall {
	var out []statusCall
	for _, m := range f.sink.delivered() {
		if m.Status != "" {
			out = append(out, statusCall{m.Conversation, m.Status})
		}
	}
	return out
}

func (r *typingRecorder) calls() []normalize.ConversationID {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]normalize.ConversationID(nil), r.convs...)
}

// fixture is a running inbox behind an httptest server.
type fixture struct {
	t      *testing.T
	in     *Inbox
	srv    *httptest.Server
	cfg    Config
	convs  *fakeConversations
	sink   *recordingSink
	blobs  *blobs.Dir
	typing *typingRecorder
	clock  *fakeClock
	out    *bytes.Buffer
}

// t0 is the fixture clock's start.
var t0 = time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)

// minCostHash hashes quickly: tests need many sign-ins, not strong hashes.
func minCostHash(t *testing.T, password string) settings.Secret {
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	require.NoError(t, err)
	return settings.Secret(h)
}

func testConfig(t *testing.T) Config {
	return Config{
		Path:       "/inbox",
		Database:   filepath.Join(t.TempDir(), "inbox.db"),
		Agents:     []Agent{{Name: "alice", DisplayName: "Alice", PasswordHash: minCostHash(t, testPassword)}},
		SessionTTL: time.Hour,
	}
}

func newFixture(t *testing.T, configure ...func(*Config, *Deps)) *fixture {
	t.Helper()
	f := newIdleFixture(t, configure...)
	f.run()
	return f
}

// newIdleFixture is newFixture without Run, for tests that run the inbox themselves.
func newIdleFixture(t *testing.T, configure ...func(*Config, *Deps)) *fixture {
	t.Helper()
	cfg := testConfig(t)
	b, err := blobs.New(t.TempDir(), 1<<20)
	require.NoError(t, err)
	typing := &typingRecorder{}
	f := &fixture{t: t, cfg: cfg, convs: newFakeConversations(), sink: &recordingSink{typing: typing}, blobs: b,
		typing: typing, clock: &fakeClock{t: t0}, out: &bytes.Buffer{}}
	deps := Deps{Conversations: f.convs, Blobs: b, PublicURL: "http://gateway.test",
		MaxUploadBytes: 64 << 10, Out: f.out}
	if fixturePostgres != nil {
		deps.Postgres = fixturePostgres(t)
	}
	for _, c := range configure {
		c(&f.cfg, &deps)
	}
	f.in, err = New(t.Context(), testName, f.cfg, deps)
	require.NoError(t, err)
	f.in.now = f.clock.Now
	mux := http.NewServeMux()
	f.in.Mount(mux)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		require.NoError(t, f.in.Close()) // ends event streams, so the server can close
		f.srv.Close()
	})
	return f
}

// run runs the inbox with f.sink until the test ends; cleanups run in reverse, so Run has
// returned before the inbox closes.
func (f *fixture) run() {
	f.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.in.Run(ctx, f.sink) }()
	require.Eventually(f.t, func() bool { _, err := f.in.currentSink(); return err == nil }, 5*time.Second, time.Millisecond)
	f.t.Cleanup(func() {
		cancel()
		require.NoError(f.t, <-done)
	})
}

// conv adds a conversation routed to the inbox, with msgs, to the fake store.
func (f *fixture) conv(id string, player normalize.Author, msgs ...normalize.Message) normalize.Conversation {
	c := normalize.Conversation{ID: normalize.ConversationID(id), Channel: "tg-main", ChannelKind: normalize.KindTelegram,
		Address: "4711", Helpdesk: testName, Status: normalize.StatusOpen, Language: player.Language, Player: player,
		CreatedAt: t0}
	for n := range msgs {
		msgs[n].Conversation = c.ID
	}
	f.convs.add(c, msgs...)
	return c
}

// post hands msgs to the inbox as the router would.
func (f *fixture) post(c normalize.Conversation, msgs ...normalize.Message) (normalize.Ref, []normalize.ExternalID) {
	f.t.Helper()
	ds := make([]connectors.Delivery, len(msgs))
	for n, m := range msgs {
		ds[n] = connectors.Delivery{Message: m, Attempt: 1}
	}
	ref, ids, err := f.in.Post(f.t.Context(), c, ds)
	require.NoError(f.t, err)
	return ref, ids
}

func playerMsg(id, text string, at time.Time) normalize.Message {
	return normalize.Message{ID: normalize.MessageID(id), Direction: normalize.Inbound, Source: "tg-main",
		ExternalID: normalize.ExternalID("tg-" + id), Channel: "tg-main", ChannelKind: normalize.KindTelegram, Address: "4711",
		Author: normalize.Author{Role: normalize.RolePlayer, DisplayName: "Lena"}, Kind: normalize.KindText, Text: text,
		SentAt: at, ReceivedAt: at, State: normalize.StateDelivered}
}

var lena = normalize.Author{Role: normalize.RolePlayer, DisplayName: "Lena", Language: "de", VIPTier: 3}

// browser is an HTTP client with its own cookies that does not follow redirects, so tests
// see every 303.
type browser struct {
	t      *testing.T
	f      *fixture
	client *http.Client
	csrf   string
}

func (f *fixture) browser() *browser {
	jar, err := cookiejar.New(nil)
	require.NoError(f.t, err)
	return &browser{t: f.t, f: f, client: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// signedIn returns a browser signed in as alice.
func (f *fixture) signedIn() *browser { return f.signedInAs("alice", testPassword) }

// signedInAs returns a browser signed in as user.
func (f *fixture) signedInAs(user, password string) *browser {
	b := f.browser()
	resp := b.signIn(user, password)
	require.Equal(f.t, http.StatusSeeOther, resp.status, resp.body)
	page := b.get("/inbox/")
	require.Equal(f.t, http.StatusOK, page.status)
	b.csrf = find(f.t, `data-csrf="([^"]+)"`, page.body)
	return b
}

type response struct {
	status int
	header http.Header
	body   string
}

func (b *browser) do(req *http.Request) response {
	b.t.Helper()
	resp, err := b.client.Do(req)
	require.NoError(b.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(b.t, err)
	return response{status: resp.StatusCode, header: resp.Header, body: string(body)}
}

func (b *browser) get(path string) response {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.f.srv.URL+path, nil)
	require.NoError(b.t, err)
	return b.do(req)
}

func (b *browser) postForm(path string, form url.Values) response {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.f.srv.URL+path, strings.NewReader(form.Encode()))
	require.NoError(b.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// postMultipart posts fields and, when content is not nil, one file as "attachment".
func (b *browser) postMultipart(path string, fields url.Values, fileName string, content []byte) response {
	b.t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for k, vs := range fields {
		for _, v := range vs {
			require.NoError(b.t, w.WriteField(k, v))
		}
	}
	if content != nil {
		fw, err := w.CreateFormFile("attachment", fileName)
		require.NoError(b.t, err)
		_, err = fw.Write(content)
		require.NoError(b.t, err)
	}
	require.NoError(b.t, w.Close())
	req, err := http.NewRequest(http.MethodPost, b.f.srv.URL+path, &body)
	require.NoError(b.t, err)
	req.Header.Set("Content-Type", w.FormDataContentType())
	return b.do(req)
}

func (b *browser) signIn(user, password string) response {
	b.t.Helper()
	form := b.get("/inbox/signin")
	require.Equal(b.t, http.StatusOK, form.status)
	token := find(b.t, `name="csrf" value="([^"]+)"`, form.body)
	return b.postForm("/inbox/signin", url.Values{"csrf": {token}, "username": {user}, "password": {password}})
}

// replyForm loads a thread and returns its reply form's idempotency token.
func (b *browser) replyToken(conv string) string {
	b.t.Helper()
	page := b.get("/inbox/conversations/" + conv)
	require.Equal(b.t, http.StatusOK, page.status, page.body)
	return find(b.t, `name="token" value="([^"]+)"`, page.body)
}

func find(t *testing.T, pattern, s string) string {
	t.Helper()
	m := regexp.MustCompile(pattern).FindStringSubmatch(s)
	require.NotNil(t, m, "no %s in:\n%s", pattern, s)
	return m[1]
}
