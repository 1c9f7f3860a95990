package webhookreceiver_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors/helpdesk/webhook"
	"github.com/casino-support/gateway/test/webhookreceiver"
)

const secret = "receiver-test-secret-0123"

func newReceiver(t *testing.T) (*webhookreceiver.Receiver, *httptest.Server) {
	t.Helper()
	c, err := webhookreceiver.LoadContract(context.Background(), webhookreceiver.DocPath())
	require.NoError(t, err, "LoadContract()")
	rc := webhookreceiver.New(c, secret, time.Minute)
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	return rc, srv
}

const opened = `{"event":"conversation.opened","id":"open-c1","created_at":"2026-11-22T10:00:00Z",` +
	`"conversation":{"id":"c1","channel":"tg","channel_kind":"telegram","tags":[],"player":{"vip_tier":0}}}`

func send(t *testing.T, url, event, key, body string, sign bool) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(webhook.HeaderEvent, event)
	req.Header.Set(webhook.HeaderIdempotencyKey, key)
	now := time.Now()
	req.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	if sign {
		req.Header.Set(webhook.HeaderSignature, webhook.Sign([]byte(secret), now, []byte(body)))
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

func TestReceiverDeduplicatesOnIdempotencyKey(t *testing.T) {
	rc, srv := newReceiver(t)
	for range 2 {
		status, body := send(t, srv.URL, "conversation.opened", "open-c1", opened, true)
		require.Equal(t, http.StatusOK, status, body)
		require.JSONEq(t, `{"ticket":"T-1"}`, body)
	}
	require.Len(t, rc.Events(), 1)
	require.Equal(t, 2, rc.Requests())
	require.Empty(t, rc.Errors())
}

// The receiver must catch what a careless gateway would send, or its approval means nothing.
func TestReceiverRefusesWhatBreaksTheContract(t *testing.T) {
	tests := []struct{ name, event, key, body string }{
		{"unknown field", "conversation.opened", "open-c1", strings.Replace(opened, `"id":"c1"`, `"id":"c1","secret":"x"`, 1)},
		{"missing conversation", "conversation.opened", "open-c1", `{"event":"conversation.opened","id":"open-c1","created_at":"2026-11-22T10:00:00Z"}`},
		{"wrong channel kind", "conversation.opened", "open-c1", strings.Replace(opened, `"telegram"`, `"pigeon"`, 1)},
		{"key differs from id", "conversation.opened", "open-c2", opened},
		{"unknown event header", "ticket.exploded", "open-c1", opened},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc, srv := newReceiver(t)
			status, _ := send(t, srv.URL, tt.event, tt.key, tt.body, true)
			require.Equal(t, http.StatusBadRequest, status)
			require.NotEmpty(t, rc.Errors())
			require.Empty(t, rc.Events())
		})
	}
	t.Run("unsigned", func(t *testing.T) {
		rc, srv := newReceiver(t)
		status, _ := send(t, srv.URL, "conversation.opened", "open-c1", opened, false)
		require.Equal(t, http.StatusUnauthorized, status)
		require.Empty(t, rc.Events())
	})
}

func TestReceiverFaults(t *testing.T) {
	rc, srv := newReceiver(t)
	rc.Inject(webhookreceiver.Fault{Status: 503}, webhookreceiver.Fault{Status: 429, RetryAfter: "3"})
	status, _ := send(t, srv.URL, "conversation.opened", "open-c1", opened, true)
	require.Equal(t, http.StatusServiceUnavailable, status)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL, strings.NewReader("{}"))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	require.Equal(t, "3", resp.Header.Get("Retry-After"))
	status, _ = send(t, srv.URL, "conversation.opened", "open-c1", opened, true)
	require.Equal(t, http.StatusOK, status, "faults are used up")
	require.Empty(t, rc.Errors())
}

// TestContractIsValid loads docs/webhook-openapi.yaml; the loader also checks every example
// in it against its schema, so the published examples cannot drift from the schemas.
func TestContractIsValid(t *testing.T) {
	c, err := webhookreceiver.LoadContract(context.Background(), webhookreceiver.DocPath())
	require.NoError(t, err)
	for _, p := range []string{webhookreceiver.OperatorPath, "/hooks/{instance}", "/api/v1/helpdesks/{instance}/replies", "/hooks/{instance}/attachments/{sha256}"} {
		require.NotNil(t, c.Doc().Paths.Value(p), "contract lacks %s", p)
	}
}
