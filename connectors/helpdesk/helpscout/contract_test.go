package helpscout

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/settings"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/test/conformance"
	"github.com/casino-support/gateway/test/helpscoutfake"
	"github.com/casino-support/gateway/test/openapicontract"
)

// TestSpeaksHelpScoutsContract runs what the connector does (a token, a new player with a
// file, an Update with custom fields, a retried message, a follow-up of a closed conversation
// and a reopen, an agent's reply with a file and a close read by the hook and by the poll)
// with every exchange checked against the operations Help Scout's API reference documents
// (testdata/helpscout-openapi.yaml, transcribed: Help Scout publishes no OpenAPI description).
func TestSpeaksHelpScoutsContract(t *testing.T) {
	contract, err := openapicontract.Load(t.Context(), "testdata/helpscout-openapi.yaml", "/v2/", nil)
	require.NoError(t, err)
	hs := helpscoutfake.New()
	t.Cleanup(hs.Close)
	hs.ThreadPage = 2
	cfg := DefaultConfig()
	cfg.URL, cfg.ClientID, cfg.ClientSecret, cfg.MailboxID, cfg.WebhookSecret = hs.URL, helpscoutfake.ClientID, helpscoutfake.ClientSecret, helpscoutfake.MailboxID, testSecret
	cfg.Fields = Fields{Language: 11, VIPTier: 12}
	client := &http.Client{Transport: contract, Timeout: 10 * time.Second}
	bl := &conformance.MemBlobs{}
	hd, err := New("helpscout-contract", *cfg, Deps{Blobs: bl, Client: client})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	conv := newConv(normalize.KindTelegram, "555")
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

	// An agent answers with a file and closes; the hook's sync reads the conversation.
	agent := hs.AddAgent("Alice", "Agent")
	_, err = hs.AgentReply(convID(t, ref), agent, "We found it", helpscoutfake.File{Name: "receipt.pdf", Type: "application/pdf", Content: []byte("%PDF")})
	require.NoError(t, err)
	require.NoError(t, hs.SetStatus(convID(t, ref), agent, "closed"))
	sink := &conformance.RecordingSink{}
	require.NoError(t, hd.syncConversation(ctx, sink, convID(t, ref)))
	require.Len(t, sink.Messages(), 2, "the reply and the close")

	// The player writes again: a follow-up; under reopen, the closed one is set active.
	conv.Ticket, conv.FollowUpOf, conv.Status = "", ref, normalize.StatusClosed
	next, _, err := hd.Post(ctx, conv, []connectors.Delivery{delivery(conv, "one more question")})
	require.NoError(t, err)
	require.NotEqual(t, ref, next)
	require.NoError(t, hs.SetStatus(convID(t, next), agent, "closed"))
	cfg.ClosedTicket = settings.ClosedReopen
	reopener, err := New("helpscout-contract", *cfg, Deps{Client: client})
	require.NoError(t, err)
	conv.Ticket, conv.FollowUpOf = next, ""
	_, _, err = reopener.Post(ctx, conv, []connectors.Delivery{delivery(conv, "and another")})
	require.NoError(t, err)

	// The poll finds what changed.
	hd.forgetSeen(convID(t, ref))
	require.NoError(t, hd.pollOnce(ctx, &conformance.RecordingSink{}))

	require.Empty(t, contract.Problems(), "exchanges that depart from Help Scout's documented API")
	for _, op := range []string{
		"POST /v2/oauth2/token", "POST /v2/customers", "GET /v2/conversations", "POST /v2/conversations",
		"GET /v2/conversations/{conversationId}", "PATCH /v2/conversations/{conversationId}",
		"PUT /v2/conversations/{conversationId}/tags", "PUT /v2/conversations/{conversationId}/fields",
		"POST /v2/conversations/{conversationId}/customer", "POST /v2/conversations/{conversationId}/notes",
		"GET /v2/conversations/{conversationId}/threads", "GET /v2/conversations/{conversationId}/attachments/{attachmentId}/data",
	} {
		require.Positive(t, contract.Checked(op), "%s was never exercised", op)
	}
}
