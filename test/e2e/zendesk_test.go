package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/test/zendeskfake"
)

const zendeskSecret = "e2e-zendesk-webhook-signing-secret"

// TestZendeskThroughTheBinary: Telegram and web chat players write, the gateway makes one
// Zendesk ticket per conversation with every message once and in order, even though it is
// SIGKILLed twice while Zendesk has taken a write (the ticket's creation, then a comment)
// whose answer never came back; an agent's public replies reach the players once (through
// Zendesk's signed webhook), an internal note never does, and solving the ticket makes the
// next message open a follow-up tagged with the solved one.
func TestZendeskThroughTheBinary(t *testing.T) {
	zd := zendeskfake.New()
	t.Cleanup(zd.Close)
	agent := zd.AddAgent("Alice Agent")
	var solved zendeskfake.Ticket
	runHelpdesk(t, helpdeskCase{
		name: "Zendesk", instance: "zd", kind: "zendesk", url: zd.URL,
		settings: fmt.Sprintf("    email: %s\n    token: %s\n    webhook_secret: %s\n    tags: [e2e]\n",
			zendeskfake.Email, zendeskfake.Token, zendeskSecret),
		hook:    func(url string) { zd.SetWebhook(url, zendeskSecret, true) },
		hold:    func() <-chan string { return zd.HoldWrites(1) },
		held:    []string{`^POST /api/v2/tickets`, `^PUT /api/v2/tickets/`},
		threads: func() map[string][]string { return zendeskThreads(zd) },
		already: "zendesk: message already on the ticket",
		// Requesters: messenger players by an external ID of channel and address, no e-mail.
		players: func(t *testing.T) {
			for _, tk := range zd.Tickets() {
				u, ok := zd.User(tk.RequesterID)
				require.True(t, ok)
				require.Empty(t, u.Email, "a messenger player gets no made-up address")
				require.Regexp(t, `^(tg|web):.+`, u.ExternalID)
				require.Contains(t, tk.Tags, "e2e")
			}
		},
		answer: func(_ context.Context, t *testing.T) {
			for id, tk := range zd.Tickets() {
				_, err := zd.AgentComment(id, agent, "internal: check KYC of "+tk.ExternalID, false)
				require.NoError(t, err)
				_, err = zd.AgentComment(id, agent, "Hallo, wir kümmern uns darum ("+tk.ExternalID+").", true)
				require.NoError(t, err)
			}
		},
		close: func(_ context.Context, t *testing.T, _ *env, player string) string {
			for _, tk := range zd.Tickets() {
				if u, _ := zd.User(tk.RequesterID); u.ExternalID == player {
					solved = tk
				}
			}
			require.NoError(t, zd.SetStatus(solved.ID, agent, "solved"))
			conv, _ := strings.CutPrefix(solved.ExternalID, "gateway:")
			return conv
		},
		followUp: func(t *testing.T, text string) {
			followUp := waitForTicket(t, zd.Tickets, func(tk zendeskfake.Ticket) bool {
				return tk.ExternalID == solved.ExternalID && tk.ID != solved.ID
			}, "the message after the solve opened no follow-up ticket")
			require.Contains(t, followUp.Tags, fmt.Sprintf("follow_up_of_%d", solved.ID))
			require.Len(t, followUp.Comments, 1)
			require.Contains(t, followUp.Comments[0].Body, text)
			after, _ := zd.Ticket(solved.ID)
			require.Equal(t, "solved", after.Status, "the solved ticket stays solved")
		},
		neverLogged: []string{zendeskfake.Token, zendeskSecret},
	})
}

// zendeskThreads returns the player comments of each ticket without their markers, keyed by
// the requester's external ID; a second ticket of one requester shows as a key with "#2".
func zendeskThreads(zd *zendeskfake.Server) map[string][]string {
	out := map[string][]string{}
	for _, tk := range zd.Tickets() {
		u, _ := zd.User(tk.RequesterID)
		key := u.ExternalID
		if _, dup := out[key]; dup {
			key += "#2"
		}
		texts := []string{}
		for _, c := range tk.Comments {
			if c.AuthorID == tk.RequesterID {
				texts = append(texts, markerLine.ReplaceAllString(c.Body, ""))
			}
		}
		out[key] = texts
	}
	return out
}
