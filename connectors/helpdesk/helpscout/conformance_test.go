package helpscout

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/test/conformance"
	"github.com/casino-support/gateway/test/httpfault"
)

// TestConformance runs the shared Helpdesk suite against the connector and the fake Help
// Scout, notified by its signed webhook and in mode poll; the suite's faults meet the
// connector on its own wire.
func TestConformance(t *testing.T) {
	t.Run("webhook", func(t *testing.T) { runConformance(t, false) })
	t.Run("polled", func(t *testing.T) { runConformance(t, true) })
}

func runConformance(t *testing.T, polled bool) {
	var envs conformance.PerTest[*env]
	notify := func(t *testing.T, e *env, ticket normalize.Ref, event string) {
		require.Eventually(t, func() bool { return e.hs.Notify(convID(t, ticket), event) == nil }, waitFor, tick,
			"the hook never acknowledged the notification")
	}
	tweak := func(*Config) {}
	if polled {
		// New takes a poll interval below Validate's floor, so the suite does not wait.
		tweak = func(c *Config) { c.Mode, c.WebhookSecret, c.PollInterval = ModePoll, "", 20*time.Millisecond }
		notify = func(*testing.T, *env, normalize.Ref, string) {}
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
			notify(t, e, ticket, "convo.agent.reply.created")
		},
		Hook: func(h connectors.Helpdesk) http.Handler { return h.(http.Handler) },
		AgentSends: func(t *testing.T, ticket normalize.Ref, replyID, text string) error {
			e := envs.Get(t)
			e.agentReply(t, ticket, replyID, text)
			return e.acks.Record(replyID, e.hs.Notify(convID(t, ticket), "convo.agent.reply.created"))
		},
		ReplyAcknowledged: func(t *testing.T, _ normalize.Ref, replyID string) bool {
			return envs.Get(t).acks.Acknowledged(replyID)
		},
		FailAfter: func(t *testing.T, k int, f httpfault.Fault) {
			envs.Get(t).faults.After(k, carries, f)
		},
		Blobs: func(t *testing.T) connectors.Blobs { return envs.Get(t).blobs },
		// Files reads the attachments of the thread Post returned, with the bytes an agent
		// downloads from Help Scout.
		Files: func(t *testing.T, ticket normalize.Ref, _ normalize.MessageID, ext normalize.ExternalID) []conformance.File {
			e := envs.Get(t)
			c, ok := e.hs.Conversation(convID(t, ticket))
			require.True(t, ok, "no conversation %s", ticket)
			for _, th := range c.Threads {
				if itoa(th.ID) != string(ext) {
					continue
				}
				out := []conformance.File{}
				for _, a := range th.Attachments {
					out = append(out, conformance.File{Name: a.Filename, MediaType: a.MimeType, Content: e.hs.File(a.ID)})
				}
				return out
			}
			t.Fatalf("conversation %s has no thread %s", ticket, ext)
			return nil
		},
		AgentNote: func(t *testing.T, ticket normalize.Ref, _, text string) {
			e := envs.Get(t)
			_, err := e.hs.AgentNote(convID(t, ticket), e.agent, text)
			require.NoError(t, err)
			notify(t, e, ticket, "convo.note.created")
		},
		// Help Scout's webhook fires for customer threads too (convo.customer.reply.created):
		// the echo is that notification of the thread Post wrote.
		EchoOf: func(t *testing.T, ticket normalize.Ref, _ connectors.Delivery, _ normalize.ExternalID) {
			e := envs.Get(t)
			e.hd.forgetSeen(convID(t, ticket))
			notify(t, e, ticket, "convo.customer.reply.created")
		},
		// Help Scout links no conversations: a follow-up carries the follow-up-of-<id> tag.
		FollowUpOf: func(t *testing.T, ticket normalize.Ref) normalize.Ref {
			c, ok := envs.Get(t).hs.Conversation(convID(t, ticket))
			require.True(t, ok, "no conversation %s", ticket)
			for _, tg := range c.Tags {
				if id, ok := strings.CutPrefix(tg, followUpTag); ok {
					return normalize.Ref(id)
				}
			}
			return ""
		},
		SetStatus: func(t *testing.T, ticket normalize.Ref, status normalize.Status) {
			e := envs.Get(t)
			hs := map[normalize.Status]string{normalize.StatusClosed: "closed", normalize.StatusOpen: "active", normalize.StatusPending: "pending"}[status]
			require.NoError(t, e.hs.SetStatus(convID(t, ticket), e.agent, hs))
			notify(t, e, ticket, "convo.status")
		},
	}
	if polled {
		// Help Scout keeps what agents did for the poller: nothing is refused, only not yet
		// read; a reply is acknowledged once the poller delivered its conversation up to it.
		h.Hook = nil
		h.AgentSends = func(t *testing.T, ticket normalize.Ref, replyID, text string) error {
			envs.Get(t).agentReply(t, ticket, replyID, text)
			return nil
		}
		h.ReplyAcknowledged = func(t *testing.T, ticket normalize.Ref, replyID string) bool {
			e := envs.Get(t)
			e.mu.Lock()
			tid := e.replies[replyID]
			e.mu.Unlock()
			return tid != 0 && e.hd.seenOf(convID(t, ticket)).thread >= tid
		}
	}
	conformance.RunHelpdesk(t, h)
}
