package inbox

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
)

// others returns the data-id of each of the player's other conversations the thread page lists.
func others(page string) []string {
	out := []string{}
	for _, m := range regexp.MustCompile(`<li class="other[^"]*" data-id="([^"]+)"`).FindAllStringSubmatch(page, -1) {
		out = append(out, m[1])
	}
	return out
}

// otherOf returns the list item of conversation id on a thread page.
func otherOf(t *testing.T, page, id string) string {
	t.Helper()
	start := strings.Index(page, `<li class="other`)
	require.GreaterOrEqual(t, start, 0, "no other conversations in:\n%s", page)
	start += strings.Index(page[start:], `data-id="`+id+`"`)
	end := strings.Index(page[start:], "</li>")
	require.Greater(t, end, 0)
	return page[start : start+end]
}

// seedPlayers posts, for player P-1, a web chat and a Telegram conversation to the inbox and
// puts one on another helpdesk in the store; P-2 and an anonymous player have one each.
func seedPlayers(f *fixture) {
	p1 := normalize.Author{Role: normalize.RolePlayer, DisplayName: "Lena", PlayerID: "P-1", PlayerIDBy: normalize.LinkedByWebchatToken}
	web := f.conv("c-web", p1)
	web.Channel, web.ChannelKind = "chat", normalize.KindWebchat
	f.post(web, playerMsg("m-web", "my withdrawal?", t0))

	p1.PlayerIDBy = normalize.LinkedByTelegramLink
	f.post(f.conv("c-tg", p1), playerMsg("m-tg", "same question", t0.Add(time.Minute)))

	f.convs.add(normalize.Conversation{ID: "c-zd", Channel: "mail", ChannelKind: normalize.KindEmail, Helpdesk: "zendesk",
		Ticket: "ZD-9", Status: normalize.StatusClosed, Player: p1, CreatedAt: t0})

	bob := normalize.Author{Role: normalize.RolePlayer, DisplayName: "Bob", PlayerID: "P-2", PlayerIDBy: normalize.LinkedByDirectory}
	f.post(f.conv("c-bob", bob), playerMsg("m-bob", "hi", t0.Add(2*time.Minute)))
	f.post(f.conv("c-anon", normalize.Author{Role: normalize.RolePlayer, DisplayName: "Anon"}),
		playerMsg("m-anon", "hello", t0.Add(3*time.Minute)))
}

// TestThreadListsThePlayersOtherConversations: a linked player's thread shows their ID, which
// lists all their conversations, and their other conversations: this inbox's with a link, its
// channel, last activity and status, another helpdesk's with where it is and no link.
func TestThreadListsThePlayersOtherConversations(t *testing.T) {
	f := newFixture(t)
	seedPlayers(f)
	b := f.signedIn()

	page := b.get("/inbox/conversations/c-web").body
	require.Contains(t, page, `id="player-id" class="player-id" href="/inbox/?player=P-1&amp;status=all" title="All conversations of this player (identified by webchat_token)">P-1</a>`)
	require.Equal(t, []string{"c-tg", "c-zd"}, others(page), "this inbox's first, then the other helpdesk's; never itself")
	tg := otherOf(t, page, "c-tg")
	require.Contains(t, tg, `<a href="/inbox/conversations/c-tg"><span class="kind">telegram</span> tg-main</a>`)
	require.Contains(t, tg, `<time datetime="`+isoTime(t0.Add(time.Minute))+`">`)
	require.Contains(t, tg, `<span class="status">open</span>`)
	zd := otherOf(t, page, "c-zd")
	require.NotContains(t, zd, "<a ", "agents of this inbox cannot open another helpdesk's conversation")
	require.Contains(t, zd, `<span class="kind">email</span> mail <span class="elsewhere">on zendesk ZD-9</span>`)
	require.Contains(t, zd, `<span class="status">closed</span>`)

	f.clock.Add(time.Minute)
	require.NoError(t, f.in.setTicketStatus(t.Context(), "c-tg", normalize.StatusClosed, f.clock.Now()))
	partial := b.get("/inbox/conversations/c-web?partial=1").body
	require.Contains(t, otherOf(t, partial, "c-tg"), `<span class="status">closed</span>`, "the live refresh follows")

	page = b.get("/inbox/conversations/c-tg").body
	require.Equal(t, []string{"c-web", "c-zd"}, others(page))
	require.Contains(t, page, `title="All conversations of this player (identified by telegram_link)">P-1</a>`)

	for _, id := range []string{"c-bob"} {
		page := b.get("/inbox/conversations/" + id).body
		require.Contains(t, page, `>P-2</a>`)
		require.Equal(t, []string{}, others(page), "a player with one conversation has no others")
	}
	page = b.get("/inbox/conversations/c-anon").body
	require.NotContains(t, page, `player-id`, "an anonymous player has no ID")
	require.Equal(t, []string{}, others(page))
}

// TestListFiltersByPlayer: ?player= narrows the list to one player's conversations by the
// exact ID, which each row shows as a link to that list.
func TestListFiltersByPlayer(t *testing.T) {
	f := newFixture(t)
	seedPlayers(f)
	b := f.signedIn()

	require.Contains(t, rowOf(t, b.get("/inbox/").body, "c-web"),
		`<a class="player-id" href="/inbox/?player=P-1&amp;status=all" title="All conversations of this player">P-1</a>`)
	require.NotContains(t, rowOf(t, b.get("/inbox/").body, "c-anon"), "player-id")

	tests := []struct {
		name  string
		query url.Values
		want  []string
	}{
		{"player", url.Values{"player": {"P-1"}}, []string{"c-tg", "c-web"}},
		{"another player", url.Values{"player": {"P-2"}}, []string{"c-bob"}},
		{"spaces around a pasted ID", url.Values{"player": {"  P-1\t"}}, []string{"c-tg", "c-web"}},
		{"exact, not in another case", url.Values{"player": {"p-1"}}, []string{}},
		{"exact, not a part", url.Values{"player": {"P-"}}, []string{}},
		{"wildcards mean themselves", url.Values{"player": {"%"}}, []string{}},
		{"unknown", url.Values{"player": {"P-404"}}, []string{}},
		{"too long", url.Values{"player": {"P-1" + strings.Repeat("x", 5000)}}, []string{}},
		{"player and channel", url.Values{"player": {"P-1"}, "channel": {"chat"}}, []string{"c-web"}},
		{"player and search", url.Values{"player": {"P-1"}, "q": {"same"}}, []string{"c-tg"}},
		{"player within the status", url.Values{"player": {"P-1"}, "status": {"closed"}}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { requireListed(t, b, tt.query, tt.want) })
	}

	page := b.get("/inbox/?player=P-1").body
	require.Contains(t, page, `<input id="player" name="player" type="search" value="P-1"`)
	require.Contains(t, page, `id="find-clear" href="/inbox/?status=open"`, "clearing drops the player")
	require.Contains(t, page, `href="/inbox/?player=P-1&amp;status=closed"`, "the status tabs keep the player")
	require.Contains(t, b.get("/inbox/?player=P-404").body, "No conversations match.")
}

// TestPlayerIDArrivesLater: a conversation anonymous when posted gets its player's ID with
// the post that brings it (a deep link opened later), and keeps it; a row posted before the
// inbox kept IDs shows the store's until its next post.
func TestPlayerIDArrivesLater(t *testing.T) {
	f := newFixture(t)
	anon := normalize.Author{Role: normalize.RolePlayer, DisplayName: "Lena"}
	c := f.conv("c1", anon)
	f.post(c, playerMsg("m1", "hi", t0))
	b := f.signedIn()
	require.Equal(t, []string{}, listed(b.get("/inbox/?player=P-1").body))

	// The store learnt the player before the inbox's row did: the thread shows the store's.
	c.Player.PlayerID, c.Player.PlayerIDBy = "P-1", normalize.LinkedByTelegramLink
	f.convs.add(c)
	require.Contains(t, b.get("/inbox/conversations/c1").body, `>P-1</a>`)

	// The ID comes with the author of a message even when the conversation lacks it yet.
	m2 := playerMsg("m2", "/start", t0.Add(time.Minute))
	m2.Author.PlayerID, m2.Author.PlayerIDBy = "P-1", normalize.LinkedByTelegramLink
	f.post(f.conv("c1", anon), m2)
	require.Equal(t, []string{"c1"}, listed(b.get("/inbox/?player=P-1").body))

	f.post(f.conv("c1", anon), playerMsg("m3", "still me", t0.Add(2*time.Minute)))
	tk, found, err := getTicket(t.Context(), f.in.db, "c1")
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, "P-1", tk.PlayerID, "a post without the ID does not unlink")
	require.Equal(t, normalize.LinkedByTelegramLink, tk.LinkedBy)
}

// TestPlayerIDIsText: a player ID is shown and linked as text, whatever it holds.
func TestPlayerIDIsText(t *testing.T) {
	f := newFixture(t)
	p := normalize.Author{Role: normalize.RolePlayer, DisplayName: "Eve", PlayerID: `<b>P&1</b>`}
	f.post(f.conv("c1", p), playerMsg("m1", "hi", t0))
	b := f.signedIn()
	page := b.get("/inbox/conversations/c1").body
	require.Contains(t, page, `href="/inbox/?player=%3Cb%3EP%261%3C%2Fb%3E&amp;status=all"`)
	require.Contains(t, page, `>&lt;b&gt;P&amp;1&lt;/b&gt;</a>`)
	require.Equal(t, []string{"c1"}, listed(b.get("/inbox/?"+url.Values{"player": {`<b>P&1</b>`}}.Encode()).body))
}

// TestPlayerMigration: a row from before the inbox kept player IDs stays listed, without one,
// and gets its player's with its next post.
func TestPlayerMigration(t *testing.T) {
	cfg := testConfig(t)
	db, err := openDBAt(t, cfg.Database, 3)
	require.NoError(t, err)
	_, err = db.ExecContext(t.Context(), `INSERT INTO tickets (conversation_id, channel, channel_kind, player_name, status,
		status_at, created_at, last_player_at, updated_at, preview, preview_from, preview_at)
		VALUES ('c1', 'tg-main', 'telegram', 'Lena', 'open', 1, 1, 2, 2, 'hi', 'player', 2)`)
	require.NoError(t, err)
	require.NoError(t, db.Close())

	f := newFixture(t, func(c *Config, _ *Deps) { c.Database = cfg.Database })
	b := f.signedIn()
	require.Equal(t, []string{"c1"}, listed(b.get("/inbox/").body))
	require.Equal(t, []string{}, listed(b.get("/inbox/?player=P-1").body))

	p := normalize.Author{Role: normalize.RolePlayer, DisplayName: "Lena", PlayerID: "P-1", PlayerIDBy: normalize.LinkedByDirectory}
	f.post(f.conv("c1", p), playerMsg("m2", "again", t0))
	require.Equal(t, []string{"c1"}, listed(b.get("/inbox/?player=P-1").body))
}
