package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/test/zammadfake"
)

const zammadHookToken = "e2e-zammad-hmac-signature-token"

// TestZammadThroughTheBinary: Telegram and web chat players write, the gateway makes one
// Zammad ticket per conversation with every message once and in order as the customer's,
// even though it is SIGKILLed while Zammad has taken a ticket write whose answer never came
// back; an agent's public replies reach the players once (through the trigger's signed
// webhook, which also fires for the gateway's own articles), an internal note never does;
// closing the ticket closes the conversation, and the player's next message opens a
// follow-up ticket linked to the closed one.
func TestZammadThroughTheBinary(t *testing.T) {
	zm := zammadfake.New()
	t.Cleanup(zm.Close)
	agent := zm.AddAgent("Alice Agent")
	var closed zammadfake.Ticket
	runHelpdesk(t, helpdeskCase{
		name: "Zammad", instance: "zm", kind: "zammad", url: zm.URL,
		settings: fmt.Sprintf("    token: %s\n    webhook_token: %s\n    tags: [e2e]\n    attributes:\n      language: player_language\n",
			zammadfake.Token, zammadHookToken),
		hook:    func(url string) { zm.SetWebhook(url, zammadHookToken, true) },
		hold:    func() <-chan string { return zm.HoldWrites(1) },
		held:    []string{`^POST /api/v1/tickets$`},
		threads: func() map[string][]string { return zammadThreads(zm) },
		already: "zammad: message already on the ticket",
		// Customers: messenger players by a login of channel and address, no e-mail.
		players: func(t *testing.T) {
			for _, tk := range zm.Tickets() {
				u, ok := zm.User(tk.CustomerID)
				require.True(t, ok)
				require.Empty(t, u.Email, "a messenger player gets no made-up address")
				require.Regexp(t, `^gateway:(tg|web):.+`, u.Login)
				require.Contains(t, tk.Tags, "e2e")
				require.NotEmpty(t, tk.Attributes["gateway_conversation"])
			}
		},
		answer: func(_ context.Context, t *testing.T) {
			for id := range zm.Tickets() {
				_, err := zm.AgentArticle(id, agent, fmt.Sprintf("internal: check KYC of #%d", id), true)
				require.NoError(t, err)
				_, err = zm.AgentArticle(id, agent, fmt.Sprintf("<p>Hallo, wir kümmern uns darum (#%d).</p>", id), false)
				require.NoError(t, err)
			}
		},
		close: func(_ context.Context, t *testing.T, _ *env, player string) string {
			for _, tk := range zm.Tickets() {
				if u, _ := zm.User(tk.CustomerID); u.Login == "gateway:"+player {
					closed = tk
				}
			}
			require.NoError(t, zm.SetState(closed.ID, agent, "closed"))
			conv, _ := closed.Attributes["gateway_conversation"].(string)
			return conv
		},
		followUp: func(t *testing.T, text string) {
			followUp := waitForTicket(t, zm.Tickets, func(tk zammadfake.Ticket) bool {
				return tk.Attributes["gateway_conversation"] == closed.Attributes["gateway_conversation"] && tk.ID != closed.ID
			}, "the message after the close opened no follow-up ticket")
			require.Equal(t, []int64{closed.ID}, zm.Links(followUp.ID), "the follow-up is linked to the closed ticket")
			require.Len(t, followUp.Articles, 1)
			require.Contains(t, followUp.Articles[0].Body, text)
			after, _ := zm.Ticket(closed.ID)
			require.Equal(t, "closed", after.State, "the closed ticket stays closed")
		},
		// The reconciling poll at start must be a query Zammad answers.
		neverLogged: []string{zammadfake.Token, zammadHookToken, "zammad: poll failed"},
	})
}

// zammadThreads returns the customer's articles of each ticket without their markers, keyed
// by the customer's login without its "gateway:"; a second ticket of one customer shows as a
// key with "#2".
func zammadThreads(zm *zammadfake.Server) map[string][]string {
	out := map[string][]string{}
	for _, tk := range zm.Tickets() {
		u, _ := zm.User(tk.CustomerID)
		key := strings.TrimPrefix(u.Login, "gateway:")
		if _, dup := out[key]; dup {
			key += "#2"
		}
		texts := []string{}
		for _, a := range tk.Articles {
			if a.Sender == "Customer" {
				texts = append(texts, markerLine.ReplaceAllString(a.Body, ""))
			}
		}
		out[key] = texts
	}
	return out
}
