package inbox

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
)

func TestPostReturnsRefAndIDsAndIsIdempotent(t *testing.T) {
	f := newFixture(t)
	m1, m2 := playerMsg("m1", "hello", t0), playerMsg("m2", "anyone?", t0.Add(time.Minute))
	c := f.conv("c1", lena, m1, m2)

	ref, ids := f.post(c, m1, m2)
	require.Equal(t, normalize.Ref("IN-c1"), ref)
	require.Equal(t, []normalize.ExternalID{"inbox:m1", "inbox:m2"}, ids)
	first, found, err := getTicket(t.Context(), f.in.db, "c1")
	require.NoError(t, err)
	require.True(t, found)

	f.clock.Add(time.Hour) // a retry later must not move anything
	ref, ids = f.post(c, m1, m2)
	require.Equal(t, normalize.Ref("IN-c1"), ref)
	require.Equal(t, []normalize.ExternalID{"inbox:m1", "inbox:m2"}, ids)
	again, _, err := getTicket(t.Context(), f.in.db, "c1")
	require.NoError(t, err)
	require.Equal(t, first, again)

	require.Equal(t, "Lena", first.PlayerName)
	require.Equal(t, "de", first.Language)
	require.Equal(t, 3, first.VIPTier)
	require.Equal(t, "tg-main", first.Channel)
	require.Equal(t, "telegram", first.ChannelKind)
	require.Equal(t, normalize.StatusOpen, first.Status)
	require.Equal(t, t0, first.FirstUnansweredAt)
	require.Equal(t, t0.Add(time.Minute), first.LastPlayerAt)
	require.Equal(t, t0.Add(time.Minute), first.UpdatedAt)

	ref, ids, err = f.in.Post(t.Context(), c, nil)
	require.NoError(t, err)
	require.Equal(t, normalize.Ref("IN-c1"), ref)
	require.Empty(t, ids)
}

func TestPostAfterAnswerAndClose(t *testing.T) {
	f := newFixture(t)
	m1 := playerMsg("m1", "hello", t0)
	c := f.conv("c1", lena, m1)
	f.post(c, m1)

	// The agent answers; a retried Post of the answered message starts no clock.
	require.NoError(t, f.in.markReplied(t.Context(), "c1", t0.Add(2*time.Minute), false))
	f.post(c, m1)
	tk, _, err := getTicket(t.Context(), f.in.db, "c1")
	require.NoError(t, err)
	require.True(t, tk.FirstUnansweredAt.IsZero())

	// A reaction waits for nothing; a new message does.
	reaction := playerMsg("m2", "👍", t0.Add(3*time.Minute))
	reaction.Kind = normalize.KindReaction
	f.post(c, reaction)
	tk, _, _ = getTicket(t.Context(), f.in.db, "c1")
	require.True(t, tk.FirstUnansweredAt.IsZero())

	// Closed, then the player writes again: the ticket reopens and waits.
	require.NoError(t, f.in.setTicketStatus(t.Context(), "c1", normalize.StatusClosed, t0.Add(4*time.Minute)))
	f.post(c, m1)
	tk, _, _ = getTicket(t.Context(), f.in.db, "c1")
	require.Equal(t, normalize.StatusClosed, tk.Status, "a retry of an old message does not reopen")
	m3 := playerMsg("m3", "one more thing", t0.Add(5*time.Minute))
	f.post(c, m3)
	tk, _, _ = getTicket(t.Context(), f.in.db, "c1")
	require.Equal(t, normalize.StatusOpen, tk.Status)
	require.Equal(t, t0.Add(5*time.Minute), tk.FirstUnansweredAt)
}

func TestListShowsPostedConversations(t *testing.T) {
	f := newFixture(t)
	old := f.conv("c-old", normalize.Author{Role: normalize.RolePlayer, DisplayName: "Otto", Language: "en"})
	f.post(old, playerMsg("m0", "old question", t0.Add(-time.Hour)))
	require.NoError(t, f.in.markReplied(t.Context(), "c-old", t0.Add(-50*time.Minute), false))
	c := f.conv("c1", lena)
	f.post(c, playerMsg("m1", "<b>where is my withdrawal?</b>", t0))
	f.clock.Add(4*time.Minute + 30*time.Second)

	b := f.signedIn()
	page := b.get("/inbox/")
	require.Equal(t, http.StatusOK, page.status)
	require.Contains(t, page.body, `id="conversations"`)
	row := rowOf(t, page.body, "c1")
	for _, want := range []string{"Lena", "telegram", "tg-main", ">de<", "VIP 3", ">4m<", "due soon", "/inbox/conversations/c1"} {
		require.Contains(t, row, want)
	}
	require.Contains(t, rowOf(t, page.body, "c-old"), "answered")
	require.Less(t, strings.Index(page.body, `data-id="c1"`), strings.Index(page.body, `data-id="c-old"`), "newest activity first")
	require.Contains(t, row, "&lt;b&gt;where is my withdrawal?&lt;/b&gt;", "the last message, escaped")

	partial := b.get("/inbox/?partial=1")
	require.Equal(t, http.StatusOK, partial.status)
	require.Contains(t, partial.body, `data-id="c1"`)
	require.NotContains(t, partial.body, "<html")

	f.clock.Add(time.Minute)
	require.Contains(t, rowOf(t, b.get("/inbox/").body, "c1"), "breached")
}

func TestCloseAndReopen(t *testing.T) {
	f := newFixture(t)
	c := f.conv("c1", lena)
	f.post(c, playerMsg("m1", "hi", t0))
	b := f.signedIn()

	resp := b.postForm("/inbox/conversations/c1/close", url.Values{csrfField: {b.csrf}})
	require.Equal(t, http.StatusSeeOther, resp.status)
	require.Equal(t, "/inbox/conversations/c1", resp.header.Get("Location"))
	require.Equal(t, []statusCall{{"c1", normalize.StatusClosed}}, f.statusCalls())
	require.NotContains(t, b.get("/inbox/").body, `data-id="c1"`)
	require.NotContains(t, b.get("/inbox/?status=open").body, `data-id="c1"`)
	require.Contains(t, rowOf(t, b.get("/inbox/?status=closed").body, "c1"), "answered")
	require.Contains(t, b.get("/inbox/?status=all").body, `data-id="c1"`)
	thread := b.get("/inbox/conversations/c1")
	require.Contains(t, thread.body, `id="reopen"`)
	require.NotContains(t, thread.body, `id="close"`)

	resp = b.postForm("/inbox/conversations/c1/reopen", url.Values{csrfField: {b.csrf}})
	require.Equal(t, http.StatusSeeOther, resp.status)
	require.Equal(t, []statusCall{{"c1", normalize.StatusClosed}, {"c1", normalize.StatusOpen}}, f.statusCalls())
	require.Contains(t, b.get("/inbox/").body, `data-id="c1"`)
	require.NotContains(t, b.get("/inbox/?status=closed").body, `data-id="c1"`)
	require.Contains(t, b.get("/inbox/conversations/c1").body, `id="close"`)
}

func TestOtherHelpdesksConversationsAreHidden(t *testing.T) {
	f := newFixture(t)
	other := normalize.Conversation{ID: "c-zd", Channel: "tg-main", ChannelKind: normalize.KindTelegram, Helpdesk: "zendesk",
		Status: normalize.StatusOpen, Player: normalize.Author{DisplayName: "Zed"}}
	f.convs.add(other, playerMsg("mz", "zendesk only", t0))
	b := f.signedIn()
	for _, path := range []string{"/inbox/conversations/c-zd", "/inbox/conversations/nope"} {
		resp := b.get(path)
		require.Equal(t, http.StatusNotFound, resp.status)
		require.NotContains(t, resp.body, "zendesk only")
	}
	require.Equal(t, http.StatusNotFound, b.postForm("/inbox/conversations/c-zd/reply",
		url.Values{csrfField: {b.csrf}, "text": {"hi"}}).status)
	require.Equal(t, http.StatusNotFound, b.postForm("/inbox/conversations/c-zd/close", url.Values{csrfField: {b.csrf}}).status)
	require.Empty(t, f.sink.delivered())
	require.Empty(t, f.statusCalls())
}

// rowOf returns the list row of conversation id.
func rowOf(t *testing.T, page, id string) string {
	t.Helper()
	start := strings.Index(page, `data-id="`+id+`"`)
	require.GreaterOrEqual(t, start, 0, "no row %s in:\n%s", id, page)
	end := strings.Index(page[start:], "</tr>")
	require.Greater(t, end, 0)
	return page[start : start+end]
}
