package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/test/browser"
)

// TestBrowserCallbackRequest: in real headless Chromium, a German player clicks "Request a
// call-back", gives a number that is none and reads why in German with the form open again,
// then a national number and a preferred time; the chat shows the request in German, the
// agent sees it in the inbox with its badge and the number in E.164, and the conversation is
// high priority with the callback tag.
func TestBrowserCallbackRequest(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	exe := browser.Chromium(t)
	e := (&env{}).configure(t, `channels:
  - {name: web, type: webchat, callback_requests: true, callback_region: DE}
helpdesks:
  - {name: inbox, type: inbox}
default_helpdesk: inbox
`)
	e.start()
	password := field(t, adminPassword, e.logs.String())

	player := browser.Headless(t, exe, chromedp.WindowSize(420, 800))
	var label string
	run(t, player, "the player opens the German chat",
		chromedp.Navigate(e.base+"/chat?lang=de"),
		chromedp.WaitVisible(`#status.online`, chromedp.ByQuery),
		chromedp.Text("#callback-open", &label, chromedp.ByID))
	require.Equal(t, "Rückruf anfordern", label)
	var refusal string
	run(t, player, "a number that is none is refused in the form",
		chromedp.Click("#callback-open", chromedp.ByID),
		chromedp.WaitVisible("#callback-phone", chromedp.ByID),
		chromedp.SendKeys("#callback-phone", "12", chromedp.ByID),
		chromedp.Click("#callback-send", chromedp.ByID),
		chromedp.WaitVisible("#callback-error", chromedp.ByID),
		chromedp.Text("#callback-error", &refusal, chromedp.ByID))
	require.True(t, strings.HasPrefix(refusal, "Bitte geben Sie eine gültige Telefonnummer"), refusal)
	var phoneKept string
	run(t, player, "what was typed is kept", chromedp.Value("#callback-phone", &phoneKept, chromedp.ByID))
	require.Equal(t, "12", phoneKept)
	artifact(t, player, "chat-callback-refused")

	run(t, player, "the player asks with a national number and a time",
		chromedp.Evaluate(`document.getElementById("callback-phone").value = ""`, nil),
		chromedp.SendKeys("#callback-phone", "0170 1234567", chromedp.ByID),
		chromedp.SendKeys("#callback-time", "nach 18 Uhr", chromedp.ByID),
		chromedp.Click("#callback-send", chromedp.ByID),
		chromedp.WaitVisible(`//*[contains(@class,"msg") and contains(@class,"callback")]//*[contains(@class,"tick")]`, chromedp.BySearch),
		chromedp.WaitNotVisible("#callback", chromedp.ByID))
	var shown string
	run(t, player, "the chat shows the request in German", chromedp.Text(".msg.callback .bubble", &shown, chromedp.ByQuery))
	require.Contains(t, shown, "Rückruf angefordert: +491701234567")
	require.Contains(t, shown, "nach 18 Uhr")
	artifact(t, player, "chat-callback")

	agent := browser.Headless(t, exe, chromedp.WindowSize(1100, 800))
	var badge, text string
	run(t, agent, "the agent sees the request with its badge",
		chromedp.Navigate(e.base+"/inbox"),
		chromedp.WaitVisible("#username", chromedp.ByID),
		chromedp.SendKeys("#username", "admin", chromedp.ByID),
		chromedp.SendKeys("#password", password, chromedp.ByID),
		chromedp.Click("#signin", chromedp.ByID),
		chromedp.WaitVisible(".conversation", chromedp.ByQuery),
		chromedp.Click(".conversation a, .conversation", chromedp.ByQuery),
		chromedp.WaitVisible(`#thread .badge.callback`, chromedp.ByQuery),
		chromedp.Text(`#thread .badge.callback`, &badge, chromedp.ByQuery),
		chromedp.Text(`#thread .msg.player .text`, &text, chromedp.ByQuery))
	require.Equal(t, "call-back request", badge)
	require.Equal(t, "[call-back request] Please call +491701234567 back (they asked for it in the web chat). Preferred time: nach 18 Uhr", text)
	artifact(t, agent, "inbox-callback")

	var list struct {
		Conversations []normalize.Conversation `json:"conversations"`
	}
	require.Equal(t, http.StatusOK, e.api("GET", "/api/v1/conversations", nil, &list))
	require.Len(t, list.Conversations, 1)
	require.Equal(t, normalize.PriorityHigh, list.Conversations[0].Priority, "a visitor without a VIP tier: high")
	require.Contains(t, list.Conversations[0].Tags, "callback")
}
