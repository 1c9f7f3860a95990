package inbox

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	chromium "github.com/casino-support/gateway/test/browser"
)

// TestBrowserPairing: in real headless Chromium, an admin who opens the Channels page signs
// in and lands on it, sees the QR code of the instance waiting to be paired (read back off the
// screen), sees the next code WhatsApp hands out without reloading, asks for a pairing code by
// phone number, and sees the linked account once the phone linked the instance.
func TestBrowserPairing(t *testing.T) {
	exe := chromium.Chromium(t)
	f, waiting, _ := pairingFixture(t)
	ctx, run := headless(t, exe, 1000, 1200)

	run("sign in on the way to the page",
		chromedp.Navigate(f.srv.URL+"/inbox/admin/pairing"),
		chromedp.WaitVisible("#username", chromedp.ByID),
		chromedp.SendKeys("#username", "ada", chromedp.ByID),
		chromedp.SendKeys("#password", adminPassword, chromedp.ByID),
		chromedp.Click("#signin", chromedp.ByID),
		chromedp.WaitVisible("#pair-wa-main img.qr", chromedp.ByQuery))
	require.Eventually(t, func() bool { return screenQR(t, ctx) == whatsAppCode }, 20*time.Second, 200*time.Millisecond,
		"the code on the screen is the channel's")

	next := whatsAppCode[:60] + "-next"
	waiting.set(func(s *PairingStatus) { s.QRCode, s.Detail = next, "scan the next QR code" })
	run("the page follows the next code",
		chromedp.WaitVisible(`//*[@id="pair-wa-main"]//*[@data-field="detail" and text()="scan the next QR code"]`, chromedp.BySearch))
	require.Eventually(t, func() bool { return screenQR(t, ctx) == next }, 20*time.Second, 200*time.Millisecond,
		"the image shows the new code without a reload")

	run("ask for a pairing code by phone number",
		chromedp.SendKeys("#phone-wa-main", "+49 151 12345678", chromedp.ByID),
		chromedp.Click(`#pair-wa-main button[data-action="phone"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`//*[@id="pair-wa-main"]//*[@data-field="pair_code" and text()="ABCD-EFGH"]`, chromedp.BySearch))
	_, phones := waiting.calls()
	require.Equal(t, []string{"+49 151 12345678"}, phones)
	var shot []byte
	run("screenshot", chromedp.FullScreenshot(&shot, 100))
	dir := filepath.Join("..", "..", "..", "test", "artifacts") // kept by CI as test output
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "inbox-pairing.png"), shot, 0o644))

	waiting.set(func(s *PairingStatus) {
		s.State, s.Detail, s.QRCode, s.PairCode, s.Unlinked, s.Account = "connected", "connected", "", "", false, "+4915112345678"
	})
	run("the linked account shows, the code and buttons go",
		chromedp.WaitVisible(`//*[@id="pair-wa-main"]//*[@data-field="account" and text()="+4915112345678"]`, chromedp.BySearch),
		chromedp.WaitNotVisible("#pair-wa-main img.qr", chromedp.ByQuery),
		chromedp.WaitNotVisible("#pair-wa-main .pair-actions", chromedp.ByQuery),
		chromedp.WaitNotVisible("#pair-wa-main .pair-code", chromedp.ByQuery))
}

// screenQR reads the QR code off the page as Chromium shows it; "" while none can be read.
func screenQR(t *testing.T, ctx context.Context) string {
	t.Helper()
	var shot []byte
	require.NoError(t, chromedp.Run(ctx, chromedp.Screenshot("#pair-wa-main img.qr", &shot, chromedp.ByQuery)))
	img, err := png.Decode(bytes.NewReader(shot))
	require.NoError(t, err)
	text, _ := readQR(img) // not yet readable: the image is loading
	return text
}

// headless starts Chromium with a window of width×height for one test of at most 90 seconds,
// and returns its context and run, which runs actions in it and fails the test, saying what,
// when one fails.
func headless(t *testing.T, exe string, width, height int) (context.Context, func(what string, actions ...chromedp.Action)) {
	ctx, stop := context.WithTimeout(chromium.Headless(t, exe, chromedp.WindowSize(width, height)), 90*time.Second)
	t.Cleanup(stop)
	return ctx, func(what string, actions ...chromedp.Action) {
		t.Helper()
		require.NoError(t, chromedp.Run(ctx, actions...), what)
	}
}
