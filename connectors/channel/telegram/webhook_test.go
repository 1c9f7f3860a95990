package telegram

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
	"github.com/stretchr/testify/require"
)

const hookSecret = "hook_Secret-123"

func webhookEnv(t *testing.T) (*env, *dedupSink) {
	t.Helper()
	e := newEnv(t, func(c *Config) { c.Mode = "webhook"; c.WebhookSecret = hookSecret })
	sink := newSink()
	e.run(t, sink)
	require.Eventually(t, func() bool { return e.ch.sink.Sink() != nil }, 5*time.Second, 5*time.Millisecond)
	return e, sink
}

func post(ch http.Handler, method, secret, body string) int {
	req := httptest.NewRequest(method, "/hooks/tg", strings.NewReader(body))
	if secret != "" {
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
	}
	rec := httptest.NewRecorder()
	ch.ServeHTTP(rec, req)
	return rec.Code
}

const goodUpdate = `{"update_id":10,"message":{"message_id":3,"date":1700000000,"from":{"id":5000000001,"first_name":"Ana"},"chat":{"id":5000000001,"type":"private"},"text":"hi"}}`

func TestWebhookRefusals(t *testing.T) {
	e, sink := webhookEnv(t)
	tests := []struct {
		name, method, secret, body string
		want                       int
	}{
		{"missing secret", http.MethodPost, "", goodUpdate, http.StatusUnauthorized},
		{"wrong secret", http.MethodPost, "hook_Secret-124", goodUpdate, http.StatusUnauthorized},
		{"prefix of the secret", http.MethodPost, "hook_Secret", goodUpdate, http.StatusUnauthorized},
		{"GET", http.MethodGet, hookSecret, "", http.StatusMethodNotAllowed},
		{"malformed JSON", http.MethodPost, hookSecret, `{"update_id":`, http.StatusBadRequest},
		{"too large", http.MethodPost, hookSecret, `{"update_id":1,"x":"` + strings.Repeat("a", maxWebhookBody) + `"}`, http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, post(e.ch, tt.method, tt.secret, tt.body))
		})
	}
	require.Empty(t, sink.messages(), "nothing refused was stored")
	require.Zero(t, sink.callCount())
}

func TestWebhookStoresThenAnswers(t *testing.T) {
	e, sink := webhookEnv(t)
	sink.fail = 1
	require.Equal(t, http.StatusServiceUnavailable, post(e.ch, http.MethodPost, hookSecret, goodUpdate), "Telegram retries a 5xx")
	require.Empty(t, sink.messages())
	require.Equal(t, http.StatusOK, post(e.ch, http.MethodPost, hookSecret, goodUpdate))
	require.Equal(t, []string{"hi"}, texts(sink.messages()))
	require.Equal(t, http.StatusOK, post(e.ch, http.MethodPost, hookSecret, goodUpdate), "a repeat is a duplicate, not an error")
	require.Len(t, sink.messages(), 1)
}

// TestWebhookThroughFake registers the webhook with the fake, which then pushes updates to the
// channel's handler with the secret header, as Telegram does.
func TestWebhookThroughFake(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Mode = "webhook"; c.WebhookSecret = hookSecret })
	hooks := httptest.NewServer(e.ch)
	t.Cleanup(hooks.Close)
	e.ch.publicURL = hooks.URL
	sink := newSink()
	e.run(t, sink)
	require.Eventually(t, func() bool { u, _ := e.fake.Webhook(); return u != "" }, 5*time.Second, 5*time.Millisecond)
	url, secret := e.fake.Webhook()
	require.Equal(t, hooks.URL+"/hooks/tg", url)
	require.Equal(t, hookSecret, secret)

	e.fake.AddUpdate(tgbotapi.Update{Message: msg("via webhook")})
	waitMessages(t, sink, 1)
	require.Equal(t, []string{"via webhook"}, texts(sink.messages()))
	require.Eventually(t, func() bool { return e.fake.Pending() == 0 }, 5*time.Second, 5*time.Millisecond)
}

func TestWebhookRefusedURLEndsRun(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Mode = "webhook"; c.WebhookSecret = hookSecret })
	e.fake.RefuseWebhooks("Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
	err := e.ch.Run(t.Context(), newSink())
	require.ErrorContains(t, err, "HTTPS URL must be provided")
}

func TestHandlerInPollingMode(t *testing.T) {
	e := newEnv(t, nil)
	require.Equal(t, http.StatusNotFound, post(e.ch, http.MethodPost, "", goodUpdate))
}
