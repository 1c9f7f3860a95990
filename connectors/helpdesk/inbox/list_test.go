package inbox

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

func TestPreviewOf(t *testing.T) {
	at := t0.Add(time.Minute)
	player := func(kind normalize.MessageKind, text string) normalize.Message {
		m := playerMsg("m", text, at)
		m.Kind = kind
		return m
	}
	reply := agentMsg("a", "We are on it.\nBest, Alice", normalize.StateSent, "")
	note := agentMsg("n", "VIP: be quick", normalize.StateSent, "")
	note.Kind = normalize.KindNote
	status := agentMsg("s", "Closed by Alice.", normalize.StateSent, "")
	status.Kind, status.Status = normalize.KindSystem, normalize.StatusClosed
	notice := player(normalize.KindSystem, "Conversation updated: VIP tier 3.")
	notice.Author = normalize.Author{Role: normalize.RoleSystem}
	unsupported := player(normalize.KindSystem, "[message type not supported by the gateway]")
	photo := player(normalize.KindImage, "")
	photo.Attachments = []normalize.Attachment{{Name: "receipt\n.png", MediaType: "image/png"}}
	location := player(normalize.KindLocation, "")
	location.Location = &normalize.Location{Latitude: 59.3, Longitude: 18.1}
	long := strings.Repeat("Ж", previewRunes+10)
	unsigned := agentMsg("u", "Hello", normalize.StateSent, "")
	unsigned.Author = normalize.Author{Role: normalize.RoleAgent, ExternalID: "bob"}

	tests := []struct {
		name string
		m    normalize.Message
		want preview // zero: not previewed
	}{
		{"first line", player(normalize.KindText, "Where is my withdrawal?\nIt was 500 €"),
			preview{Text: "Where is my withdrawal?", From: previewPlayer, At: at}},
		{"first line with words", player(normalize.KindText, "\n  \r\n  hello  \nagain"),
			preview{Text: "hello", From: previewPlayer, At: at}},
		{"controls and bidi overrides dropped", player(normalize.KindText, "pay\u202e321\u202c me\x07\x1b[31m"),
			preview{Text: "pay321 me[31m", From: previewPlayer, At: at}},
		{"cut in runes", player(normalize.KindText, long),
			preview{Text: strings.Repeat("Ж", previewRunes-1) + "…", From: previewPlayer, At: at}},
		{"HTML kept as text (the template escapes)", player(normalize.KindText, "<b>hi</b>"),
			preview{Text: "<b>hi</b>", From: previewPlayer, At: at}},
		{"edit shows the new words", player(normalize.KindEdit, "fixed typo"),
			preview{Text: "fixed typo", From: previewPlayer, At: at}},
		{"image without words", photo, preview{Text: "[image] receipt", From: previewPlayer, At: at}},
		{"location", location, preview{Text: "[location]", From: previewPlayer, At: at}},
		{"unsupported message the player sent", unsupported,
			preview{Text: "[message type not supported by the gateway]", From: previewPlayer, At: at}},
		{"agent reply", reply, preview{Text: "We are on it.", From: previewAgent, By: "Alice", At: at}},
		{"agent without a display name", unsigned, preview{Text: "Hello", From: previewAgent, By: "bob", At: at}},
		{"note", note, preview{Text: "VIP: be quick", From: previewNote, By: "Alice", At: at}},
		{"gateway notice", notice, preview{}},
		{"status change", status, preview{}},
		{"reaction", player(normalize.KindReaction, "👍"), preview{}},
		{"deletion", player(normalize.KindDeletion, ""), preview{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := previewOf(tt.m, at)
			require.Equal(t, tt.want != preview{}, ok)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestSearchQueryAndPattern(t *testing.T) {
	tests := []struct {
		raw, query, pattern string
	}{
		{"  Lena ", "Lena", "%lena%"},
		{"ОЛЬГА", "ОЛЬГА", "%ольга%"},
		{"100%", "100%", `%100\%%`},
		{"ann_lee", "ann_lee", `%ann\_lee%`},
		{`C:\temp`, `C:\temp`, `%c:\\temp%`},
		{"two\n\tlines", "two lines", "%two lines%"},
		{"\u202eevil", "evil", "%evil%"},
		{strings.Repeat("x", 300), strings.Repeat("x", maxQueryRunes), "%" + strings.Repeat("x", maxQueryRunes) + "%"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			q := searchQuery(tt.raw)
			require.Equal(t, tt.query, q)
			require.Equal(t, tt.pattern, likeContains(q))
		})
	}
}

// listed returns the conversation IDs a list page shows, in order.
func listed(page string) []string {
	out := []string{}
	for _, m := range regexp.MustCompile(`<tr class="conversation[^"]*" data-id="([^"]+)"`).FindAllStringSubmatch(page, -1) {
		out = append(out, m[1])
	}
	return out
}

// requireListed checks that the list asked with query shows want, in order, both as the page
// and as the live refresh, which asks with the page's own query.
func requireListed(t *testing.T, b *browser, query url.Values, want []string) {
	t.Helper()
	for _, partial := range []bool{false, true} {
		q := url.Values{}
		for k, v := range query {
			q[k] = v
		}
		if partial {
			q.Set("partial", "1")
		}
		page := b.get("/inbox/?" + q.Encode())
		require.Equal(t, http.StatusOK, page.status, page.body)
		require.Equal(t, want, listed(page.body), "partial=%v", partial)
		if len(want) == 0 {
			require.Contains(t, page.body, `class="empty"`)
		}
	}
}

// TestListSearchAndChannel: the list narrows to a channel and to conversations whose
// player's name or last message contains the search, literally and in any case: SQL
// wildcards and backslashes mean themselves, and HTML stays text.
func TestListSearchAndChannel(t *testing.T) {
	f := newFixture(t)
	seed := []struct {
		id, player, text string
		channel          normalize.InstanceName
		kind             normalize.ChannelKind
	}{
		{"c-lena", "Lena Müller", "Wo bleibt meine Auszahlung?", "tg-main", normalize.KindTelegram},
		{"c-olga", "Ольга", "Бонус не начислен\nуже два дня", "web", normalize.KindWebchat},
		{"c-tom", "Tom", "I want 100% of my bonus", "web", normalize.KindWebchat},
		{"c-ann", "Ann_Lee", "hello", "tg-main", normalize.KindTelegram},
		{"c-annx", "AnnxLee", "hi there", "tg-main", normalize.KindTelegram},
		{"c-bob", "Bob", `saved it to C:\temp`, "tg-main", normalize.KindTelegram},
		{"c-eve", "<i>Eve</i>", `<img src=x onerror=alert(1)> look`, "web", normalize.KindWebchat},
	}
	for n, s := range seed {
		c := f.conv(s.id, normalize.Author{Role: normalize.RolePlayer, DisplayName: s.player})
		c.Channel, c.ChannelKind = s.channel, s.kind
		f.post(c, playerMsg("m-"+s.id, s.text, t0.Add(time.Duration(n)*time.Minute)))
	}
	newestFirst := []string{"c-eve", "c-bob", "c-annx", "c-ann", "c-tom", "c-olga", "c-lena"}
	b := f.signedIn()

	tests := []struct {
		name  string
		query url.Values
		want  []string
	}{
		{"everything", nil, newestFirst},
		{"blank search", url.Values{"q": {"   "}}, newestFirst},
		{"name in another case", url.Values{"q": {"lena"}}, []string{"c-lena"}},
		{"name outside ASCII in another case", url.Values{"q": {"ОЛЬГА"}}, []string{"c-olga"}},
		{"umlaut in another case", url.Values{"q": {"MÜLLER"}}, []string{"c-lena"}},
		{"last message", url.Values{"q": {"auszahlung"}}, []string{"c-lena"}},
		{"last message outside ASCII", url.Values{"q": {"бонус"}}, []string{"c-olga"}},
		{"only the first line is kept", url.Values{"q": {"два дня"}}, []string{}},
		{"percent is literal", url.Values{"q": {"100%"}}, []string{"c-tom"}},
		{"a lone percent is literal", url.Values{"q": {"%"}}, []string{"c-tom"}},
		{"underscore is literal", url.Values{"q": {"ann_lee"}}, []string{"c-ann"}},
		{"a lone underscore is literal", url.Values{"q": {"_"}}, []string{"c-ann"}},
		{"backslash is literal", url.Values{"q": {`c:\temp`}}, []string{"c-bob"}},
		{"HTML is text", url.Values{"q": {"<img src"}}, []string{"c-eve"}},
		{"quote", url.Values{"q": {`' OR 1=1 --`}}, []string{}},
		{"channel", url.Values{"channel": {"web"}}, []string{"c-eve", "c-tom", "c-olga"}},
		{"channel and search", url.Values{"channel": {"web"}, "q": {"bonus"}}, []string{"c-tom"}},
		{"unknown channel", url.Values{"channel": {"nope"}}, []string{}},
		{"channel is exact", url.Values{"channel": {"%"}}, []string{}},
		{"search within the status", url.Values{"status": {"closed"}, "q": {"lena"}}, []string{}},
		{"search in all", url.Values{"status": {"all"}, "q": {"lena"}}, []string{"c-lena"}},
		{"too long", url.Values{"q": {strings.Repeat("a", 5000)}}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { requireListed(t, b, tt.query, tt.want) })
	}

	page := b.get("/inbox/?" + url.Values{"q": {"<img"}, "channel": {"web"}}.Encode())
	require.NotContains(t, page.body, "<img src=x", "the preview is escaped")
	require.NotContains(t, page.body, "<i>Eve</i>", "the player's name is escaped")
	require.Contains(t, rowOf(t, page.body, "c-eve"), "&lt;img src=x onerror=alert(1)&gt; look")
	require.Contains(t, page.body, `value="&lt;img"`, "the search box keeps the search, escaped")
	require.Contains(t, page.body, `<option value="web" selected>web (webchat)</option>`)
	require.Contains(t, page.body, `<option value="tg-main">tg-main (telegram)</option>`)
	for _, tab := range []string{"open", "closed", "all"} {
		require.Contains(t, page.body, `href="/inbox/?channel=web&amp;q=%3Cimg&amp;status=`+tab+`"`, "the tabs keep the search")
	}
	require.Contains(t, page.body, `id="find-clear" href="/inbox/?status=open"`)
	require.NotContains(t, b.get("/inbox/").body, `id="find-clear"`, "nothing to clear")
}

// TestListShowsNoConversationWithoutAMessage: conversations nobody wrote anything in (opened
// by a flood of new web chat visitors, or holding only the gateway's notices) are not listed,
// nor offered as a channel; the first message shows them.
func TestListShowsNoConversationWithoutAMessage(t *testing.T) {
	f := newFixture(t)
	b := f.signedIn()

	empty := f.conv("c-empty", lena)
	ref, ids := f.post(empty)
	require.NotEmpty(t, ref)
	require.Empty(t, ids)

	quiet := f.conv("c-quiet", lena)
	quiet.Channel = "web"
	notice := normalize.Message{ID: "u1", Direction: normalize.Inbound, Source: "web", ExternalID: "update-1",
		Conversation: quiet.ID, Channel: "web", ChannelKind: normalize.KindWebchat, Author: normalize.Author{Role: normalize.RoleSystem},
		Kind: normalize.KindSystem, Text: "Conversation updated: language de.", ReceivedAt: t0,
		Update: &normalize.Update{Changed: []normalize.Field{normalize.FieldLanguage}, Language: "de"}}
	reaction := playerMsg("r1", "👍", t0)
	reaction.Kind, reaction.Conversation = normalize.KindReaction, quiet.ID
	f.post(quiet, notice, reaction)

	for _, status := range []string{"open", "closed", "all"} {
		page := b.get("/inbox/?status=" + status)
		require.Equal(t, []string{}, listed(page.body), status)
		require.NotContains(t, page.body, `<option value="web"`, "no channel without a conversation to show")
	}

	f.clock.Add(time.Minute)
	f.post(quiet, playerMsg("m1", "Hallo?", t0.Add(time.Minute)))
	page := b.get("/inbox/?status=all")
	require.Equal(t, []string{"c-quiet"}, listed(page.body))
	require.Contains(t, rowOf(t, page.body, "c-quiet"), "Hallo?")
}

// storingSink stores what the inbox delivers in the fake gateway store, stamped with the
// fixture's clock, as the router's intake does: the thread, and so the preview, shows it.
type storingSink struct {
	f  *fixture
	mu sync.Mutex
	n  int
}

func (s *storingSink) Deliver(ctx context.Context, msgs ...normalize.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range msgs {
		s.n++
		m.ID = normalize.MessageID(fmt.Sprintf("out-%d", s.n))
		m.ReceivedAt = s.f.clock.Now()
		conv, err := s.f.convs.Conversation(ctx, m.Conversation)
		if err != nil {
			return err
		}
		s.f.convs.intake(conv, m)
	}
	return nil
}

// runWith runs the inbox with sink until the test ends.
func (f *fixture) runWith(sink connectors.Sink) {
	f.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.in.Run(ctx, sink) }()
	require.Eventually(f.t, func() bool { _, err := f.in.currentSink(); return err == nil }, 5*time.Second, time.Millisecond)
	f.t.Cleanup(func() {
		cancel()
		require.NoError(f.t, <-done)
	})
}

// TestPreviewFollowsTheConversation: the list shows the newest message anyone wrote, the
// agents' replies and notes too (they reach the store through the sink, not Post), and not
// status changes; a retried older message does not take the place of a newer one.
func TestPreviewFollowsTheConversation(t *testing.T) {
	f := newIdleFixture(t)
	f.runWith(&storingSink{f: f})
	first := playerMsg("m1", "Where is my withdrawal?", t0)
	c := f.conv("c1", lena, first)
	f.post(c, first)
	b := f.signedIn()
	preview := func() string {
		t.Helper()
		row := rowOf(t, b.get("/inbox/?status=all").body, "c1")
		m := regexp.MustCompile(`(?s)<td class="preview">(.*?)</td>`).FindStringSubmatch(row)
		require.NotNil(t, m, row)
		return regexp.MustCompile(`<bdi title="[^"]*">`).ReplaceAllString(m[1], "<bdi>")
	}
	send := func(action, text string) {
		t.Helper()
		f.clock.Add(time.Minute)
		resp := b.postForm("/inbox/conversations/c1/reply", url.Values{csrfField: {b.csrf}, "token": {b.replyToken("c1")},
			"text": {text}, "action": {action}})
		require.Equal(t, http.StatusSeeOther, resp.status, resp.body)
	}
	require.Equal(t, "<bdi>Where is my withdrawal?</bdi>", preview())

	send("reply", "We are checking it.\nOne moment please.")
	require.Equal(t, `<span class="from">Alice:</span> <bdi>We are checking it.</bdi>`, preview())
	require.Equal(t, []string{"c1"}, listed(b.get("/inbox/?q=checking").body), "replies are searchable")

	send("note", "KYC <ok>")
	require.Equal(t, `<span class="from">Note by Alice:</span> <bdi>KYC &lt;ok&gt;</bdi>`, preview())

	f.clock.Add(time.Minute)
	resp := b.postForm("/inbox/conversations/c1/close", url.Values{csrfField: {b.csrf}})
	require.Equal(t, http.StatusSeeOther, resp.status)
	require.Contains(t, preview(), "KYC", "a status change is no message")

	f.post(c, first) // the router retrying an old post
	require.Contains(t, preview(), "KYC", "an older message does not come back")

	f.clock.Add(time.Minute)
	next := playerMsg("m2", "Thanks!", f.clock.Now())
	f.convs.add(c, next)
	f.post(c, next)
	require.Equal(t, "<bdi>Thanks!</bdi>", preview())
	require.Equal(t, []string{}, listed(b.get("/inbox/?status=all&q=checking").body), "search finds the last message only")
}

// TestPreviewMigration: rows written before previews existed stay listed and searchable by
// name once the database is migrated.
func TestPreviewMigration(t *testing.T) {
	cfg := testConfig(t)
	db, err := openDBAt(t, cfg.Database, 1)
	require.NoError(t, err)
	_, err = db.ExecContext(t.Context(), `INSERT INTO tickets (conversation_id, channel, channel_kind, player_name, status,
		status_at, created_at, last_player_at, updated_at) VALUES ('c-old', 'tg-main', 'telegram', 'Otto Old', 'open', 1, 1, 2, 2)`)
	require.NoError(t, err)
	require.NoError(t, db.Close())

	f := newFixture(t, func(c *Config, _ *Deps) { c.Database = cfg.Database })
	b := f.signedIn()
	require.Equal(t, []string{"c-old"}, listed(b.get("/inbox/").body))
	require.Equal(t, []string{"c-old"}, listed(b.get("/inbox/?q=otto").body))
	tk, found, err := getTicket(t.Context(), f.in.db, "c-old")
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, time.UnixMilli(2).UTC(), tk.PreviewAt)
}

// openDBAt creates a database migrated up to version only, as an older gateway left it.
func openDBAt(t *testing.T, path string, version int) (*sql.DB, error) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		return nil, err
	}
	if _, err := db.ExecContext(t.Context(), `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return nil, err
	}
	names, err := fs.Glob(migrations, "migrations/sqlite/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	for _, name := range names[:version] {
		body, err := migrations.ReadFile(name)
		if err != nil {
			return nil, err
		}
		n, err := strconv.Atoi(strings.SplitN(filepath.Base(name), "_", 2)[0])
		if err != nil {
			return nil, err
		}
		if err := applyMigration(t.Context(), &database{DB: db, d: sqliteDialect}, n, string(body)); err != nil {
			return nil, err
		}
	}
	return db, nil
}
