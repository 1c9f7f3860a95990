package gatewayproc

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestConfigNamesTheStore(t *testing.T) {
	s := Setup{Port: 1234, DataDir: "/tmp/d", TelegramURL: "http://tg", Token: "t", ReceiverURL: "http://rc", Secret: "s", APIToken: "a"}
	require.Contains(t, s.Config(), "store: {driver: sqlite}")
	s.PostgresDSN = "postgres://h/db?search_path=x"
	require.Contains(t, s.Config(), `store: {driver: postgres, dsn: "postgres://h/db?search_path=x"}`)
}

func TestFreePortIsFree(t *testing.T) {
	p, err := FreePort()
	require.NoError(t, err)
	require.Positive(t, p)
}

func TestConfigAddsTheWebChatAndShortLeases(t *testing.T) {
	s := Setup{Port: 1234, DataDir: "/tmp/d", TelegramURL: "http://tg", Token: "t", ReceiverURL: "http://rc", Secret: "s", APIToken: "a"}
	require.NotContains(t, s.Config(), "webchat")
	require.NotContains(t, s.Config(), "delivery:")
	s.WebChatSecret, s.Lease, s.BackoffMax = "chat-secret-0123456789abcdef", 10*time.Second, 2*time.Second
	cfg := s.Config()
	require.Contains(t, cfg, "    type: webchat\n")
	require.Contains(t, cfg, `token_secret: "chat-secret-0123456789abcdef"`)
	require.Contains(t, cfg, "delivery: {lease: 10s, backoff_base: 200ms, backoff_max: 2s}\n")
}

// batch_events is written only when asked for: an older gateway binary refuses unknown keys.
func TestConfigSetsWebhookBatchOnlyWhenAsked(t *testing.T) {
	s := Setup{Port: 1234, DataDir: "/tmp/d", TelegramURL: "http://tg", Token: "t", ReceiverURL: "http://rc", Secret: "s", APIToken: "a"}
	require.NotContains(t, s.Config(), "batch_events")
	s.WebhookBatch = 50
	require.Contains(t, s.Config(), "    api_token: \"a\"\n    batch_events: 50\ndefault_helpdesk: desk\n")
}

// The load command's -workers lands in delivery.workers, with the other delivery keys.
func TestConfigSetsWorkersOnlyWhenAsked(t *testing.T) {
	s := Setup{Port: 1234, DataDir: "/tmp/d", TelegramURL: "http://tg", Token: "t", ReceiverURL: "http://rc", Secret: "s", APIToken: "a"}
	require.NotContains(t, s.Config(), "workers")
	s.Workers, s.Lease = 24, 10*time.Second
	require.Contains(t, s.Config(), "delivery: {lease: 10s, workers: 24}\n")
}
