package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/test/browser"
)

// artifact saves a full-page screenshot under test/artifacts (kept by CI as test output).
func artifact(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	var png []byte
	// Quality 100 makes a PNG; below that Chromium writes JPEG.
	require.NoError(t, chromedp.Run(ctx, chromedp.FullScreenshot(&png, 100)))
	dir := filepath.Join("..", "artifacts")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644))
}

// run executes chromedp actions with a deadline, so a missing element fails instead of hanging.
func run(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action) {
	t.Helper()
	step, cancel := context.WithTimeout(ctx, 45*time.Second) // generous: CI runs packages in parallel on 2 cores
	defer cancel()
	require.NoError(t, chromedp.Run(step, actions...), what)
}

var adminPassword = regexp.MustCompile(`as admin with password (\S+)`)

// TestBrowserChatAndInbox: in real headless Chromium, a player opens /chat, sends a message
// and a PDF; an agent signs in to /inbox with the password printed at first start, sees both
// and replies; the player sees the reply without reloading, and a reload keeps the history.
func TestBrowserChatAndInbox(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	exe := browser.Chromium(t)
	dir := t.TempDir()
	port := freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	cfgPath := filepath.Join(dir, "gateway.yaml")
	// The embedded default, on a free port and a private data directory.
	require.NoError(t, os.WriteFile(cfgPath, []byte(fmt.Sprintf(`listen: 127.0.0.1:%d
public_url: %s
data_dir: %s
channels:
  - {name: web, type: webchat}
helpdesks:
  - {name: inbox, type: inbox}
default_helpdesk: inbox
`, port, base, filepath.Join(dir, "data"))), 0o600))
	logs := &lockedBuffer{}
	cmd := exec.Command(gatewayBinary(t), "serve", "--config", cfgPath)
	cmd.Stdout, cmd.Stderr = logs, logs
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
		if t.Failed() {
			t.Logf("gateway log:\n%s", logs.String())
		}
	})
	var password string
	require.Eventually(t, func() bool {
		m := adminPassword.FindStringSubmatch(logs.String())
		if m != nil {
			password = m[1]
		}
		return m != nil && logs.Contains("gateway started")
	}, 30*time.Second, 20*time.Millisecond, "the first start must print the inbox sign-in")

	pdf := filepath.Join(dir, "passport.pdf")
	require.NoError(t, os.WriteFile(pdf, minimalPDF, 0o600))

	player := browser.Headless(t, exe, chromedp.WindowSize(1100, 800))
	run(t, player, "player opens the chat", chromedp.Navigate(base+"/chat"), chromedp.WaitVisible("#text", chromedp.ByID))
	run(t, player, "player sends a message",
		chromedp.SendKeys("#text", "Hello, my withdrawal is stuck", chromedp.ByID),
		chromedp.Click("#send", chromedp.ByID),
		chromedp.WaitVisible(`//*[contains(@class,"msg") and contains(@class,"player")]//*[contains(text(),"withdrawal is stuck")]/ancestor-or-self::*[contains(@class,"msg")]//*[contains(@class,"tick")]`, chromedp.BySearch))
	run(t, player, "player attaches a PDF",
		chromedp.SetUploadFiles("#attach", []string{pdf}, chromedp.ByID),
		chromedp.WaitVisible(`//*[contains(@class,"msg") and contains(@class,"player")]//*[contains(.,"passport.pdf")]`, chromedp.BySearch))
	artifact(t, player, "chat-player-sent")

	agent := browser.Headless(t, exe, chromedp.WindowSize(1100, 800))
	run(t, agent, "agent signs in",
		chromedp.Navigate(base+"/inbox"),
		chromedp.WaitVisible("#username", chromedp.ByID),
		chromedp.SendKeys("#username", "admin", chromedp.ByID),
		chromedp.SendKeys("#password", password, chromedp.ByID),
		chromedp.Click("#signin", chromedp.ByID),
		chromedp.WaitVisible("#conversations", chromedp.ByID))
	run(t, agent, "agent sees the conversation", chromedp.WaitVisible(".conversation", chromedp.ByQuery))
	artifact(t, agent, "inbox-list")
	run(t, agent, "agent opens it",
		chromedp.Click(".conversation a, .conversation", chromedp.ByQuery),
		chromedp.WaitVisible(`//*[@id="thread"]//*[contains(text(),"withdrawal is stuck")]`, chromedp.BySearch),
		chromedp.WaitVisible(`//*[@id="thread"]//*[contains(.,"passport.pdf")]`, chromedp.BySearch))
	run(t, agent, "agent replies",
		chromedp.SendKeys("#reply-text", "We are looking into it right now.", chromedp.ByID),
		chromedp.Click("#reply-send", chromedp.ByID),
		chromedp.WaitVisible(`//*[@id="thread"]//*[contains(@class,"agent")]//*[contains(text(),"looking into it")]`, chromedp.BySearch))

	run(t, player, "player sees the reply without reloading",
		chromedp.WaitVisible(`//*[contains(@class,"msg") and contains(@class,"agent")]//*[contains(text(),"looking into it")]`, chromedp.BySearch))
	artifact(t, player, "chat-reply")
	run(t, agent, "the reply is marked read", chromedp.WaitVisible(`//*[@id="thread"]//*[contains(@class,"tick") and contains(@class,"read")]`, chromedp.BySearch))
	artifact(t, agent, "inbox-thread")

	var after string
	run(t, player, "a reload keeps the history",
		chromedp.Reload(),
		chromedp.WaitVisible(`//*[contains(@class,"msg") and contains(@class,"agent")]//*[contains(text(),"looking into it")]`, chromedp.BySearch),
		chromedp.Text("#messages", &after, chromedp.ByID))
	require.Contains(t, after, "withdrawal is stuck")
	require.Contains(t, after, "passport.pdf")
	require.Equal(t, 1, strings.Count(after, "withdrawal is stuck"), "history must not double messages")
	var author string
	run(t, player, "the reply is signed with the chat's title, never the agent's sign-in name",
		chromedp.Text(`.msg.agent .author`, &author, chromedp.ByQuery))
	require.Equal(t, "Support", author)

	// The page used the WebSocket (101 through the metrics middleware), not only the fallback.
	resp, err := http.Get(base + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	metrics, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Regexp(t, `gateway_http_responses_total\{code="101",instance="",pattern="GET /chat/ws"\} [1-9]`, string(metrics))

	// SIGTERM with both pages open (the inbox's event stream, the chat's socket): the gateway
	// must not wait out shutdown_timeout (30s) for streams that never end by themselves.
	start := time.Now()
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, cmd.Wait(), "exit status")
	require.Less(t, time.Since(start), 10*time.Second, "shutdown waited for open streams")
}

// minimalPDF is a valid one-page PDF, enough for content sniffing to call it application/pdf.
var minimalPDF = []byte("%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n" +
	"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
