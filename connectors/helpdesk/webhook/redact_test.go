package webhook_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/helpdesk/webhook"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router"
	"github.com/casino-support/gateway/router/store"
)

// syncBuffer is a log's output, safe to read while the router writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// An operator's webhook URL may carry an API key in its query (or credentials before the
// host). net/http quotes the whole URL in its errors, and the router logs a delivery's error
// and keeps it in the dead letter: neither may show the key, whatever went wrong.
func TestWebhookURLSecretsNeverReachLogsOrDeadLetters(t *testing.T) {
	// A server that hangs past the timeout, and one that is gone.
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(2 * time.Second):
		}
	}))
	t.Cleanup(hang.Close)
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	for _, tt := range []struct{ name, url string }{
		{"connection refused", gone.URL + "/hook?api_key=SECRET-KEY&x=1"},
		{"timeout", hang.URL + "/hook?api_key=SECRET-KEY"},
		{"a key as the user name", "http://SECRET-KEY:x@" + gone.Listener.Addr().String() + "/hook"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			logs := &syncBuffer{}
			log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			e := newEnvDeps(t, func(c *webhook.Config) { c.URL, c.Timeout = tt.url, 200*time.Millisecond },
				func(d *webhook.Deps) { d.Log = log })
			ctx, cancel := context.WithCancel(context.Background())
			st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "gw.db"), store.Options{})
			require.NoError(t, err)
			r := router.New(st, nil, map[normalize.InstanceName]connectors.Helpdesk{testName: e.hd}, router.Rules{Default: testName},
				router.Options{MaxAttempts: 1, PollInterval: 20 * time.Millisecond}, prometheus.NewRegistry(), log)
			done := make(chan struct{})
			go func() { defer close(done); _ = r.Run(ctx) }()
			t.Cleanup(func() { cancel(); <-done; st.Close() })

			require.NoError(t, r.Deliver(ctx, normalize.Message{Direction: normalize.Inbound, Source: "chat", Channel: "chat",
				ChannelKind: normalize.KindLoopback, Address: "p-1", ExternalID: "m-1",
				Author: normalize.Author{Role: normalize.RolePlayer}, Text: "hello", SentAt: time.Now()}))
			var dead []store.StoredMessage
			require.Eventually(t, func() bool {
				dead, err = st.DeadLetters(ctx, 0, 10)
				return err == nil && len(dead) == 1
			}, 10*time.Second, 10*time.Millisecond, "the message is dead-lettered")

			require.NotEmpty(t, dead[0].Error)
			require.NotContains(t, dead[0].Error, "SECRET", "the dead letter's last_error")
			// The router logs a dead letter once the store recorded it, a moment after it shows.
			require.Eventually(t, func() bool { return strings.Contains(logs.String(), "message dead-lettered") },
				10*time.Second, 10*time.Millisecond, "the dead letter is logged")
			require.NotContains(t, logs.String(), "SECRET", "the logs")
			// What is left still says where the request went.
			require.Contains(t, dead[0].Error, "/hook")
		})
	}
}
