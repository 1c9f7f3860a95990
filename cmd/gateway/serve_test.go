package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/config"
)

// startedLog is a log destination that hands over the listen address once serve logs
// "gateway started".
type startedLog struct {
	mu      sync.Mutex
	buf     strings.Builder
	started chan string
}

func newStartedLog() *startedLog { return &startedLog{started: make(chan string, 1)} }

func (l *startedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	var rec struct {
		Msg    string `json:"msg"`
		Listen string `json:"listen"`
	}
	if json.Unmarshal(p, &rec) == nil && rec.Msg == "gateway started" {
		l.started <- rec.Listen
	}
	return len(p), nil
}

func (l *startedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// runServe starts serve on a free port with cfgYAML, changed by tune, and returns the
// gateway's base URL, the channel serve's result arrives on, and the function that sends
// SIGTERM.
func runServe(t *testing.T, cfgYAML string, tune ...func(*gateway)) (base string, done <-chan error, term context.CancelFunc, logs *startedLog) {
	t.Helper()
	dir := t.TempDir()
	cfg, err := config.Parse([]byte("listen: 127.0.0.1:0\ndata_dir: "+dir+"\n"+cfgYAML), dir, nil, catalog(connectorTypes()))
	require.NoError(t, err)
	logs = newStartedLog()
	ctx, cancel := context.WithCancel(context.Background())
	result, finished := make(chan error, 1), make(chan struct{})
	go func() {
		defer close(finished)
		result <- serve(ctx, cfg, "", io.Discard, slog.New(slog.NewJSONHandler(logs, nil)), tune...)
	}()
	t.Cleanup(func() {
		cancel()
		<-finished
	})
	select {
	case addr := <-logs.started:
		return "http://" + addr, result, cancel, logs
	case err := <-result:
		t.Fatalf("serve ended before it started: %v\n%s", err, logs)
	}
	return "", nil, nil, nil
}

// TestShutdownStaysWithinShutdownTimeout: the deployments size their kill grace period just
// above shutdown_timeout, so the whole stop, a slow request and a slow delivery together,
// must fit in it once, not once for the HTTP server and then again for the deliveries.
func TestShutdownStaysWithinShutdownTimeout(t *testing.T) {
	const timeout = 2 * time.Second
	// The helpdesk takes the delivery and never answers: a delivery in flight at shutdown.
	posted := make(chan struct{}, 1)
	desk := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // only then does the server notice the caller hang up
		select {
		case posted <- struct{}{}:
		default:
		}
		<-r.Context().Done()
	}))
	t.Cleanup(desk.Close)
	base, done, term, logs := runServe(t, fmt.Sprintf(`
shutdown_timeout: %s
channels:
  - {name: chat, type: loopback, send_url: "http://127.0.0.1:9/send"}
helpdesks:
  - {name: desk, type: loopback, url: %q}
default_helpdesk: desk
`, timeout, desk.URL))

	body := `{"messages":[{"id":"m1","address":"p1","text":"hello"}]}`
	require.Eventually(t, func() bool {
		resp, err := http.Post(base+"/hooks/chat", "application/json", strings.NewReader(body))
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK // 503 until the channel's Run holds the sink
	}, 10*time.Second, 10*time.Millisecond)
	<-posted

	// A request whose body never comes, as from a slow upload: with Expect: 100-continue the
	// server answers "100 Continue" once the handler reads the body, so it is surely in flight.
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "POST /hooks/chat HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n")
	status, err := bufio.NewReader(conn).ReadString('\n')
	require.NoError(t, err)
	require.Contains(t, status, "100 Continue")

	start := time.Now()
	term()
	select {
	case err := <-done:
		require.NoError(t, err)
		require.Less(t, time.Since(start), 2*timeout-timeout/4, "shutdown took the HTTP drain and the delivery drain one after the other\n%s", logs)
	case <-time.After(10 * timeout):
		t.Fatalf("serve did not return\n%s", logs)
	}
}

// TestUnknownHookNamesDoNotGrowTheMetrics: /hooks/{instance} matches any name, and anyone on
// the internet may ask for one; each name must not become a series of its own.
func TestUnknownHookNamesDoNotGrowTheMetrics(t *testing.T) {
	base, _, _, _ := runServe(t, `
channels:
  - {name: chat, type: loopback, send_url: "http://127.0.0.1:9/send"}
`)
	for i := range 5 {
		resp, err := http.Post(fmt.Sprintf("%s/hooks/probe-%d", base, i), "application/json", strings.NewReader("{}"))
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusNotFound, resp.StatusCode)
	}
	resp, err := http.Post(base+"/hooks/chat", "application/json", strings.NewReader("{"))
	require.NoError(t, err)
	resp.Body.Close()

	resp, err = http.Get(base + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	metrics, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NotContains(t, string(metrics), "probe-")
	require.Contains(t, string(metrics), `gateway_http_responses_total{code="404",instance="",pattern="/hooks/{instance}"} 5`)
	require.Contains(t, string(metrics), `gateway_http_responses_total{code="400",instance="chat",pattern="/hooks/{instance}"} 1`)
}
