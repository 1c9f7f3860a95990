package e2e

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/test/chatwootfake"
)

const chatwootSecret = "e2e-chatwoot-inbox-webhook-secret"

// TestChatwootThroughTheBinary: Telegram and web chat players write, the gateway makes one
// Chatwoot conversation per gateway conversation, every message once and in order as the
// contact's, even though it is SIGKILLed while Chatwoot has taken a message whose answer
// never came back; an agent's public replies reach the players once through the inbox's
// signed webhook, a private note never does, assigning and resolving the conversation reach
// the gateway's, and the player's next message opens a follow-up naming the resolved one.
func TestChatwootThroughTheBinary(t *testing.T) {
	cw := chatwootfake.New(t, chatwootfake.Options{Token: "e2e-chatwoot-api-token", AccountID: 3, InboxID: 8})
	agent := chatwootfake.Agent{ID: 7, Name: "Ana Agente"}
	var before map[int]chatwootfake.Conversation
	runHelpdesk(t, helpdeskCase{
		name: "Chatwoot", instance: "cw", kind: "chatwoot", url: cw.URL,
		settings: fmt.Sprintf("    account_id: 3\n    inbox_id: 8\n    api_token: %s\n    webhook_secret: %s\n", cw.Token(), chatwootSecret),
		hook:     func(url string) { cw.SetWebhook(chatwootfake.Webhook{URL: url, Secret: chatwootSecret}) },
		hold:     func() <-chan string { return cw.HoldMessages(1) },
		release:  cw.Release,
		held:     []string{`^POST /api/v1/accounts/3/conversations/\d+/messages `},
		threads:  func() map[string][]string { return chatwootThreads(cw) },
		players: func(t *testing.T) {
			for _, c := range cw.Contacts() {
				require.Empty(t, c.Email, "a messenger player gets no made-up address")
				require.Regexp(t, `^(tg|web):.+`, c.Identifier)
			}
		},
		answer: func(ctx context.Context, t *testing.T) {
			for id := range cw.Conversations() {
				require.NoError(t, retry(ctx, func() error {
					_, _, err := cw.AgentReply(ctx, id, agent, "internal: check KYC of #"+strconv.Itoa(id), true)
					return err
				}))
				require.NoError(t, retry(ctx, func() error {
					_, _, err := cw.AgentReply(ctx, id, agent, "Olá, wir kümmern uns darum (#"+strconv.Itoa(id)+").", false)
					return err
				}))
			}
		},
		// Chatwoot's agents assign and resolve every conversation, and both reach the gateway.
		close: func(ctx context.Context, t *testing.T, e *env, player string) string {
			for id := range cw.Conversations() {
				require.NoError(t, retry(ctx, func() error { _, err := cw.SetAssignee(ctx, id, &agent); return err }))
				require.NoError(t, retry(ctx, func() error { _, err := cw.SetStatus(ctx, id, "resolved"); return err }))
			}
			e.waitMetrics(t, `gateway_chatwoot_webhooks_total{helpdesk="cw",outcome="assignment"} 3`,
				`gateway_chatwoot_webhooks_total{helpdesk="cw",outcome="status"} 3`)
			before = cw.Conversations()
			contacts := map[int]string{}
			for _, c := range cw.Contacts() {
				contacts[c.ID] = c.Identifier
			}
			for _, c := range before {
				if contacts[c.ContactID] == player {
					return fmt.Sprint(c.CustomAttributes["gateway_conversation"])
				}
			}
			t.Fatalf("no conversation of %s", player)
			return ""
		},
		// The follow-up is a new conversation that names the resolved one.
		followUp: func(t *testing.T, text string) {
			followUp := waitForTicket(t, cw.Conversations, func(c chatwootfake.Conversation) bool {
				_, old := before[c.ID]
				return !old && len(c.Messages) > 0
			}, "the player's message after the close opened no follow-up")
			old, err := strconv.Atoi(fmt.Sprint(followUp.CustomAttributes["follow_up_of"]))
			require.NoError(t, err, "the follow-up names the resolved conversation: %v", followUp.CustomAttributes)
			require.Equal(t, "resolved", before[old].Status)
			require.Equal(t, text, followUp.Messages[0].Content)
			require.Len(t, cw.Conversations(), len(before)+1, "one follow-up")
		},
		neverLogged: []string{cw.Token(), chatwootSecret},
	})
}

// chatwootThreads returns the player messages of each conversation, keyed by the contact's
// identifier; a second conversation of one contact shows as a key with "#2".
func chatwootThreads(cw *chatwootfake.Server) map[string][]string {
	ids := map[int]string{}
	for _, c := range cw.Contacts() {
		ids[c.ID] = c.Identifier
	}
	out := map[string][]string{}
	for _, c := range cw.Conversations() {
		key := ids[c.ContactID]
		if _, dup := out[key]; dup {
			key += "#2"
		}
		texts := []string{}
		for _, m := range c.Messages {
			if m.Type == chatwootfake.Incoming {
				texts = append(texts, m.Content)
			}
		}
		out[key] = texts
	}
	return out
}
