package freshdesk

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
	"github.com/casino-support/gateway/test/freshdeskfake"
	"github.com/casino-support/gateway/test/openapicontract"
)

// TestSpeaksFreshdesksContract runs what the connector does (a contact, a ticket with a
// file, notes with and without files, an Update, a retry's look-ups, agents' replies read
// from the conversations, a follow-up, the poller, a refusal and the quota's 429) with every
// exchange checked against the description transcribed from Freshdesk's reference
// (testdata/freshdesk-openapi.yaml).
func TestSpeaksFreshdesksContract(t *testing.T) {
	contract, err := openapicontract.Load(t.Context(), "testdata/freshdesk-openapi.yaml", "/api/", nil)
	require.NoError(t, err)
	fd := freshdeskfake.New()
	t.Cleanup(fd.Close)
	cfg := DefaultConfig()
	cfg.URL, cfg.APIKey, cfg.WebhookSecret, cfg.ReconcileInterval = fd.URL, freshdeskfake.APIKey, testSecret, 0
	cfg.Fields = Fields{Language: "cf_language", VIPTier: "cf_vip_tier", Channel: "cf_player_channel", SLA: "cf_sla_state", PlayerID: "cf_player_id"}
	cfg.Tags = []string{"casino_gateway"}
	bl := &conformance.MemBlobs{}
	hd, err := New("freshdesk-contract", *cfg, Deps{Blobs: bl, Client: &http.Client{Transport: contract, Timeout: 10 * time.Second}})
	require.NoError(t, err)
	agent := fd.AddAgent("Alice Agent")
	sink := &conformance.RecordingSink{}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- hd.Run(ctx, sink) }()
	t.Cleanup(func() { cancel(); <-done })

	conv := newConv(normalize.KindTelegram, "555")
	file, err := bl.Put(t.Context(), bytes.NewReader([]byte("\x89PNG fake")), "screenshot.png", "image/png")
	require.NoError(t, err)
	first := delivery(conv, "my deposit is missing")
	first.Attachments = []normalize.Attachment{file}
	ref, _, err := hd.Post(t.Context(), conv, []connectors.Delivery{first})
	require.NoError(t, err)
	conv.Ticket = ref
	up := delivery(conv, "VIP tier now 3")
	up.Kind, up.Update = normalize.KindSystem, &normalize.Update{Changed: []normalize.Field{normalize.FieldVIPTier}, VIPTier: 3, Priority: normalize.PriorityHigh}
	withFile := delivery(conv, "the receipt")
	withFile.Attachments = []normalize.Attachment{file}
	retry := delivery(conv, "any news?")
	retry.Attempt = 2 // looked up by marker first
	_, _, err = hd.Post(t.Context(), conv, []connectors.Delivery{up, withFile, retry})
	require.NoError(t, err)

	id := ticketID(t, ref)
	_, err = fd.AgentReply(id, agent, "We found it", freshdeskfake.File{Name: "receipt.pdf", ContentType: "application/pdf", Content: []byte("%PDF")})
	require.NoError(t, err)
	require.NoError(t, fd.SetStatus(id, freshdeskfake.StatusResolved))
	require.NoError(t, hd.syncTicket(t.Context(), sink, id))
	require.Len(t, sink.Messages(), 2, "the reply and the status change")

	conv.Ticket, conv.FollowUpOf = "", ref
	_, _, err = hd.Post(t.Context(), conv, []connectors.Delivery{delivery(conv, "one more question")})
	require.NoError(t, err)
	require.NoError(t, hd.pollOnce(t.Context(), sink))

	// Refusals: a deleted contact, then the quota.
	tk, _ := fd.Ticket(id)
	fd.DeleteContact(tk.RequesterID)
	conv.Ticket, conv.FollowUpOf = ref, ""
	_, _, err = hd.Post(t.Context(), conv, []connectors.Delivery{delivery(conv, "refused")})
	require.Error(t, err)
	hd.cfg.SlowBelow = 0
	fd.SetRateLimit(1)
	_, _, err = hd.Post(t.Context(), conv, []connectors.Delivery{delivery(conv, "limited")})
	require.Error(t, err)

	require.Empty(t, contract.Problems(), "exchanges that depart from Freshdesk's description")
	for _, op := range []string{"GET /api/v2/contacts", "POST /api/v2/contacts", "GET /api/v2/agents/{id}", "POST /api/v2/tickets",
		"GET /api/v2/tickets", "GET /api/v2/tickets/{id}", "PUT /api/v2/tickets/{id}", "POST /api/v2/tickets/{id}/notes",
		"GET /api/v2/tickets/{id}/conversations"} {
		require.Positive(t, contract.Checked(op), "%s was never exercised", op)
	}
}
