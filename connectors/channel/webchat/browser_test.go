package webchat

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/test/browser"
)

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
	exe := browser.Chromium(t)
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
			page := browser.Headless(t, exe)
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
