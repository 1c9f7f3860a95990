package webchat

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/router/store/blobs"
)

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(b)
}

// inlineHandler finds onclick= and the like, which the CSP would block anyway.
var inlineHandler = regexp.MustCompile(`(?i)\son[a-z]+\s*=`)

func TestPlayerPage(t *testing.T) {
	h := start(t, func(cfg *Config, _ *Deps) { cfg.Title = `Help & "Support"` }, true)
	resp, body := get(t, h.srv.URL+"/chat")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
	for _, id := range []string{"messages", "text", "send", "attach", "typing", "status"} {
		require.Contains(t, body, `id="`+id+`"`)
	}
	require.Contains(t, body, "Help &amp; &#34;Support&#34;", "the title is escaped")
	require.NotRegexp(t, inlineHandler, body)
	require.NotContains(t, body, "<script>", "no inline scripts")
	require.NotContains(t, body, "style=", "no inline styles")
	require.Contains(t, body, `accept="image/png,image/jpeg,image/gif,image/webp,application/pdf"`)

	csp := resp.Header.Get("Content-Security-Policy")
	require.Contains(t, csp, "default-src 'none'")
	require.Contains(t, csp, "script-src 'self'")
	require.Contains(t, csp, "frame-ancestors 'none'")
	require.Contains(t, csp, "ws://"+strings.TrimPrefix(h.srv.URL, "http://"))
	require.Contains(t, csp, "wss://gw.example")
	require.Equal(t, "DENY", resp.Header.Get("X-Frame-Options"))
	require.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))

	resp, _ = get(t, h.srv.URL+"/chat?embed=1&player=abc&lang=de")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	csp = resp.Header.Get("Content-Security-Policy")
	require.Contains(t, csp, "frame-ancestors 'self' https://gw.example https://casino.example")
	require.Empty(t, resp.Header.Get("X-Frame-Options"))
}

func TestStaticFilesAndTheme(t *testing.T) {
	h := start(t, func(cfg *Config, _ *Deps) { cfg.Color = "#ffd700" }, true)
	resp, body := get(t, h.srv.URL+"/chat/static/chat.js")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, resp.Header.Get("Content-Type"), "javascript")
	require.True(t, strings.Contains(body, "new WebSocket"))
	for _, unsafe := range []string{".innerHTML", ".outerHTML", "insertAdjacentHTML", "document.write", "eval("} {
		require.False(t, strings.Contains(body, unsafe), "rendering must use textContent, found %s", unsafe)
	}

	resp, body = get(t, h.srv.URL+"/chat/static/chat.css")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, resp.Header.Get("Content-Type"), "text/css")
	require.Contains(t, body, "#messages")

	resp, body = get(t, h.srv.URL+"/chat/theme.css")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, body, "--accent: #ffd700")
	require.Contains(t, body, "--on-accent: #000000", "dark text on a light accent")

	for _, p := range []string{"/chat/static/", "/chat/static/page.html", "/chat/static/widget.js"} {
		resp, _ = get(t, h.srv.URL+p)
		require.Equal(t, http.StatusNotFound, resp.StatusCode, p)
	}
}

func TestWidget(t *testing.T) {
	h := start(t, func(cfg *Config, _ *Deps) {
		cfg.Greetings = map[string]string{"en": "Hi </script><b>", "de": "Hallo"}
	}, true)
	resp, body := get(t, h.srv.URL+"/chat/widget.js")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/javascript; charset=utf-8", resp.Header.Get("Content-Type"))
	require.Equal(t, "cross-origin", resp.Header.Get("Cross-Origin-Resource-Policy"))
	require.NotContains(t, body, widgetConfig)
	require.Contains(t, body, `"color":"#0b5fff"`)
	require.Contains(t, body, `"path":"/chat"`)
	require.Contains(t, body, `\u003c/script\u003e`, "settings are escaped for any context")
	require.Contains(t, body, "data-player-token")
	require.Contains(t, body, `"embed", "1"`)
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config, *Deps)
		want string
	}{
		{"no history", func(_ *Config, d *Deps) { d.History = nil }, "History and Blobs"},
		{"short player secret", func(c *Config, _ *Deps) { c.PlayerSecret = "short" }, "player_secret"},
		{"bad colour", func(c *Config, _ *Deps) { c.Color = "red" }, "color"},
		{"bad origin", func(c *Config, _ *Deps) { c.AllowedOrigins = []string{"casino.example"} }, "origin"},
		{"no secret anywhere", func(c *Config, d *Deps) { c.TokenSecret, d.SecretsDir = "", "" }, "token_secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			bl, err := blobs.New(t.TempDir(), 1024)
			require.NoError(t, err)
			deps := Deps{History: newFakeStore(), Blobs: bl, SecretsDir: t.TempDir()}
			tt.edit(&cfg, &deps)
			_, err = New("web", cfg, deps)
			require.ErrorContains(t, err, tt.want)
		})
	}
}
