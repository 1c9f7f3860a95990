package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize/htmltext"
	"github.com/casino-support/gateway/test/helpscoutfake"
)

const helpscoutSecret = "e2e-helpscout-webhook-secret-key"

// TestHelpScoutThroughTheBinary: Telegram and web chat players write, the gateway makes one
// Help Scout conversation per gateway conversation with every message once and in order as
// the customer's, even though it is SIGKILLed twice while Help Scout has taken a write (the
// conversation's creation, then a customer thread) whose answer never came back; an agent's
// replies reach the players once (through Help Scout's signed webhook), a note never does,
// and closing the conversation makes the next message open a follow-up tagged with the
// closed one.
func TestHelpScoutThroughTheBinary(t *testing.T) {
	hs := helpscoutfake.New()
	t.Cleanup(hs.Close)
	agent := hs.AddAgent("Alice", "Agent")
	var closed helpscoutfake.Conversation
	var conv string
	runHelpdesk(t, helpdeskCase{
		name: "Help Scout", instance: "hs", kind: "helpscout", url: hs.URL,
		settings: fmt.Sprintf("    client_id: %s\n    client_secret: %s\n    mailbox_id: %d\n    webhook_secret: %s\n    tags: [e2e]\n",
			helpscoutfake.ClientID, helpscoutfake.ClientSecret, helpscoutfake.MailboxID, helpscoutSecret),
		hook:    func(url string) { hs.SetWebhook(url, helpscoutSecret, true) },
		hold:    func() <-chan string { return hs.HoldWrites(1) },
		held:    []string{`^POST /v2/conversations$`, `^POST /v2/conversations/[0-9]+/customer$`},
		threads: func() map[string][]string { return helpscoutThreads(hs) },
		already: "helpscout: message already in the conversation",
		// Customers: messenger players with no e-mail, their channel and address a chat handle.
		players: func(t *testing.T) {
			for _, c := range hs.Conversations() {
				cust, ok := hs.Customer(c.CustomerID)
				require.True(t, ok)
				require.Empty(t, cust.Emails, "a messenger player gets no made-up address")
				require.Contains(t, c.Tags, "e2e")
				require.Equal(t, "chat", c.Type)
				for _, th := range c.Threads {
					require.Equal(t, "customer", th.Type, "a player's message is the customer's")
				}
			}
		},
		answer: func(_ context.Context, t *testing.T) {
			for id := range hs.Conversations() {
				_, err := hs.AgentNote(id, agent, fmt.Sprintf("internal: check KYC of %d", id))
				require.NoError(t, err)
				_, err = hs.AgentReply(id, agent, fmt.Sprintf("Hallo, wir kümmern uns darum (%d).", id))
				require.NoError(t, err)
			}
		},
		close: func(_ context.Context, t *testing.T, _ *env, player string) string {
			for _, c := range hs.Conversations() {
				if cust, _ := hs.Customer(c.CustomerID); len(cust.Chats) > 0 && cust.Chats[0]["value"] == player {
					closed = c
				}
			}
			require.NoError(t, hs.SetStatus(closed.ID, agent, "closed"))
			for _, tag := range closed.Tags {
				if c, ok := strings.CutPrefix(tag, "gw-"); ok {
					conv = c
				}
			}
			return conv
		},
		followUp: func(t *testing.T, text string) {
			followUp := waitForTicket(t, hs.Conversations, func(c helpscoutfake.Conversation) bool {
				return c.ID != closed.ID && strings.Contains(strings.Join(c.Tags, " "), "gw-"+conv)
			}, "the message after the close opened no follow-up")
			require.Contains(t, followUp.Tags, fmt.Sprintf("follow-up-of-%d", closed.ID))
			require.Len(t, followUp.Threads, 1)
			require.Contains(t, followUp.Threads[0].Body, text)
			require.Equal(t, closed.CustomerID, followUp.CustomerID, "the follow-up keeps the player's customer")
			after, _ := hs.Conversation(closed.ID)
			require.Equal(t, "closed", after.Status, "the closed conversation stays closed")
		},
		neverLogged: []string{helpscoutfake.ClientSecret, helpscoutSecret},
	})
}

// helpscoutThreads returns the customer threads of each conversation without their markers,
// keyed by the customer's chat handle; a second conversation of one customer shows as "#2".
func helpscoutThreads(hs *helpscoutfake.Server) map[string][]string {
	out := map[string][]string{}
	for _, c := range hs.Conversations() {
		cust, _ := hs.Customer(c.CustomerID)
		key := fmt.Sprint(c.CustomerID)
		if len(cust.Chats) > 0 {
			key = cust.Chats[0]["value"]
		}
		if _, dup := out[key]; dup {
			key += "#2"
		}
		texts := []string{}
		for _, th := range c.Threads {
			if th.Type == "customer" {
				texts = append(texts, markerLine.ReplaceAllString(htmltext.Text(th.Body), ""))
			}
		}
		out[key] = texts
	}
	return out
}
