package freshdesk

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/test/conformance"
	"github.com/casino-support/gateway/test/freshdeskfake"
	"github.com/casino-support/gateway/test/httpfault"
)

// TestConformance runs the shared Helpdesk suite against the connector and the fake
// Freshdesk, notified by the automation rule's webhook and in mode poll; the suite's faults
// meet the connector on its own wire.
func TestConformance(t *testing.T) {
	t.Run("webhook", func(t *testing.T) { runConformance(t, false) })
	t.Run("polled", func(t *testing.T) { runConformance(t, true) })
}

func runConformance(t *testing.T, polled bool) {
	var envs conformance.PerTest[*env]
	notify := func(t *testing.T, e *env, ticket normalize.Ref) {
		require.Eventually(t, func() bool { return e.fd.Notify(ticketID(t, ticket)) == nil }, waitFor, tick,
			"the hook never acknowledged the notification")
	}
	tweak := func(*Config) {}
	if polled {
		// New takes a poll interval below Validate's floor, so the suite does not wait.
		tweak = func(c *Config) { c.Mode, c.PollInterval = ModePoll, 20*time.Millisecond }
	}
	h := conformance.HelpdeskHarness{
		New: func(t *testing.T) connectors.Helpdesk {
			e := newEnv(t, tweak)
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
			return e.acks.Record(replyID, e.fd.Notify(ticketID(t, ticket)))
		},
		ReplyAcknowledged: func(t *testing.T, _ normalize.Ref, replyID string) bool {
			return envs.Get(t).acks.Acknowledged(replyID)
		},
		FailAfter: func(t *testing.T, k int, f httpfault.Fault) {
			envs.Get(t).faults.After(k, carries, f)
		},
		Blobs: func(t *testing.T) connectors.Blobs { return envs.Get(t).blobs },
		// Files reads the attachments of the description or note Post returned, with the
		// bytes an agent downloads from Freshdesk.
		Files: func(t *testing.T, ticket normalize.Ref, _ normalize.MessageID, ext normalize.ExternalID) []conformance.File {
			e := envs.Get(t)
			tk, ok := e.fd.Ticket(ticketID(t, ticket))
			require.True(t, ok, "no ticket %s", ticket)
			files := func(atts []freshdeskfake.Attachment) []conformance.File {
				out := []conformance.File{}
				for _, a := range atts {
					out = append(out, conformance.File{Name: a.Name, MediaType: a.ContentType, Content: e.fd.File(a.ID)})
				}
				return out
			}
			if ext == descriptionID(tk.ID) {
				return files(tk.Attachments)
			}
			for _, c := range tk.Conversations {
				if itoa(c.ID) == string(ext) {
					return files(c.Attachments)
				}
			}
			t.Fatalf("ticket %s has no note %s", ticket, ext)
			return nil
		},
		AgentNote: func(t *testing.T, ticket normalize.Ref, _, text string) {
			e := envs.Get(t)
			_, err := e.fd.AgentNote(ticketID(t, ticket), e.agent, text, false)
			require.NoError(t, err)
			notify(t, e, ticket)
		},
		// An automation rule on "a note is added" fires for the gateway's own notes too: the
		// echo is the notification of the ticket after the player's message was posted.
		EchoOf: func(t *testing.T, ticket normalize.Ref, _ connectors.Delivery, _ normalize.ExternalID) {
			e := envs.Get(t)
			e.hd.seen.Delete(ticketID(t, ticket))
			notify(t, e, ticket)
		},
		// A follow-up is linked by the follow_up_of_<id> tag (and its subject).
		FollowUpOf: func(t *testing.T, ticket normalize.Ref) normalize.Ref {
			tk, ok := envs.Get(t).fd.Ticket(ticketID(t, ticket))
			require.True(t, ok, "no ticket %s", ticket)
			for _, tag := range tk.Tags {
				if id, ok := strings.CutPrefix(tag, followUpTag); ok {
					return normalize.Ref(id)
				}
			}
			return ""
		},
		// StatusClosed is Freshdesk's resolved, which agents set (closed follows by automation).
		SetStatus: func(t *testing.T, ticket normalize.Ref, status normalize.Status) {
			e := envs.Get(t)
			fs := map[normalize.Status]int{normalize.StatusClosed: freshdeskfake.StatusResolved, normalize.StatusOpen: freshdeskfake.StatusOpen,
				normalize.StatusPending: freshdeskfake.StatusPending}[status]
			require.NoError(t, e.fd.SetStatus(ticketID(t, ticket), fs))
			notify(t, e, ticket)
		},
	}
	if polled {
		// Freshdesk keeps what agents did for the poller: nothing is refused, only not yet read;
		// a reply is acknowledged once the poller handed its ticket over up to it.
		h.Hook = nil
		notify = func(*testing.T, *env, normalize.Ref) {}
		h.AgentSends = func(t *testing.T, ticket normalize.Ref, replyID, text string) error {
			envs.Get(t).agentReply(t, ticket, replyID, text)
			return nil
		}
		h.ReplyAcknowledged = func(t *testing.T, ticket normalize.Ref, replyID string) bool {
			e := envs.Get(t)
			e.mu.Lock()
			cid := e.replies[replyID]
			e.mu.Unlock()
			seen, ok := e.hd.seen.Get(ticketID(t, ticket))
			return ok && cid != 0 && seen.LastConv >= cid
		}
	}
	conformance.RunHelpdesk(t, h)
}
