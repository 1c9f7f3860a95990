package zendesk

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/test/conformance"
	"github.com/casino-support/gateway/test/openapicontract"
	"github.com/casino-support/gateway/test/zendeskfake"
)

// TestSpeaksZendesksContract runs what the connector does (a ticket with a file, comments,
// an Update, a follow-up of a closed ticket, agents' replies read from audits, the poller's
// export) with every exchange checked against the published description.
func TestSpeaksZendesksContract(t *testing.T) {
	// Every request the connector sends and every answer the fake gives is checked against
	// Zendesk's published OpenAPI description (testdata/zendesk-openapi.yaml).
	contract, err := openapicontract.Load(t.Context(), "testdata/zendesk-openapi.yaml", "/api/", nil)
	require.NoError(t, err)
	zd := zendeskfake.New()
	t.Cleanup(zd.Close)
	zd.ExportPage = 1
	cfg := DefaultConfig()
	cfg.URL, cfg.Email, cfg.Token, cfg.WebhookSecret, cfg.ReconcileInterval = zd.URL, zendeskfake.Email, zendeskfake.Token, testSecret, 0
	cfg.Fields = Fields{Language: 11, VIPTier: 12}
	bl := &conformance.MemBlobs{}
	hd, err := New("zendesk-contract", *cfg, Deps{Blobs: bl, Client: &http.Client{Transport: contract, Timeout: 10 * time.Second}})
	require.NoError(t, err)
	zd.SetWebhook(newHookServer(t, hd), testSecret, false)
	agent := zd.AddAgent("Alice Agent")
	sink := &conformance.RecordingSink{}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- hd.Run(ctx, sink) }()
	t.Cleanup(func() { cancel(); <-done })

	conv := conversation(normalize.KindTelegram, "555")
	file, err := bl.Put(t.Context(), bytes.NewReader([]byte("\x89PNG fake")), "screenshot.png", "image/png")
	require.NoError(t, err)
	first := delivery(conv, "my deposit is missing")
	first.Attachments = []normalize.Attachment{file}
	ref, _, err := hd.Post(t.Context(), conv, []connectors.Delivery{first})
	require.NoError(t, err)
	conv.Ticket = ref
	up := delivery(conv, "VIP tier now 3")
	up.Kind, up.Update = normalize.KindSystem, &normalize.Update{Changed: []normalize.Field{normalize.FieldVIPTier}, VIPTier: 3, Priority: normalize.PriorityHigh}
	retry := delivery(conv, "any news?")
	retry.Attempt = 2 // looked up by marker first
	_, _, err = hd.Post(t.Context(), conv, []connectors.Delivery{up, retry})
	require.NoError(t, err)

	id := ticketID(t, ref)
	_, err = zd.AgentComment(id, agent, "We found it", true, zendeskfake.File{Name: "receipt.pdf", Type: "application/pdf", Content: []byte("%PDF")})
	require.NoError(t, err)
	require.NoError(t, zd.SetStatus(id, agent, "closed"))
	require.NoError(t, zd.Notify(id))
	require.Len(t, sink.Messages(), 2, "the reply and the status change")

	conv.Status = normalize.StatusClosed
	_, _, err = hd.Post(t.Context(), conv, []connectors.Delivery{delivery(conv, "one more question")})
	require.NoError(t, err)
	require.NoError(t, hd.pollOnce(t.Context(), sink))

	require.Empty(t, contract.Problems(), "exchanges that depart from Zendesk's description")
	for _, op := range []string{"POST /api/v2/tickets", "GET /api/v2/tickets", "GET /api/v2/tickets/{ticket_id}", "PUT /api/v2/tickets/{ticket_id}",
		"GET /api/v2/tickets/{ticket_id}/comments", "GET /api/v2/tickets/{ticket_id}/audits", "POST /api/v2/users/create_or_update",
		"GET /api/v2/users/{user_id}", "POST /api/v2/uploads", "GET /api/v2/incremental/tickets/cursor"} {
		require.Positive(t, contract.Checked(op), "%s was never exercised", op)
	}
}
