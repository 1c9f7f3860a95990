package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/router/store/pgtest"
)

// TestServeOnPostgres: a gateway with store.driver postgres stores a channel's message in
// PostgreSQL and delivers it to its helpdesk; replay runs against the same database while the
// gateway runs.
func TestServeOnPostgres(t *testing.T) {
	dsn := pgtest.DSN(t)
	posted := make(chan string, 4)
	desk := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		select {
		case posted <- string(body):
		default:
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"ticket":"T-1","ids":["d-1"]}`)
	}))
	t.Cleanup(desk.Close)
	cfgYAML := fmt.Sprintf(`
store:
  driver: postgres
  dsn: %q
channels:
  - {name: chat, type: loopback, send_url: "http://127.0.0.1:9/send"}
helpdesks:
  - {name: desk, type: loopback, url: %q}
default_helpdesk: desk
`, dsn, desk.URL)
	base, _, _, _ := runServe(t, cfgYAML)

	body := `{"messages":[{"id":"m1","address":"p1","text":"hello from postgres"}]}`
	require.Eventually(t, func() bool {
		resp, err := http.Post(base+"/hooks/chat", "application/json", strings.NewReader(body))
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK // 503 until the channel's Run holds the sink
	}, 10*time.Second, 10*time.Millisecond)
	select {
	case got := <-posted:
		require.Contains(t, got, "hello from postgres")
	case <-time.After(20 * time.Second):
		t.Fatal("the helpdesk got nothing")
	}

	path := filepath.Join(t.TempDir(), "gateway.yaml")
	require.NoError(t, os.WriteFile(path, []byte(cfgYAML), 0o600))
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"replay", "--config", path, "--all"}, strings.NewReader(""), &stdout, &stderr)
	require.Equal(t, 0, code, "replay: %s", stderr.String())
}
