package inbox

import (
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/require"

	chromium "github.com/casino-support/gateway/test/browser"
)

// TestBrowserPlayerConversations: in real headless Chromium, an agent on a linked player's
// thread goes to the player's other conversation by its link, from there to the list of all
// the player's conversations by the ID (a click the list's whole-row links do not take over),
// and narrows the list to another player by typing an ID.
func TestBrowserPlayerConversations(t *testing.T) {
	exe := chromium.Chromium(t)
	f := newFixture(t)
	seedPlayers(f)
	_, run := headless(t, exe, 1000, 900)
	rows := func() []string {
		t.Helper()
		var ids []string
		run("read the list", chromedp.Evaluate(
			`Array.from(document.querySelectorAll('tr.conversation')).map(r => r.dataset.id)`, &ids))
		return ids
	}

	run("sign in on the way to the thread",
		chromedp.Navigate(f.srv.URL+"/inbox/conversations/c-web"),
		chromedp.WaitVisible("#username", chromedp.ByID),
		chromedp.SendKeys("#username", "alice", chromedp.ByID),
		chromedp.SendKeys("#password", testPassword, chromedp.ByID),
		chromedp.Click("#signin", chromedp.ByID),
		chromedp.WaitVisible("#player-id", chromedp.ByID))
	run("open the player's other conversation",
		chromedp.Click(`#others li[data-id="c-tg"] a`, chromedp.ByQuery),
		chromedp.WaitVisible(`#others li[data-id="c-web"]`, chromedp.ByQuery))
	var loc string
	run("where", chromedp.Location(&loc))
	require.Equal(t, f.srv.URL+"/inbox/conversations/c-tg", loc)

	run("all the player's conversations",
		chromedp.Click("#player-id", chromedp.ByID),
		chromedp.WaitVisible(`tr.conversation[data-id="c-tg"]`, chromedp.ByQuery))
	require.Equal(t, []string{"c-tg", "c-web"}, rows())

	run("the ID in a row lists that player, not the row's thread",
		chromedp.Navigate(f.srv.URL+"/inbox/"),
		chromedp.WaitVisible(`tr.conversation[data-id="c-bob"]`, chromedp.ByQuery),
		chromedp.Click(`tr.conversation[data-id="c-bob"] a.player-id`, chromedp.ByQuery),
		chromedp.WaitNotPresent(`tr.conversation[data-id="c-anon"]`, chromedp.ByQuery))
	require.Equal(t, []string{"c-bob"}, rows())

	// Enter goes as a key event of its own: typed with the ID, it submitted the form while
	// SendKeys still held the field, and the page it left had no such node any more (seen once).
	run("type a player ID",
		chromedp.Clear("#player", chromedp.ByID),
		chromedp.SendKeys("#player", "P-1", chromedp.ByID),
		chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(`tr.conversation[data-id="c-web"]`, chromedp.ByQuery))
	require.Equal(t, []string{"c-tg", "c-web"}, rows())
}
