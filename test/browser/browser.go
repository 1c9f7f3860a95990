// Package browser starts Debian's headless Chromium for the tests that drive the web chat and
// the inbox pages (test/peers/setup.sh installs it).
package browser

import (
	"context"
	"os"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// Chromium returns the path of Debian's Chromium. Without it the test is skipped, or fails
// when CI is set; under -short it is skipped too.
func Chromium(t *testing.T) string {
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

// Headless starts a fresh headless Chromium with a profile of its own (two of them never
// share cookies or storage), already running so its start-up is not charged to a test step.
// The flags keep it off the network this machine does not have.
func Headless(t *testing.T, exe string, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	// Not t.TempDir: Chromium's helper processes may still write to the profile after the
	// browser exits, which would fail the test in TempDir's clean-up.
	profile, err := os.MkdirTemp("", "gateway-chromium")
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
		chromedp.Flag("disable-quic", true),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(opts, extra...)...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	require.NoError(t, chromedp.Run(ctx))
	return ctx
}
