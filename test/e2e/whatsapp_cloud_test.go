package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/test/loopback"
	"github.com/casino-support/gateway/test/whatsappfake"
)

// TestWhatsAppCloudThroughTheBinary: Meta's verification request and signed webhooks reach the
// gateway, a player's message becomes a ticket, the agent's reply reaches the player through
// the Graph API (threaded to the message it answers), a forged webhook is refused with nothing
// stored, and a reply outside the 24-hour window is refused with a note to the agents.
func TestWhatsAppCloudThroughTheBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test builds and runs the binary")
	}
	const (
		phoneNumberID = "106540352242922"
		accessToken   = "EAAG-e2e-access-token"
		appSecret     = "e2e-app-secret"
		verifyToken   = "e2e-verify-token"
	)
	fake := whatsappfake.New(whatsappfake.Options{PhoneNumberID: phoneNumberID, AccessToken: accessToken, AppSecret: appSecret})
	api := httptest.NewServer(fake)
	t.Cleanup(api.Close)
	e := newEnvWith(t, "  backoff_base: 50ms", func(string) string {
		return fmt.Sprintf(`  - name: wa
    type: whatsapp-cloud
    phone_number_id: %q
    access_token: %q
    app_secret: %q
    verify_token: %q
    api_url: %s
    rate_limit: {per_chat_interval: 0s, global_per_second: 1000, burst: 100}
`, phoneNumberID, accessToken, appSecret, verifyToken, api.URL)
	})
	fake.SetHookURL(e.base + "/hooks/wa")
	e.start()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	status, challenge, err := fake.Verify(ctx, "subscribe", verifyToken, "challenge-2718")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "challenge-2718", challenge, "Meta's verification request is answered with its challenge")

	// A forged notification is refused, and nothing of it reaches the helpdesk.
	forged, _ := fake.MessageNotification(whatsappfake.Incoming{From: "491701111111", Name: "Mallory", Text: "forged: close my account"})
	status, err = fake.PostForged(ctx, forged)
	require.NoError(t, err)
	require.Equal(t, http.StatusForbidden, status)

	// The player writes; the helpdesk gets a ticket.
	const player = "491702222222"
	body, asked := fake.MessageNotification(whatsappfake.Incoming{From: player, Name: "Jana", Text: "Wo bleibt meine Auszahlung?"})
	require.NoError(t, fake.Deliver(ctx, body, asked))
	tk := waitWhatsAppTicket(t, e, "+"+player)
	require.Equal(t, "Wo bleibt meine Auszahlung?", tk.Messages[0].Text)

	// The agent answers that message; the reply goes through the Graph API, threaded to it.
	e.waitMetrics(t, `gateway_queue_depth{direction="inbound"} 0`)
	require.NoError(t, e.agentReplyTo(ctx, tk.ID, "r-1", "Sie ist unterwegs.", tk.Messages[0].ID))
	require.Eventually(t, func() bool { return len(fake.Sent(player)) > 0 }, 30*time.Second, 20*time.Millisecond, "the reply never reached the Graph API")
	sent := fake.Sent(player)
	require.Len(t, sent, 1)
	require.Equal(t, "text", sent[0].Type)
	require.Equal(t, "Sie ist unterwegs.", sent[0].Text)
	require.Equal(t, asked, sent[0].ReplyTo, "the reply quotes the player's message")

	// Meta reports it read: the reply, found by its wamid, shows read. Meta learns the wamid
	// when the gateway does, from the send's answer; the fake counts the send when it comes, so
	// the report waits until the gateway recorded the reply sent.
	require.Eventually(t, func() bool { return slices.Contains(outboundStates(e, tk.ConversationID), "sent") },
		30*time.Second, 20*time.Millisecond, "the reply was never recorded sent")
	require.NoError(t, fake.Deliver(ctx, fake.StatusNotification(sent[0].ID, player, "read", 0, ""), sent[0].ID))
	require.Eventually(t, func() bool { return slices.Contains(outboundStates(e, tk.ConversationID), "read") },
		30*time.Second, 50*time.Millisecond, "the read status never reached the reply")

	// A player whose last message is 25 hours old cannot get a free-form reply: the helpdesk is
	// told that a template is needed, and nothing reaches the Graph API.
	const late = "491703333333"
	body, lateID := fake.MessageNotification(whatsappfake.Incoming{From: late, Name: "Tom", Text: "Hallo?", Time: time.Now().Add(-25 * time.Hour)})
	require.NoError(t, fake.Deliver(ctx, body, lateID))
	lateTicket := waitWhatsAppTicket(t, e, "+"+late)
	e.waitMetrics(t, `gateway_queue_depth{direction="inbound"} 0`)
	require.NoError(t, e.agentReply(ctx, lateTicket.ID, "r-2", "Wie können wir helfen?"))
	require.Eventually(t, func() bool {
		for _, m := range e.helpdesk.Tickets()[lateTicket.ConversationID].Messages {
			if strings.Contains(m.Text, "more than 24 hours old") && strings.Contains(m.Text, "template") {
				return true
			}
		}
		return false
	}, 30*time.Second, 20*time.Millisecond, "the agents were never told the reply needs a template")
	require.Empty(t, fake.Sent(late), "nothing reached the player outside the window")

	for _, tk := range e.helpdesk.Tickets() {
		for _, m := range tk.Messages {
			require.NotContains(t, m.Text, "forged", "a forged webhook stored nothing")
		}
	}
	require.Contains(t, e.metrics(), `gateway_whatsapp_webhook_refusals_total{channel="wa",reason="signature"} 1`)
	require.False(t, e.logs.Contains(accessToken), "the access token never reaches the logs")
	require.False(t, e.logs.Contains(appSecret), "the app secret never reaches the logs")
}

// waitWhatsAppTicket returns the ticket of the player at address once it exists.
func waitWhatsAppTicket(t *testing.T, e *env, address string) loopback.Ticket {
	t.Helper()
	var found loopback.Ticket
	require.Eventually(t, func() bool {
		for _, tk := range e.helpdesk.Tickets() {
			if tk.Address == address && len(tk.Messages) > 0 {
				found = tk
				return true
			}
		}
		return false
	}, 30*time.Second, 20*time.Millisecond, "no ticket for %s", address)
	return found
}

// outboundStates returns the delivery states of the outbound messages of conv, as the API
// shows them.
func outboundStates(e *env, conv string) []string {
	var page struct {
		Messages []struct {
			Message struct {
				Direction string `json:"direction"`
				State     string `json:"state"`
			} `json:"message"`
		} `json:"messages"`
	}
	e.api("GET", "/api/v1/conversations/"+conv+"/messages", nil, &page)
	var states []string
	for _, m := range page.Messages {
		if m.Message.Direction == "outbound" {
			states = append(states, m.Message.State)
		}
	}
	return states
}
