package chatwoot

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors/settings"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/test/chatwootfake"
	"github.com/casino-support/gateway/test/conformance"
	"github.com/casino-support/gateway/test/openapicontract"
)

// TestSpeaksChatwootsContract runs what the connector does (a new player with a file, an
// Update, a retried message, a known player's second conversation, a follow-up) with every
// exchange checked against Chatwoot's published description (testdata/chatwoot-openapi.yaml).
func TestSpeaksChatwootsContract(t *testing.T) {
	contract, err := openapicontract.Load(t.Context(), "testdata/chatwoot-openapi.yaml", "/api/", nil)
	require.NoError(t, err)
	fake := chatwootfake.New(t, chatwootfake.Options{})
	cfg := DefaultConfig()
	cfg.URL, cfg.AccountID, cfg.InboxID, cfg.APIToken, cfg.WebhookSecret = fake.URL, fake.AccountID(), fake.InboxID(), settings.Secret(fake.Token()), testSecret
	bl := &conformance.MemBlobs{}
	hd, err := New("chatwoot-contract", *cfg, Deps{Blobs: bl, Client: &http.Client{Transport: contract, Timeout: 10 * time.Second}})
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	conv := normalize.Conversation{ID: normalize.NewConversationID(), Channel: "tg", ChannelKind: normalize.KindTelegram, Address: "555",
		Tags: []string{"payments"}, Priority: normalize.PriorityHigh, Player: normalize.Author{DisplayName: "Pat", VIPTier: 1}}
	file, err := bl.Put(ctx, bytes.NewReader([]byte("\x89PNG fake")), "screenshot.png", "image/png")
	require.NoError(t, err)
	first := deliveries(conv, "my deposit is missing")
	first[0].Attachments = []normalize.Attachment{file}
	ref, _, err := hd.Post(ctx, conv, first)
	require.NoError(t, err)

	conv.Ticket = ref
	up := deliveries(conv, "VIP tier now 3")
	up[0].Kind, up[0].Update = normalize.KindSystem, &normalize.Update{Changed: []normalize.Field{normalize.FieldVIPTier}, VIPTier: 3, Priority: normalize.PriorityHigh}
	again := retried(deliveries(conv, "any news?")) // looked up by source_id first
	_, _, err = hd.Post(ctx, conv, append(up, again...))
	require.NoError(t, err)

	// Another process (nothing cached) opens the same player's follow-up.
	other, err := New("chatwoot-contract", *cfg, Deps{Client: &http.Client{Transport: contract, Timeout: 10 * time.Second}})
	require.NoError(t, err)
	conv.Ticket, conv.FollowUpOf = "", ref
	_, _, err = other.Post(ctx, conv, deliveries(conv, "one more question"))
	require.NoError(t, err)

	// An agent answers; the reconciling poll reads the inbox.
	_, _, _ = fake.AgentReply(ctx, ticketID(t, ref), chatwootfake.Agent{ID: 7, Name: "Alice"}, "We found it", false)
	sink := &conformance.RecordingSink{}
	require.NoError(t, hd.pollOnce(ctx, sink))
	require.NotEmpty(t, sink.Messages(), "the poll found the reply")

	require.Empty(t, contract.Problems(), "exchanges that depart from Chatwoot's description")
	for _, op := range []string{
		"POST /api/v1/accounts/{account_id}/contacts", "GET /api/v1/accounts/{account_id}/contacts/search",
		"POST /api/v1/accounts/{account_id}/contacts/{id}/contact_inboxes", "GET /api/v1/accounts/{account_id}/contacts/{id}/conversations",
		"POST /api/v1/accounts/{account_id}/conversations", "GET /api/v1/accounts/{account_id}/conversations",
		"GET /api/v1/accounts/{account_id}/conversations/{conversation_id}/messages",
		"POST /api/v1/accounts/{account_id}/conversations/{conversation_id}/messages",
		"POST /api/v1/accounts/{account_id}/conversations/{conversation_id}/labels",
		"POST /api/v1/accounts/{account_id}/conversations/{conversation_id}/custom_attributes",
		"POST /api/v1/accounts/{account_id}/conversations/{conversation_id}/toggle_priority",
	} {
		require.Positive(t, contract.Checked(op), "%s was never exercised", op)
	}

	// The check is no formality: a conversation without its required source_id departs.
	err = hd.api.do(ctx, http.MethodPost, "/conversations", nil, map[string]any{"inbox_id": fake.InboxID()}, nil)
	require.Error(t, err, "the fake refuses it as Chatwoot does")
	require.NotEmpty(t, contract.Problems(), "a request without source_id passed the description")
}
