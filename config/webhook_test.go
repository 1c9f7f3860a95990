package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func webhookYAML(settings string) string {
	return "admin:\n  token: x\nchannels:\n  - name: chat\n    type: loopback\n    send_url: http://127.0.0.1:1/\n" +
		"helpdesks:\n  - name: hooks\n    type: webhook\n" + settings + "default_helpdesk: hooks\n"
}

func TestWebhookDefaults(t *testing.T) {
	cfg, err := Parse([]byte(webhookYAML("    url: https://tickets.example/events\n    secret: 0123456789abcdef\n    api_token: tok\n")), t.TempDir(), env(nil))
	require.NoError(t, err)
	w := cfg.Helpdesks[0].Webhook
	require.NotNil(t, w)
	require.Equal(t, "https://tickets.example/events", w.URL)
	require.Equal(t, "0123456789abcdef", w.Secret.Value())
	require.Equal(t, "tok", w.APIToken.Value())
	require.Equal(t, 15*time.Second, w.Timeout)
	require.Equal(t, 5*time.Minute, w.MaxSkew)
	require.Equal(t, 24*time.Hour, w.AttachmentURLTTL)
}

func TestWebhookValidate(t *testing.T) {
	tests := []struct {
		name, settings string
		want           []string
	}{
		{"all missing", "", []string{
			"helpdesks[0].url: required",
			"helpdesks[0].secret: required",
			"helpdesks[0].api_token: required",
		}},
		{"bad values", "    url: ftp://tickets.example\n    secret: short\n    api_token: tok\n    timeout: 10ms\n    max_skew: 1s\n    attachment_url_ttl: 1s\n", []string{
			"helpdesks[0].url: ",
			"helpdesks[0].secret: want at least 16 bytes, got 5",
			"helpdesks[0].timeout: must be at least 1s",
			"helpdesks[0].max_skew: must be at least 10s",
			"helpdesks[0].attachment_url_ttl: must be at least 1m",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(webhookYAML(tt.settings)), t.TempDir(), env(nil))
			requireProblems(t, err, tt.want...)
			require.NotContains(t, err.Error(), "short", "the secret is not echoed")
		})
	}
}

func TestWebhookExample(t *testing.T) {
	cfg, err := Load("example.yaml", env(map[string]string{"ADMIN_TOKEN": "a"}))
	require.NoError(t, err)
	var found bool
	for _, h := range cfg.Helpdesks {
		if h.Type == "webhook" {
			found = true
			require.GreaterOrEqual(t, len(h.Webhook.Secret.Value()), 16)
		}
	}
	require.True(t, found, "example.yaml shows a webhook helpdesk")
}
