package zendesk

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/test/conformance"
	"github.com/casino-support/gateway/test/httpfault"
)

// newHookServer serves the helpdesk's hook as the gateway mounts it and returns its URL.
func newHookServer(t *testing.T, hd *Helpdesk) string {
	srv := httptest.NewServer(hd)
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestConformance runs the shared Helpdesk suite against the connector and the fake
// Zendesk; the suite's faults meet the connector on its own wire.
func TestConformance(t *testing.T) {
	var envs conformance.PerTest[*env]
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
			require.Eventually(t, func() bool { return e.zd.Notify(ticketID(t, ticket)) == nil }, waitFor, tick,
				"the hook never acknowledged the notification")
		},
		Hook: func(h connectors.Helpdesk) http.Handler { return h.(http.Handler) },
		AgentSends: func(t *testing.T, ticket normalize.Ref, replyID, text string) error {
			e := envs.Get(t)
			e.agentReply(t, ticket, replyID, text)
			return e.acks.Record(replyID, e.zd.Notify(ticketID(t, ticket)))
		},
		ReplyAcknowledged: func(t *testing.T, _ normalize.Ref, replyID string) bool {
			return envs.Get(t).acks.Acknowledged(replyID)
		},
		FailAfter: func(t *testing.T, k int, f httpfault.Fault) {
			envs.Get(t).faults.After(k, carries, f)
		},
		Blobs: func(t *testing.T) connectors.Blobs { return envs.Get(t).blobs },
		// Files reads the attachments of the comment Post returned, with the bytes an agent
		// downloads from Zendesk.
		Files: func(t *testing.T, ticket normalize.Ref, _ normalize.MessageID, ext normalize.ExternalID) []conformance.File {
			e := envs.Get(t)
			tk, ok := e.zd.Ticket(ticketID(t, ticket))
			require.True(t, ok, "no ticket %s", ticket)
			for _, c := range tk.Comments {
				if itoa(c.ID) != string(ext) {
					continue
				}
				out := []conformance.File{}
				for _, a := range c.Attachments {
					out = append(out, conformance.File{Name: a.FileName, MediaType: a.ContentType, Content: e.zd.File(a.ID)})
				}
				return out
			}
			t.Fatalf("ticket %s has no comment %s", ticket, ext)
			return nil
		},
		AgentNote: func(t *testing.T, ticket normalize.Ref, _, text string) {
			e := envs.Get(t)
			_, err := e.zd.AgentComment(ticketID(t, ticket), e.agent, text, false)
			require.NoError(t, err)
			require.Eventually(t, func() bool { return e.zd.Notify(ticketID(t, ticket)) == nil }, waitFor, tick)
		},
		// Zendesk's trigger fires for every change of a ticket, the gateway's own comments
		// included: the echo is the notification of the player's comment Post wrote.
		EchoOf: func(t *testing.T, ticket normalize.Ref, _ connectors.Delivery, _ normalize.ExternalID) {
			e := envs.Get(t)
			e.hd.forgetSeen(ticketID(t, ticket))
			require.Eventually(t, func() bool { return e.zd.Notify(ticketID(t, ticket)) == nil }, waitFor, tick)
		},
		// A follow-up of a closed ticket is linked by via_followup_source_id (shown in via.source),
		// of a solved one by the follow_up_of_<id> tag.
		FollowUpOf: func(t *testing.T, ticket normalize.Ref) normalize.Ref {
			tk, ok := envs.Get(t).zd.Ticket(ticketID(t, ticket))
			require.True(t, ok, "no ticket %s", ticket)
			if tk.ViaFollowupSourceID != nil {
				return normalize.Ref(itoa(*tk.ViaFollowupSourceID))
			}
			for _, tag := range tk.Tags {
				if id, ok := strings.CutPrefix(tag, followUpTag); ok {
					return normalize.Ref(id)
				}
			}
			return ""
		},
		// StatusClosed is Zendesk's solved: a closed ticket can never be reopened there.
		SetStatus: func(t *testing.T, ticket normalize.Ref, status normalize.Status) {
			e := envs.Get(t)
			zs := map[normalize.Status]string{normalize.StatusClosed: "solved", normalize.StatusOpen: "open", normalize.StatusPending: "pending"}[status]
			require.NoError(t, e.zd.SetStatus(ticketID(t, ticket), e.agent, zs))
			require.Eventually(t, func() bool { return e.zd.Notify(ticketID(t, ticket)) == nil }, waitFor, tick)
		},
	})
}
