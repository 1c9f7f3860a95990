package webchat

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/test/browser"
)

// openChat runs the channel on sink until the test ends (calling beforeStop first, when
// given) and starts a browser. It returns a context for the page's steps, bounded so a page
// that hangs fails the test, and the chat's URL for transport ("websocket" or "poll").
func openChat(t *testing.T, exe string, h *harness, sink connectors.Sink, transport string, beforeStop func()) (context.Context, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.ch.Run(ctx, sink) }()
	t.Cleanup(func() {
		if beforeStop != nil {
			beforeStop()
		}
		cancel()
		require.NoError(t, <-done)
	})
	url := h.srv.URL + "/chat"
	if transport == "poll" {
		url += "?transport=poll"
	}
	step, stop := context.WithTimeout(browser.Headless(t, exe), 45*time.Second)
	t.Cleanup(stop)
	return step, url
}

// busyOnce is a store that cannot take one message the first time it sees it, as a store
// does that is briefly locked or restarting: the failure is temporary.
type busyOnce struct {
	*fakeStore
	text string

	mu     sync.Mutex
	failed bool
}

func (s *busyOnce) Deliver(ctx context.Context, msgs ...normalize.Message) error {
	s.mu.Lock()
	fail := !s.failed && len(msgs) == 1 && msgs[0].Text == s.text
	s.failed = s.failed || fail
	s.mu.Unlock()
	if fail {
		return errors.New("store busy")
	}
	return s.fakeStore.Deliver(ctx, msgs...)
}

// slowFiles is a store that is slow to take a file, as when a player sends a KYC photo from a
// phone: it holds every file message until release is closed. Every message it is handed is
// reported on arrived, as it arrives.
type slowFiles struct {
	*fakeStore
	release chan struct{}
	arrived chan normalize.Message
}

func (s *slowFiles) Deliver(ctx context.Context, msgs ...normalize.Message) error {
	for _, m := range msgs {
		select {
		case s.arrived <- m:
		case <-ctx.Done():
			return ctx.Err()
		}
		if len(m.Attachments) == 0 {
			continue
		}
		select {
		case <-s.release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return s.fakeStore.Deliver(ctx, msgs...)
}

// TestPageKeepsPlayersOrder: a player types two messages and the first one cannot be stored
// at once. The page must not let the second overtake it: not on the WebSocket, where the
// second was stored while the first waited for its resend, and not on the long-poll fallback,
// where every frame went up in a request of its own, all at the same time.
func TestPageKeepsPlayersOrder(t *testing.T) {
	exe := browser.Chromium(t)
	for _, transport := range []string{"websocket", "poll"} {
		t.Run(transport, func(t *testing.T) {
			h := start(t, nil, false)
			sink := &busyOnce{fakeStore: h.store, text: "my deposit is missing"}
			step, url := openChat(t, exe, h, sink, transport, nil)
			require.NoError(t, chromedp.Run(step,
				chromedp.Navigate(url),
				chromedp.WaitVisible(`#status.online`, chromedp.ByQuery),
				chromedp.SendKeys("#text", "my deposit is missing\r", chromedp.ByID),
				chromedp.SendKeys("#text", "it was 200 EUR\r", chromedp.ByID),
			))
			require.Eventually(t, func() bool { return len(h.store.delivered()) == 2 }, 30*time.Second, 10*time.Millisecond,
				"both messages are stored in the end")
			got := h.store.delivered()
			require.Equal(t, []string{"my deposit is missing", "it was 200 EUR"}, []string{got[0].Text, got[1].Text})
		})
	}
}

// TestPageKeepsFilesInOrder: a player chooses two files, one after the other, and types a
// text while the first is still being stored. The store must get them in that order: the
// uploads went up as requests of their own, outside the outbox, so the text overtook a slow
// upload and the two files raced each other.
func TestPageKeepsFilesInOrder(t *testing.T) {
	exe := browser.Chromium(t)
	dir := t.TempDir()
	var photo bytes.Buffer
	require.NoError(t, png.Encode(&photo, image.NewGray(image.Rect(0, 0, 1, 1))))
	first, second := filepath.Join(dir, "passport.png"), filepath.Join(dir, "statement.pdf")
	require.NoError(t, os.WriteFile(first, photo.Bytes(), 0o600))
	require.NoError(t, os.WriteFile(second, minimalPDF, 0o600))

	for _, transport := range []string{"websocket", "poll"} {
		t.Run(transport, func(t *testing.T) {
			h := start(t, nil, false)
			sink := &slowFiles{fakeStore: h.store, release: make(chan struct{}), arrived: make(chan normalize.Message, 8)}
			release := sync.OnceFunc(func() { close(sink.release) })
			// Released before the server shuts down, which waits for a held upload.
			step, url := openChat(t, exe, h, sink, transport, release)
			// The input takes one file at a time: the player chooses twice.
			require.NoError(t, chromedp.Run(step,
				chromedp.Navigate(url),
				chromedp.WaitVisible(`#status.online`, chromedp.ByQuery),
				chromedp.SetUploadFiles("#attach", []string{first}, chromedp.ByID),
				chromedp.SetUploadFiles("#attach", []string{second}, chromedp.ByID),
				chromedp.SendKeys("#text", "both documents are attached\r", chromedp.ByID),
			))
			select {
			case m := <-sink.arrived:
				require.Equal(t, []string{"passport.png"}, names(m), "the first thing to reach the store")
			case <-time.After(30 * time.Second):
				t.Fatal("nothing reached the store")
			}
			// Nothing may follow while the first file is being stored. A page that keeps the
			// order sends nothing, so this wait proves nothing for it; it gives a page that
			// does not (the second upload and the text went at once) the time to show it.
			var early []string
			hold := time.After(time.Second)
		wait:
			for {
				select {
				case m := <-sink.arrived:
					early = append(early, append(names(m), m.Text)...)
				case <-hold:
					break wait
				}
			}
			require.Empty(t, early, "reached the store while the first file was still being stored")
			release()

			require.Eventually(t, func() bool { return len(h.store.delivered()) == 3 }, 30*time.Second, 10*time.Millisecond,
				"all three messages are stored in the end")
			var got [][]string
			for _, m := range h.store.delivered() {
				got = append(got, append(names(m), m.Text))
			}
			require.Equal(t, [][]string{{"passport.png", ""}, {"statement.pdf", ""}, {"both documents are attached"}}, got)
		})
	}
}

func names(m normalize.Message) []string {
	var out []string
	for _, a := range m.Attachments {
		out = append(out, a.Name)
	}
	return out
}

// TestPageShowsQuickReplies: the FAQ bot answers with quick replies; the page shows them as
// buttons under the answer, and a click sends the option's text as the player's message,
// stored once like a typed one, after which the buttons are gone, also after a reload.
func TestPageShowsQuickReplies(t *testing.T) {
	exe := browser.Chromium(t)
	for _, transport := range []string{"websocket", "poll"} {
		t.Run(transport, func(t *testing.T) {
			h := start(t, nil, false)
			step, url := openChat(t, exe, h, h.store, transport, nil)
			require.NoError(t, chromedp.Run(step,
				chromedp.Navigate(url),
				chromedp.WaitVisible(`#status.online`, chromedp.ByQuery),
				chromedp.SendKeys("#text", "how do I withdraw?\r", chromedp.ByID),
			))
			require.Eventually(t, func() bool { return len(h.store.delivered()) == 1 }, 30*time.Second, 10*time.Millisecond)
			addr := h.store.delivered()[0].Address

			h.sendReply(t, botAnswer(addr, "That helped", "Talk to an agent"))

			var options []string
			require.NoError(t, chromedp.Run(step,
				chromedp.WaitVisible(`.msg.agent .options button.option`, chromedp.ByQuery),
				chromedp.Evaluate(`[...document.querySelectorAll(".msg.agent .options button")].map((b) => b.textContent)`, &options),
			))
			require.Equal(t, []string{"That helped", "Talk to an agent"}, options)

			// A click on one transport; on the other the keyboard, as a player without a mouse:
			// the button takes the focus and Enter presses it.
			choose := chromedp.Tasks{chromedp.Click(`.options button.option:nth-child(2)`, chromedp.ByQuery)}
			if transport == "poll" {
				choose = chromedp.Tasks{chromedp.Focus(`.options button.option:nth-child(2)`, chromedp.ByQuery), chromedp.KeyEvent("\r")}
			}
			require.NoError(t, chromedp.Run(step,
				choose,
				chromedp.WaitNotPresent(`.options`, chromedp.ByQuery),
				chromedp.WaitVisible(`.msg.player:last-child[data-state="queued"]`, chromedp.ByQuery),
			))
			require.Eventually(t, func() bool { return len(h.store.delivered()) == 2 }, 30*time.Second, 10*time.Millisecond)
			require.Equal(t, "Talk to an agent", h.store.delivered()[1].Text)

			// After a reload the answer is in the history with a newer message: no buttons.
			var answers int
			require.NoError(t, chromedp.Run(step,
				chromedp.Reload(),
				chromedp.WaitVisible(`#status.online`, chromedp.ByQuery),
				chromedp.WaitVisible(`.msg.player:last-child[data-state="queued"]`, chromedp.ByQuery),
				chromedp.Evaluate(`document.querySelectorAll(".msg.agent").length + 10 * document.querySelectorAll(".options").length`, &answers),
			))
			require.Equal(t, 1, answers, "the answer is shown, its buttons are not")
			var texts []string
			for _, m := range h.store.delivered() {
				texts = append(texts, m.Text)
			}
			require.Equal(t, []string{"how do I withdraw?", "Talk to an agent"}, texts, "the option is stored once")
		})
	}
}
