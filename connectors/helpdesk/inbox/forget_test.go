package inbox

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
)

// seedForget posts two conversations on two channels: Lena's on tg-main, whose last line names
// her card, and Omar's on web.
func seedForget(f *fixture) {
	lenaConv := f.conv("c-lena", lena)
	f.post(lenaConv, playerMsg("m-lena", "My card ending 4242 was charged twice", t0))
	omar := f.conv("c-omar", normalize.Author{Role: normalize.RolePlayer, DisplayName: "Omar"})
	omar.Channel, omar.ChannelKind = "web", normalize.KindWebchat
	f.post(omar, playerMsg("m-omar", "hello", t0.Add(time.Minute)))
}

// TestForgetIsIdempotent: Forget deletes the rows it names and nothing else; a conversation
// forgotten already, or never posted, is no error, since the router hands a batch over again
// after an error it could not tell from a lost answer.
func TestForgetIsIdempotent(t *testing.T) {
	many := make([]normalize.ConversationID, 0, 2*forgetChunk+1)
	for n := range 2 * forgetChunk {
		many = append(many, normalize.ConversationID(fmt.Sprintf("gone-%d", n)))
	}
	many = append(many, "c-omar")
	tests := []struct {
		name   string
		calls  [][]normalize.ConversationID
		listed []string
	}{
		{"one of two", [][]normalize.ConversationID{{"c-lena"}}, []string{"c-omar"}},
		{"both at once", [][]normalize.ConversationID{{"c-lena", "c-omar"}}, []string{}},
		{"twice", [][]normalize.ConversationID{{"c-lena"}, {"c-lena"}}, []string{"c-omar"}},
		{"named twice in one call", [][]normalize.ConversationID{{"c-lena", "c-lena"}}, []string{"c-omar"}},
		{"never posted", [][]normalize.ConversationID{{"c-nobody"}}, []string{"c-omar", "c-lena"}},
		{"nothing", [][]normalize.ConversationID{nil, {}}, []string{"c-omar", "c-lena"}},
		{"more than one statement names", [][]normalize.ConversationID{many}, []string{"c-lena"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			seedForget(f)
			for n, convs := range tt.calls {
				require.NoError(t, f.in.Forget(t.Context(), convs), "Forget() call %d", n)
			}
			page := f.signedIn().get("/inbox/?status=all")
			require.Equal(t, http.StatusOK, page.status, page.body)
			require.Equal(t, tt.listed, listed(page.body))
		})
	}
}

// TestForgetLeavesNothingOfThePlayer: after Forget the inbox shows nothing of the conversation
// anywhere (the list, its search by name and by last line, the channel filter), tells open
// pages to refetch, and keeps it forgotten across a restart.
func TestForgetLeavesNothingOfThePlayer(t *testing.T) {
	f := newFixture(t)
	seedForget(f)
	b := f.signedIn()
	require.Contains(t, b.get("/inbox/?status=all").body, "tg-main (telegram)")
	events, ok := f.in.events.subscribe()
	require.True(t, ok)
	defer f.in.events.unsubscribe(events)

	require.NoError(t, f.in.Forget(t.Context(), []normalize.ConversationID{"c-lena"}))
	select {
	case conv := <-events:
		require.Equal(t, normalize.ConversationID("c-lena"), conv, "open lists are told to refetch")
	case <-time.After(5 * time.Second):
		t.Fatal("Forget() told no open page")
	}
	for _, q := range []url.Values{
		{"status": {"all"}, "q": {"lena"}},
		{"status": {"all"}, "q": {"4242"}},
		{"status": {"all"}, "channel": {"tg-main"}},
	} {
		page := b.get("/inbox/?" + q.Encode())
		require.Equal(t, http.StatusOK, page.status, page.body)
		require.Empty(t, listed(page.body), "query %s", q.Encode())
	}
	page := b.get("/inbox/?status=all")
	require.Equal(t, []string{"c-omar"}, listed(page.body))
	require.NotContains(t, page.body, "Lena")
	require.NotContains(t, page.body, "4242")
	require.NotContains(t, page.body, "tg-main (telegram)", "no channel is offered for the forgotten row")

	again, err := New(t.Context(), testName, f.cfg, Deps{Conversations: f.convs, Out: io.Discard})
	require.NoError(t, err)
	defer again.Close()
	var rows int
	require.NoError(t, again.db.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM tickets WHERE conversation_id = 'c-lena'`).Scan(&rows))
	require.Zero(t, rows, "forgotten for good")
	_, found, err := getTicket(t.Context(), again.db, "c-omar")
	require.NoError(t, err)
	require.True(t, found, "the other conversation stays")
}
