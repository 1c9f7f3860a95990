package e2e

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/test/browser"
	"github.com/casino-support/gateway/test/loopback"
)

// phoneWidth and phoneHeight are a common phone's screen in CSS pixels (iPhone 12 to 15).
const phoneWidth, phoneHeight = 390, 844

// TestBrowserInboxOnAPhone: an agent on a 390 px wide phone sees the list without scrolling
// sideways, with the player, channel, waiting time, SLA and last message of every row; finds
// conversations by name and text (SQL wildcards meaning themselves) and by channel; watches
// a preview change live; and reads a long thread whose messages keep most of the screen,
// with a reply box that is small until used and then sends.
func TestBrowserInboxOnAPhone(t *testing.T) {
	exe := browser.Chromium(t)
	ctx := t.Context()
	e := &env{channel: loopback.NewFakeChannelRemote("")}
	remote := httptest.NewServer(e.channel)
	t.Cleanup(remote.Close)
	e.configure(t, fmt.Sprintf(`channels:
  - {name: web, type: webchat}
  - {name: chat, type: loopback, send_url: %s/send}
helpdesks:
  - {name: inbox, type: inbox}
default_helpdesk: inbox
`, remote.URL))
	e.start()
	password := field(t, adminPassword, e.logs.String())

	long := make([]loopback.PlayerMessage, 14)
	for n := range long {
		long[n] = loopback.PlayerMessage{ID: fmt.Sprintf("lena-%d", n), Address: "lena", Name: "Lena Müller", Language: "de", VIP: 3,
			Text: fmt.Sprintf("Nachricht %d: meine Auszahlung von 500 € ist seit Montag offen, die Bank sagt, es liegt nicht an ihr.", n+1)}
	}
	require.NoError(t, e.sendAs(ctx, long...))
	require.NoError(t, e.sendAs(ctx,
		loopback.PlayerMessage{ID: "ek-1", Address: "ek", Name: "Ekaterina Vasilyeva-Montgomery", Language: "ru", VIP: 5,
			Text: "Здравствуйте! Мой вывод средств завис уже три дня, что происходит с моим аккаунтом?\nВторая строка"},
		loopback.PlayerMessage{ID: "tom-1", Address: "tom", Name: "Tom", Language: "en",
			Text: "<b>Bonus</b> not credited: I want 100% of it"},
		loopback.PlayerMessage{ID: "ann-1", Address: "ann", Name: "Ann_Lee", Language: "en", Text: "hello?"},
		loopback.PlayerMessage{ID: "annx-1", Address: "annx", Name: "AnnxLee", Language: "en", Text: "hi"},
	))
	visitor := openChat(ctx, t, e.base)
	visitor.say(ctx, t, "v-1", "Is the live casino down?")

	phone := browser.Headless(t, exe)
	run(t, phone, "the agent signs in on a phone",
		chromedp.EmulateViewport(phoneWidth, phoneHeight, chromedp.EmulateScale(2), chromedp.EmulatePortrait, chromedp.EmulateMobile),
		chromedp.Navigate(e.base+"/inbox"),
		chromedp.WaitVisible("#username", chromedp.ByID),
		chromedp.SendKeys("#username", "admin", chromedp.ByID),
		chromedp.SendKeys("#password", password, chromedp.ByID),
		chromedp.Click("#signin", chromedp.ByID),
		chromedp.WaitVisible("#conversations", chromedp.ByID))
	waitRows(t, phone, 6)
	l := measureList(t, phone)
	require.LessOrEqual(t, l.ScrollWidth, l.ClientWidth, "the list scrolls sideways")
	require.Equal(t, phoneWidth, l.ClientWidth, "the page is laid out for the phone's width")
	require.Len(t, l.Rows, 6)
	for _, r := range l.Rows {
		for cell, shown := range map[string]bool{"player": r.Player, "channel": r.Channel, "waiting": r.Waiting, "SLA": r.SLA, "last message": r.Preview} {
			require.True(t, shown, "%s of %s is not on the screen", cell, r.Name)
		}
		require.Less(t, r.Height, 110.0, "a row of %s takes too much of the screen", r.Name)
	}
	require.Equal(t, "Здравствуйте! Мой вывод средств завис уже три дня, что происходит с моим аккаунтом?", l.preview("Ekaterina Vasilyeva-Montgomery"))
	require.Equal(t, "<b>Bonus</b> not credited: I want 100% of it", l.preview("Tom"), "HTML is shown as text")
	artifact(t, phone, "inbox-phone-list")

	run(t, phone, "the agent searches for a name with an underscore",
		chromedp.SendKeys("#q", "ann_lee", chromedp.ByID),
		chromedp.Click("#find-go", chromedp.ByID),
		chromedp.WaitVisible("#find-clear", chromedp.ByID))
	require.Equal(t, []string{"Ann_Lee"}, waitRows(t, phone, 1), "_ is no wildcard")
	run(t, phone, "and for a percent sign", clearSearch,
		chromedp.SendKeys("#q", "100%", chromedp.ByID), chromedp.Click("#find-go", chromedp.ByID),
		chromedp.WaitVisible(`//tr[contains(@class,"conversation")]//a[text()="Tom"]`, chromedp.BySearch))
	require.Equal(t, []string{"Tom"}, waitRows(t, phone, 1), "%% is no wildcard")
	run(t, phone, "and for words of a last message", clearSearch,
		chromedp.SendKeys("#q", "ВЫВОД", chromedp.ByID), chromedp.Click("#find-go", chromedp.ByID),
		chromedp.WaitVisible(`//tr[contains(@class,"conversation")]//a[starts-with(text(),"Ekaterina")]`, chromedp.BySearch))
	require.Equal(t, []string{"Ekaterina Vasilyeva-Montgomery"}, waitRows(t, phone, 1))
	artifact(t, phone, "inbox-phone-search")

	run(t, phone, "the agent clears the search and picks the web chat",
		chromedp.Click("#find-clear", chromedp.ByID),
		chromedp.WaitNotPresent("#find-clear", chromedp.ByID),
		pickChannel("web"),
		chromedp.WaitVisible("#find-clear", chromedp.ByID))
	rows := waitRows(t, phone, 1)
	require.True(t, strings.HasPrefix(rows[0], "Web visitor "), rows)

	run(t, phone, "the agent looks at the loopback chat",
		pickChannel("chat"),
		chromedp.WaitVisible(`//tr[contains(@class,"conversation")]//a[text()="Tom"]`, chromedp.BySearch))
	waitRows(t, phone, 5)
	require.NoError(t, e.sendAs(ctx, loopback.PlayerMessage{ID: "tom-2", Address: "tom", Name: "Tom", Language: "en", Text: "Found it, thanks!"}))
	run(t, phone, "a new message shows in the filtered list without a reload",
		chromedp.WaitVisible(`//tr[contains(@class,"conversation")]//td[contains(@class,"preview")]//*[text()="Found it, thanks!"]`, chromedp.BySearch))

	run(t, phone, "the agent opens Lena's long conversation",
		chromedp.Click(`//tr[contains(@class,"conversation")]//a[text()="Lena Müller"]`, chromedp.BySearch),
		chromedp.WaitVisible(`//*[@id="thread"]//*[contains(text(),"Nachricht 14:")]`, chromedp.BySearch),
		chromedp.Sleep(300*time.Millisecond)) // the page scrolls to the newest message once loaded
	th := measureThread(t, phone)
	require.LessOrEqual(t, th.ScrollWidth, th.ClientWidth, "the thread scrolls sideways")
	require.GreaterOrEqual(t, th.ThreadShare, 0.6, "the messages get too little of the screen: %+v", th)
	require.LessOrEqual(t, th.ReplyShare, 0.2, "the idle reply box takes too much of the screen: %+v", th)
	require.True(t, th.ControlsShown, "the reply box's controls are off the screen: %+v", th)
	require.True(t, th.LastMessageShown, "the newest message is not on the screen: %+v", th)
	t.Logf("idle thread on a phone: %+v", th)
	viewportArtifact(t, phone, "inbox-phone-thread")

	run(t, phone, "the agent taps the reply box", chromedp.Click("#reply-text", chromedp.ByID), chromedp.Sleep(300*time.Millisecond))
	opened := measureThread(t, phone)
	require.Greater(t, opened.TextHeight, th.TextHeight+40, "the reply box does not grow when used")
	require.True(t, opened.ControlsShown, "the controls are off the screen while writing: %+v", opened)
	run(t, phone, "and back on the conversation, having written nothing",
		chromedp.Click(`//*[@id="thread"]//*[contains(text(),"Nachricht 12:")]`, chromedp.BySearch), chromedp.Sleep(300*time.Millisecond))
	require.Equal(t, th.TextHeight, measureThread(t, phone).TextHeight, "an unused reply box does not stay open")

	run(t, phone, "the agent writes", chromedp.Click("#reply-text", chromedp.ByID),
		chromedp.SendKeys("#reply-text", "Hallo Lena, wir prüfen das sofort.", chromedp.ByID),
		chromedp.Click(`//*[@id="thread"]//*[contains(text(),"Nachricht 12:")]`, chromedp.BySearch), chromedp.Sleep(300*time.Millisecond))
	writing := measureThread(t, phone)
	require.Greater(t, writing.TextHeight, th.TextHeight+40, "a reply box with words in it stays open")
	require.True(t, writing.ControlsShown, "the controls are off the screen while writing: %+v", writing)
	require.LessOrEqual(t, writing.ScrollWidth, writing.ClientWidth)
	t.Logf("writing on a phone: %+v", writing)
	viewportArtifact(t, phone, "inbox-phone-thread-writing")
	run(t, phone, "and sends",
		chromedp.Click("#reply-send", chromedp.ByID),
		chromedp.WaitVisible(`//*[@id="thread"]//*[contains(@class,"agent")]//*[contains(text(),"wir prüfen das sofort")]`, chromedp.BySearch),
		chromedp.Sleep(300*time.Millisecond))
	sent := measureThread(t, phone)
	require.LessOrEqual(t, sent.ReplyShare, 0.2, "the reply box is small again after sending: %+v", sent)

	// The same list on a desktop screen, for the documentation next to the phone's.
	desk := browser.Headless(t, exe, chromedp.WindowSize(1100, 800))
	run(t, desk, "the agent signs in on a desktop",
		chromedp.Navigate(e.base+"/inbox"),
		chromedp.WaitVisible("#username", chromedp.ByID),
		chromedp.SendKeys("#username", "admin", chromedp.ByID),
		chromedp.SendKeys("#password", password, chromedp.ByID),
		chromedp.Click("#signin", chromedp.ByID),
		chromedp.WaitVisible("#conversations", chromedp.ByID))
	waitRows(t, desk, 6)
	d := measureList(t, desk)
	require.LessOrEqual(t, d.ScrollWidth, d.ClientWidth)
	artifact(t, desk, "inbox-desktop-list")
}

// clearSearch empties the search box, as an agent selecting its text and deleting it.
var clearSearch = chromedp.Evaluate(`document.getElementById('q').value = ''`, nil)

// pickChannel chooses a channel in the list's channel box, as an agent does; the page's
// script, which must have run, narrows the list at once.
func pickChannel(name string) chromedp.Action {
	return chromedp.Tasks{
		chromedp.Poll(`document.readyState === 'complete'`, nil),
		chromedp.Evaluate(fmt.Sprintf(`(() => { const s = document.getElementById('channel'); s.value = %q; s.dispatchEvent(new Event('change')); })()`, name), nil),
	}
}

// waitRows waits until the list shows n conversations and returns their players' names.
func waitRows(t *testing.T, ctx context.Context, n int) []string {
	t.Helper()
	var names []string
	require.Eventually(t, func() bool {
		names = nil
		if err := chromedp.Run(ctx, chromedp.Evaluate(
			`[...document.querySelectorAll('tr.conversation td.player a')].map(a => a.textContent)`, &names)); err != nil {
			return false
		}
		return len(names) == n
	}, 30*time.Second, 50*time.Millisecond, "want %d conversations listed, have %q", n, names)
	return names
}

// listLayout is what the list's layout looks like in the browser.
type listLayout struct {
	ScrollWidth, ClientWidth int
	Rows                     []struct {
		Name                                   string
		PreviewText                            string
		Player, Channel, Waiting, SLA, Preview bool // on the screen, not clipped by its width
		Height                                 float64
	}
}

func (l listLayout) preview(name string) string {
	for _, r := range l.Rows {
		if r.Name == name {
			return r.PreviewText
		}
	}
	return ""
}

// onScreen is a script function: whether an element is rendered and lies within the screen's
// width, so an agent sees it without scrolling sideways.
const onScreen = `const onScreen = (el) => {
	if (!el || !el.checkVisibility({visibilityProperty: true, opacityProperty: true})) return false;
	const r = el.getBoundingClientRect();
	return r.width > 0 && r.height > 0 && r.left >= 0 && r.right <= window.innerWidth + 0.5;
};`

func measureList(t *testing.T, ctx context.Context) listLayout {
	t.Helper()
	var l listLayout
	run(t, ctx, "measure the list", chromedp.Evaluate(`(() => {
		`+onScreen+`
		const se = document.scrollingElement;
		return {
			ScrollWidth: se.scrollWidth, ClientWidth: se.clientWidth,
			Rows: [...document.querySelectorAll('tr.conversation')].map(tr => ({
				Name: tr.querySelector('td.player a').textContent,
				PreviewText: tr.querySelector('td.preview bdi').textContent,
				Player: onScreen(tr.querySelector('td.player a')),
				Channel: onScreen(tr.querySelector('td.channel')),
				Waiting: onScreen(tr.querySelector('td.waiting')),
				SLA: onScreen(tr.querySelector('td.sla .badge')),
				Preview: onScreen(tr.querySelector('td.preview')),
				Height: tr.getBoundingClientRect().height,
			})),
		};
	})()`, &l))
	return l
}

// threadLayout is how a thread page shares the screen.
type threadLayout struct {
	ScrollWidth, ClientWidth int
	// ThreadShare is the share of the screen's height showing messages (above the reply
	// box), ReplyShare the reply box's.
	ThreadShare, ReplyShare float64
	TextHeight              float64
	ControlsShown           bool // send, note and attach are on the screen
	LastMessageShown        bool
}

func measureThread(t *testing.T, ctx context.Context) threadLayout {
	t.Helper()
	var l threadLayout
	run(t, ctx, "measure the thread", chromedp.Evaluate(`(() => {
		`+onScreen+`
		const se = document.scrollingElement, vh = window.innerHeight;
		const within = (el) => { const r = el.getBoundingClientRect(); return onScreen(el) && r.top >= 0 && r.bottom <= vh + 0.5; };
		const thread = document.getElementById('thread').getBoundingClientRect();
		const reply = document.getElementById('reply').getBoundingClientRect();
		const msgs = document.querySelectorAll('#thread .msg');
		const last = msgs[msgs.length - 1].getBoundingClientRect();
		const top = Math.max(thread.top, 0), bottom = Math.min(thread.bottom, reply.top, vh);
		return {
			ScrollWidth: se.scrollWidth, ClientWidth: se.clientWidth,
			ThreadShare: Math.max(bottom - top, 0) / vh, ReplyShare: reply.height / vh,
			TextHeight: document.getElementById('reply-text').getBoundingClientRect().height,
			ControlsShown: [document.getElementById('reply-send'), document.getElementById('note-send'),
				document.getElementById('attach').closest('label')].every(within),
			LastMessageShown: last.top >= 0 && last.bottom <= reply.top + 0.5,
		};
	})()`, &l))
	return l
}

// viewportArtifact saves what the screen shows (artifact saves the whole page), under
// test/artifacts: on a phone the reply box's place on the screen is the point.
func viewportArtifact(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	var png []byte
	require.NoError(t, chromedp.Run(ctx, chromedp.CaptureScreenshot(&png)))
	dir := filepath.Join("..", "artifacts")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644))
}
