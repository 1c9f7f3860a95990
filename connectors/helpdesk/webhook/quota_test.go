package webhook_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors/helpdesk/webhook"
	"github.com/casino-support/gateway/router/store/blobs"
)

// A reply whose files find the gateway's attachment storage full is not stored, and the sender
// is told why and asked to retry later, not every second; the reply itself was fine.
func TestReplyAttachmentsWhenStorageIsFull(t *testing.T) {
	full, err := blobs.Open(t.TempDir(), blobs.Options{MaxBytes: testMaxAttachment, Quota: 4})
	require.NoError(t, err)
	e := newEnvDeps(t, nil, func(d *webhook.Deps) { d.Blobs = full })
	sink := e.run(t)
	body := replyWith(t, "events", "r-1", "Ihr Formular", false, file("kyc-form.pdf", "application/pdf", pdfFile))
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, e.gateway.URL+"/api/v1/helpdesks/"+testName+"/events", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	answer, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, string(answer))
	require.Equal(t, "60", resp.Header.Get("Retry-After"))
	require.Contains(t, string(answer), "the gateway's attachment storage is full")
	require.Empty(t, sink.Messages())
}
