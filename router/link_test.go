package router_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router"
)

// TestLinkingThroughTheRouter (issue 17): one player, known to the directory on one chat and
// proved by a channel's signed token on another, is linked by both; the directory's answer
// is marked as the directory's proof while a channel's own proof of the same ID stays; and
// the helpdesk gets each conversation with the other.
func TestLinkingThroughTheRouter(t *testing.T) {
	dir := stubDirectory{"known": {PlayerID: "P-1", Name: "Ana"}}
	f := newPolicyFixture(t, router.Options{Directory: dir}, router.Rules{Default: "desk"})
	require.NoError(t, f.r.Deliver(f.ctx, f.fromTelegram("known", "hello", "en")))
	proved := f.fromTelegram("proved", "hello again", "en")
	proved.Author.PlayerID, proved.Author.PlayerIDBy = "P-1", normalize.LinkedByTelegramLink
	require.NoError(t, f.r.Deliver(f.ctx, proved))
	anon := f.fromTelegram("anon", "who am I", "en")
	require.NoError(t, f.r.Deliver(f.ctx, anon))

	known, err := f.st.ConversationAt(f.ctx, "tg", "known")
	require.NoError(t, err)
	require.Equal(t, normalize.LinkedByDirectory, known.Player.PlayerIDBy)
	other, err := f.st.ConversationAt(f.ctx, "tg", "proved")
	require.NoError(t, err)
	require.Equal(t, normalize.LinkedByTelegramLink, other.Player.PlayerIDBy, "the channel's proof stays the proof")

	links, err := f.st.PlayerConversations(f.ctx, "P-1", 0)
	require.NoError(t, err)
	require.Len(t, links, 2, "the anonymous chat is nobody's")

	hd := f.hds["desk"]
	require.Eventually(t, func() bool {
		hd.mu.Lock()
		defer hd.mu.Unlock()
		c, ok := hd.convs[other.ID]
		return ok && len(c.Linked) == 1 && c.Linked[0].ID == known.ID && c.Linked[0].LinkedBy == normalize.LinkedByDirectory
	}, 10*time.Second, 20*time.Millisecond, "the later conversation reaches the helpdesk listing the earlier one")
}
