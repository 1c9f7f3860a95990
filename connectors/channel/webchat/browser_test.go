package webchat

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
)

// chromium finds Debian's Chromium (test/peers/setup.sh installs it) or skips the test.
func chromium(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test")
	}
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed; test/peers/setup.sh installs it")
	}
	t.Skip("chromium is not installed; run test/peers/setup.sh (apt-get install chromium)")
	return ""
}

// headless starts a fresh headless Chromium with its own profile.
func headless(t *testing.T, exe string) context.Context {
	t.Helper()
	// Not t.TempDir: Chromium's helper processes may still write to the profile after the
	// browser exits, which would fail the test in TempDir's clean-up.
	profile, err := os.MkdirTemp("", "webchat-chromium")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(profile) })
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox, // root in CI
		chromedp.DisableGPU,
		chromedp.UserDataDir(profile),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	require.NoError(t, chromedp.Run(ctx))
	return ctx
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

// TestPageKeepsPlayersOrder: a player types two messages and the first one cannot be stored
// at once. The page must not let the second overtake it: not on the WebSocket, where the
// second was stored while the first waited for its resend, and not on the long-poll fallback,
// where every frame went up in a request of its own, all at the same time.
func TestPageKeepsPlayersOrder(t *testing.T) {
	exe := chromium(t)
	for _, transport := range []string{"websocket", "poll"} {
		t.Run(transport, func(t *testing.T) {
			h := start(t, nil, false)
			sink := &busyOnce{fakeStore: h.store, text: "my deposit is missing"}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- h.ch.Run(ctx, sink) }()
			t.Cleanup(func() {
				cancel()
				require.NoError(t, <-done)
			})

			url := h.srv.URL + "/chat"
			if transport == "poll" {
				url += "?transport=poll"
			}
			page := headless(t, exe)
			step, stop := context.WithTimeout(page, 45*time.Second)
			defer stop()
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
