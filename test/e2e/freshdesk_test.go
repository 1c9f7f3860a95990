package e2e

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/test/freshdeskfake"
)

const freshdeskSecret = "e2e-freshdesk-shared-webhook-secret"

// TestFreshdeskThroughTheBinary: Telegram and web chat players write, the gateway makes one
// Freshdesk ticket per conversation with every message once and in order, even though it is
// SIGKILLed twice while Freshdesk has taken a write (the ticket's creation, then a note)
// whose answer never came back; an agent's replies reach the players once (through the
// automation rule's webhook with its shared secret header), a private note never does, and
// resolving the ticket makes the next message open a follow-up tagged with the resolved one.
func TestFreshdeskThroughTheBinary(t *testing.T) {
	fd := freshdeskfake.New()
	t.Cleanup(fd.Close)
	agent := fd.AddAgent("Alice Agent")
	var resolved freshdeskfake.Ticket
	var marker string // the resolved ticket's conversation marker, which its follow-up carries too
	runHelpdesk(t, helpdeskCase{
		name: "Freshdesk", instance: "fd", kind: "freshdesk", url: fd.URL,
		settings: fmt.Sprintf("    api_key: %s\n    webhook_secret: %s\n    tags: [e2e]\n", freshdeskfake.APIKey, freshdeskSecret),
		hook:     func(url string) { fd.SetWebhook(url, "X-Gateway-Webhook-Secret", freshdeskSecret, true) },
		hold:     func() <-chan string { return fd.HoldWrites(1) },
		held:     []string{`^POST /api/v2/tickets$`, `^POST /api/v2/tickets/\d+/notes$`},
		threads:  func() map[string][]string { return freshdeskThreads(fd) },
		already:  "freshdesk: message already on the ticket",
		// Requesters: messenger players by a unique external ID of channel and address, no e-mail.
		players: func(t *testing.T) {
			contacts := fd.Contacts()
			require.Len(t, contacts, 3, "one contact per player")
			for _, c := range contacts {
				require.Nil(t, c.Email, "a messenger player gets no made-up address")
				require.NotNil(t, c.UniqueExternalID)
				require.Regexp(t, `^(tg|web):.+`, *c.UniqueExternalID)
			}
			for _, tk := range fd.Tickets() {
				require.Contains(t, tk.Tags, "e2e")
			}
		},
		answer: func(_ context.Context, t *testing.T) {
			for id := range fd.Tickets() {
				_, err := fd.AgentNote(id, agent, fmt.Sprintf("internal: check KYC of #%d", id), false)
				require.NoError(t, err)
				_, err = fd.AgentReply(id, agent, fmt.Sprintf("Hallo, wir kümmern uns darum (#%d).", id))
				require.NoError(t, err)
			}
		},
		close: func(_ context.Context, t *testing.T, _ *env, player string) string {
			for _, c := range fd.Contacts() {
				for _, tk := range fd.Tickets() {
					if c.UniqueExternalID != nil && *c.UniqueExternalID == player && tk.RequesterID == c.ID {
						resolved = tk
					}
				}
			}
			require.NotZero(t, resolved.ID)
			require.NoError(t, fd.SetStatus(resolved.ID, freshdeskfake.StatusResolved))
			m := convMarker.FindStringSubmatch(resolved.Description)
			require.NotNil(t, m, "the ticket's description names its conversation")
			marker = m[0]
			return strings.TrimPrefix(m[1], "gateway:")
		},
		followUp: func(t *testing.T, text string) {
			followUp := waitForTicket(t, fd.Tickets, func(tk freshdeskfake.Ticket) bool {
				return tk.ID != resolved.ID && strings.Contains(tk.Description, marker)
			}, "the message after the resolve opened no follow-up ticket")
			require.Contains(t, followUp.Tags, fmt.Sprintf("follow_up_of_%d", resolved.ID))
			require.Contains(t, followUp.DescriptionText, text)
			require.Empty(t, followUp.Conversations)
			after, _ := fd.Ticket(resolved.ID)
			require.Equal(t, freshdeskfake.StatusResolved, after.Status, "the resolved ticket stays resolved")
		},
		neverLogged: []string{freshdeskfake.APIKey, freshdeskSecret},
	})
}

var (
	convMarker   = regexp.MustCompile(`\[gateway-conversation: ([^\]<>\s]+)\]`)
	gatewayLines = regexp.MustCompile(`(?m)^\[gateway-[a-z-]+: [^\]]+\]\s*$`)
)

// freshdeskThreads returns the player's messages of each ticket (the description, then the
// requester's incoming notes) without their markers, keyed by the requester's unique external
// ID; a second ticket of one requester shows as a key with "#2".
func freshdeskThreads(fd *freshdeskfake.Server) map[string][]string {
	ext := map[int64]string{}
	for _, c := range fd.Contacts() {
		if c.UniqueExternalID != nil {
			ext[c.ID] = *c.UniqueExternalID
		}
	}
	clean := func(s string) string { return strings.TrimSpace(gatewayLines.ReplaceAllString(s, "")) }
	out := map[string][]string{}
	for _, tk := range fd.Tickets() {
		key := ext[tk.RequesterID]
		if _, dup := out[key]; dup {
			key += "#2"
		}
		texts := []string{clean(tk.DescriptionText)}
		for _, c := range tk.Conversations {
			if c.UserID == tk.RequesterID && c.Incoming {
				texts = append(texts, clean(c.BodyText))
			}
		}
		out[key] = texts
	}
	return out
}
