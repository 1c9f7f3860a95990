package zammad

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/test/conformance"
	"github.com/casino-support/gateway/test/httpfault"
)

// TestConformance runs the shared Helpdesk suite against the connector and the fake Zammad;
// the suite's faults meet the connector on its own wire.
func TestConformance(t *testing.T) {
	var envs conformance.PerTest[*env]
	notify := func(t *testing.T, e *env, ticket normalize.Ref) {
		require.Eventually(t, func() bool { return e.zm.Notify(ticketID(t, ticket)) == nil }, waitFor, tick,
			"the hook never acknowledged the webhook")
	}
	conformance.RunHelpdesk(t, conformance.HelpdeskHarness{
		New: func(t *testing.T) connectors.Helpdesk {
			e := newEnv(t, nil)
			envs.Put(t, e)
			return e.hd
		},
		Tickets: func(t *testing.T) map[normalize.ConversationID][]normalize.MessageID {
			return envs.Get(t).held(t)
		},
		AgentReply: func(t *testing.T, ticket normalize.Ref, replyID, text string) {
			e := envs.Get(t)
			e.agentReply(t, ticket, replyID, text)
			notify(t, e, ticket)
		},
		Hook: func(h connectors.Helpdesk) http.Handler { return h.(http.Handler) },
		AgentSends: func(t *testing.T, ticket normalize.Ref, replyID, text string) error {
			e := envs.Get(t)
			e.agentReply(t, ticket, replyID, text)
			return e.acks.Record(replyID, e.zm.Notify(ticketID(t, ticket)))
		},
		ReplyAcknowledged: func(t *testing.T, _ normalize.Ref, replyID string) bool {
			return envs.Get(t).acks.Acknowledged(replyID)
		},
		FailAfter: func(t *testing.T, k int, f httpfault.Fault) {
			envs.Get(t).faults.After(k, carries, f)
		},
		Blobs: func(t *testing.T) connectors.Blobs { return envs.Get(t).blobs },
		// Files reads the attachments of the article Post returned, with the bytes an agent
		// downloads from Zammad.
		Files: func(t *testing.T, ticket normalize.Ref, _ normalize.MessageID, ext normalize.ExternalID) []conformance.File {
			e := envs.Get(t)
			tk, ok := e.zm.Ticket(ticketID(t, ticket))
			require.True(t, ok, "no ticket %s", ticket)
			for _, a := range tk.Articles {
				if itoa(a.ID) != string(ext) {
					continue
				}
				out := []conformance.File{}
				for _, f := range a.Attachments {
					out = append(out, conformance.File{Name: f.Filename, MediaType: f.Preferences["Content-Type"], Content: e.zm.File(f.ID)})
				}
				return out
			}
			t.Fatalf("ticket %s has no article %s", ticket, ext)
			return nil
		},
		AgentNote: func(t *testing.T, ticket normalize.Ref, _, text string) {
			e := envs.Get(t)
			_, err := e.zm.AgentArticle(ticketID(t, ticket), e.agent, text, true)
			require.NoError(t, err)
			notify(t, e, ticket)
		},
		// A trigger on "article created" fires for the customer's articles too, the gateway's
		// own included: the echo is the webhook of the article Post wrote, after a restart
		// (forgetSeen), so nothing in memory hides it.
		EchoOf: func(t *testing.T, ticket normalize.Ref, _ connectors.Delivery, ext normalize.ExternalID) {
			e := envs.Get(t)
			e.hd.forgetSeen(ticketID(t, ticket))
			require.Eventually(t, func() bool {
				return e.zm.NotifyArticle(ticketID(t, ticket), parseID(string(ext))) == nil
			}, waitFor, tick)
		},
		// A follow-up is linked to the closed ticket by a normal link, made with the ticket.
		FollowUpOf: func(t *testing.T, ticket normalize.Ref) normalize.Ref {
			links := envs.Get(t).zm.Links(ticketID(t, ticket))
			if len(links) == 0 {
				return ""
			}
			return normalize.Ref(itoa(links[0]))
		},
		SetStatus: func(t *testing.T, ticket normalize.Ref, status normalize.Status) {
			e := envs.Get(t)
			state := map[normalize.Status]string{normalize.StatusClosed: "closed", normalize.StatusOpen: "open", normalize.StatusPending: "pending reminder"}[status]
			require.NoError(t, e.zm.SetState(ticketID(t, ticket), e.agent, state))
			notify(t, e, ticket)
		},
	})
}

func parseID(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}
