package zammad

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
	"github.com/casino-support/gateway/test/zammadfake"
)

// TestSpeaksZammadsContract runs what the connector does (a new player with a file, an
// Update, a retried message, a known player's next conversation in another process, a
// follow-up, an agent's reply and close read by the hook and by the poll) with every exchange
// checked against the operations Zammad's API reference documents
// (testdata/zammad-openapi.yaml, transcribed: Zammad publishes no OpenAPI description).
func TestSpeaksZammadsContract(t *testing.T) {
	contract, err := openapicontract.Load(t.Context(), "testdata/zammad-openapi.yaml", "/api/", nil)
	require.NoError(t, err)
	zm := zammadfake.New()
	t.Cleanup(zm.Close)
	cfg := DefaultConfig()
	cfg.URL, cfg.Token, cfg.WebhookToken = zm.URL, zammadfake.Token, testToken
	cfg.Attributes.VIPTier = "vip_tier"
	client := &http.Client{Transport: contract, Timeout: 10 * time.Second}
	bl := &conformance.MemBlobs{}
	hd, err := New("zammad-contract", *cfg, Deps{Blobs: bl, Client: client})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	conv := conversation(normalize.KindTelegram, "555")
	file, err := bl.Put(ctx, bytes.NewReader([]byte("\x89PNG fake")), "screenshot.png", "image/png")
	require.NoError(t, err)
	first := delivery(conv, "my deposit is missing")
	first.Attachments = []normalize.Attachment{file}
	ref, _, err := hd.Post(ctx, conv, []connectors.Delivery{first})
	require.NoError(t, err)

	conv.Ticket = ref
	up := delivery(conv, "VIP tier now 3")
	up.Kind, up.Update = normalize.KindSystem, &normalize.Update{VIPTier: 3, Priority: normalize.PriorityHigh}
	again := delivery(conv, "any news?")
	again.Attempt = 2 // looked up by marker first
	_, _, err = hd.Post(ctx, conv, []connectors.Delivery{up, again})
	require.NoError(t, err)

	// An agent answers and closes; the hook reads the ticket.
	agent := zm.AddAgent("Alice Agent")
	_, err = zm.AgentArticle(ticketID(t, ref), agent, "We found it", false)
	require.NoError(t, err)
	require.NoError(t, zm.SetState(ticketID(t, ref), agent, "closed"))
	sink := &conformance.RecordingSink{}
	require.NoError(t, hd.syncTicket(ctx, sink, ticketID(t, ref)))
	require.Len(t, sink.Messages(), 2, "the reply and the close")

	// Another process (nothing cached) opens the same player's follow-up.
	other, err := New("zammad-contract", *cfg, Deps{Client: client})
	require.NoError(t, err)
	conv.Ticket, conv.FollowUpOf, conv.Status = "", ref, normalize.StatusClosed
	next, _, err := other.Post(ctx, conv, []connectors.Delivery{delivery(conv, "one more question")})
	require.NoError(t, err)
	require.NotEqual(t, ref, next)

	// The poll finds what changed.
	hd.forgetSeen(ticketID(t, ref))
	require.NoError(t, hd.pollOnce(ctx, &conformance.RecordingSink{}))

	require.Empty(t, contract.Problems(), "exchanges that depart from Zammad's documented API")
	for _, op := range []string{
		"GET /api/v1/users/search", "POST /api/v1/users", "GET /api/v1/users/{id}",
		"GET /api/v1/tickets", "POST /api/v1/tickets", "GET /api/v1/tickets/{id}", "PUT /api/v1/tickets/{id}",
		"GET /api/v1/tickets/search", "POST /api/v1/ticket_articles", "GET /api/v1/ticket_articles/by_ticket/{id}",
		"GET /api/v1/ticket_history/{id}",
	} {
		require.Positive(t, contract.Checked(op), "%s was never exercised", op)
	}

	// The check is no formality: an article without its body departs, and the fake refuses it
	// as Zammad does.
	err = hd.api.do(ctx, http.MethodPost, "/api/v1/ticket_articles", map[string]any{"ticket_id": ticketID(t, ref)}, nil, 0)
	require.Error(t, err)
	require.NotEmpty(t, contract.Problems(), "an article without a body passed the description")
}
