package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/test/browser"
)

// chatGateway starts the binary with the web chat and the inbox. One message a minute per
// conversation, so a player's second message is refused and the page shows the notice; the
// German send button is overridden, as an operator would in the config file.
func chatGateway(t *testing.T) *env {
	t.Helper()
	e := (&env{}).configure(t, `channels:
  - name: web
    type: webchat
    messages_per_minute: 1
    greetings: {en: "Hi! How can we help you today?", de: "Hallo! Wie können wir helfen?", ro: "Bună! Cu ce vă putem ajuta?"}
    strings:
      de: {send: Abschicken}
helpdesks:
  - name: inbox
    type: inbox
default_helpdesk: inbox
`)
	e.start()
	return e
}

// chatWords is what a player sees of the page's own words.
type chatWords struct {
	lang, placeholder, send, status string
}

func readChatWords(t *testing.T, ctx context.Context) chatWords {
	t.Helper()
	var w chatWords
	var ok bool
	run(t, ctx, "read the page's words",
		chromedp.Evaluate(`document.documentElement.lang`, &w.lang),
		chromedp.AttributeValue("#text", "placeholder", &w.placeholder, &ok, chromedp.ByID),
		chromedp.Text("#send", &w.send, chromedp.ByID),
		chromedp.Text("#status", &w.status, chromedp.ByID))
	return w
}

// TestBrowserChatLanguages: a German casino page (the widget's data-lang, as ?lang=de) and a
// browser set to Romanian each get the chat in their language: placeholder, button, status
// and the notices, both the page's own (a text over the limit) and the server's (a message
// over the rate limit, which the page translates by its code).
func TestBrowserChatLanguages(t *testing.T) {
	exe := browser.Chromium(t)
	e := chatGateway(t)

	tests := []struct {
		name     string
		query    string
		browser  []chromedp.ExecAllocatorOption
		words    chatWords
		tooLong  string
		limited  string
		notSent  string
		retry    string
		artifact string
	}{
		{
			name:  "German from the page",
			query: "?lang=de",
			// The browser prefers English: the page's language comes first.
			browser: []chromedp.ExecAllocatorOption{chromedp.Flag("lang", "en-US"), chromedp.Flag("accept-lang", "en-US,en")},
			words:   chatWords{lang: "de", placeholder: "Nachricht eingeben…", send: "Abschicken", status: "online"},
			tooLong: "Ihre Nachricht ist zu lang: höchstens 4.000 Zeichen. Bitte teilen Sie sie auf.",
			limited: "Sie senden Nachrichten zu schnell. Bitte warten Sie einen Moment.",
			notSent: "nicht gesendet", retry: "Erneut senden",
			artifact: "chat-de",
		},
		{
			name:    "Romanian from the browser",
			browser: []chromedp.ExecAllocatorOption{chromedp.Flag("lang", "ro-RO"), chromedp.Flag("accept-lang", "ro-RO,ro,en-US;q=0.5")},
			words:   chatWords{lang: "ro", placeholder: "Scrieți mesajul…", send: "Trimite", status: "online"},
			tooLong: "Mesajul este prea lung: cel mult 4.000 de caractere. Vă rugăm să îl împărțiți.",
			limited: "Trimiteți mesaje prea repede. Vă rugăm să așteptați puțin.",
			notSent: "netrimis", retry: "Reîncercați",
			artifact: "chat-ro",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := browser.Headless(t, exe, append(tt.browser, chromedp.WindowSize(600, 800))...)
			run(t, ctx, "open the chat",
				chromedp.Navigate(e.base+"/chat"+tt.query),
				chromedp.WaitVisible(`#status.online`, chromedp.ByQuery))
			require.Equal(t, tt.words, readChatWords(t, ctx))

			var notice string
			run(t, ctx, "a text over the limit is refused by the page",
				chromedp.SetValue("#text", strings.Repeat("a", 4001), chromedp.ByID),
				chromedp.Click("#send", chromedp.ByID),
				chromedp.WaitVisible("#notice", chromedp.ByID),
				chromedp.Text("#notice", &notice, chromedp.ByID))
			require.Equal(t, tt.tooLong, notice)

			var notSent, retry string
			run(t, ctx, "the second message is over the server's rate limit",
				chromedp.Evaluate(`document.getElementById("text").value = ""`, nil),
				chromedp.SendKeys("#text", "first\r", chromedp.ByID),
				chromedp.WaitVisible(`//li[contains(@class,"player")][.//*[text()="first"]]//*[contains(@class,"tick")]`, chromedp.BySearch),
				chromedp.SendKeys("#text", "second\r", chromedp.ByID),
				chromedp.WaitVisible(`//li[contains(@class,"player")][.//*[text()="second"]]//*[contains(@class,"retry")]`, chromedp.BySearch),
				chromedp.Text(`//li[contains(@class,"player")][.//*[text()="second"]]//*[contains(@class,"failed")]`, &notSent, chromedp.BySearch),
				chromedp.Text(`//li[contains(@class,"player")][.//*[text()="second"]]//*[contains(@class,"retry")]`, &retry, chromedp.BySearch),
				chromedp.Text("#notice", &notice, chromedp.ByID))
			require.Equal(t, tt.limited, notice)
			require.Equal(t, tt.notSent, notSent)
			require.Equal(t, tt.retry, retry)
			artifact(t, ctx, tt.artifact)
		})
	}
}

// TestBrowserChatPhoneWidth: on a 390 px phone the chat fits the screen in every built-in
// language, with a notice and a refused message (its Retry button) showing: nothing scrolls
// sideways. Russian also inside the widget's frame, which is 40 px narrower there.
func TestBrowserChatPhoneWidth(t *testing.T) {
	exe := browser.Chromium(t)
	e := chatGateway(t)
	ctx := browser.Headless(t, exe)
	type phone struct {
		query string
		width int64
	}
	var pages []phone
	for _, lang := range []string{"en", "ro", "ru", "sv", "de", "es", "pt", "pt-PT", "it", "fr", "tr"} {
		pages = append(pages, phone{"?lang=" + lang, 390})
	}
	pages = append(pages, phone{"?embed=1&lang=ru", 350})

	for _, p := range pages {
		t.Run(fmt.Sprintf("%s at %d px", p.query, p.width), func(t *testing.T) {
			// A new visitor each time, so the rate limit refuses this page's second message. The
			// storage is cleared from a file of the chat's origin that runs no chat, which could
			// store its token again.
			run(t, ctx, "open the chat on a phone",
				chromedp.EmulateViewport(p.width, 844, chromedp.EmulateMobile, chromedp.EmulateScale(3)),
				chromedp.Navigate(e.base+"/chat/static/chat.css"),
				chromedp.Evaluate(`localStorage.clear()`, nil),
				chromedp.Navigate(e.base+"/chat"+p.query),
				chromedp.WaitVisible(`#status.online`, chromedp.ByQuery),
				chromedp.SendKeys("#text", "Where is my withdrawal of 250 EUR from Tuesday?\r", chromedp.ByID),
				chromedp.WaitVisible(`.msg.player .tick`, chromedp.ByQuery),
				chromedp.SendKeys("#text", "Hello?\r", chromedp.ByID),
				chromedp.WaitVisible(`.msg.player .retry`, chromedp.ByQuery),
				chromedp.WaitVisible("#notice", chromedp.ByID))
			var widths struct{ Scroll, Client, Inner int }
			run(t, ctx, "measure", chromedp.Evaluate(`({Scroll: document.documentElement.scrollWidth,
				Client: document.documentElement.clientWidth, Inner: window.innerWidth})`, &widths))
			require.Equal(t, int(p.width), widths.Inner, "the viewport is the phone's")
			require.LessOrEqual(t, widths.Scroll, widths.Client, "the page scrolls sideways")
			if p.query == "?lang=ru" {
				artifact(t, ctx, "chat-390-ru")
			}
		})
	}
}
