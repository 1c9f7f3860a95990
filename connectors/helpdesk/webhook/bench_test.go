package webhook_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/casino-support/gateway/connectors/helpdesk/webhook"
	"github.com/casino-support/gateway/test/webhookreceiver"
)

// BenchmarkPost is the per-message cost of the webhook helpdesk's delivery: one player's
// message appended to an open ticket, JSON-encoded, signed and POSTed to an operator's
// endpoint on loopback that verifies the signature (without the OpenAPI validation, whose
// cost is the test's, not the gateway's).
func BenchmarkPost(b *testing.B) {
	srv := httptest.NewServer(webhookreceiver.New(nil, testSecret, 5*time.Minute))
	b.Cleanup(srv.Close)
	hd, err := webhook.New(testName, webhook.Config{URL: srv.URL, Secret: testSecret, APIToken: testToken,
		Timeout: 5 * time.Second, MaxSkew: time.Minute, AttachmentURLTTL: time.Hour}, webhook.Deps{Client: &http.Client{}})
	if err != nil {
		b.Fatal(err)
	}
	conv, msgs := conversation(1)
	ticket, _, err := hd.Post(b.Context(), conv, deliveries(msgs, 1)) // opens the ticket
	if err != nil {
		b.Fatal(err)
	}
	conv.Ticket = ticket
	for b.Loop() {
		_, msgs := conversation(1)
		msgs[0].Conversation = conv.ID
		if _, _, err := hd.Post(b.Context(), conv, deliveries(msgs, 1)); err != nil {
			b.Fatal(err)
		}
	}
}
