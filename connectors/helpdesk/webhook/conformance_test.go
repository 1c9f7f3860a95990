package webhook_test

import (
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/helpdesk/webhook"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/test/conformance"
	"github.com/casino-support/gateway/test/httpfault"
)

// conformanceEnv is one subtest's helpdesk with the fault injector in front of the operator
// and what the operator's system learned of the replies it sent.
type conformanceEnv struct {
	*env
	faults *httpfault.Transport
	acks   conformance.Acks
}

// carriesMessage picks the events that carry a message of the batch Post was given: opening
// the conversation carries none.
func carriesMessage(r *http.Request) bool {
	switch r.Header.Get(webhook.HeaderEvent) {
	case webhook.EventMessageCreated, webhook.EventConversationUpdated, webhook.EventBatch:
		return true
	}
	return false
}

// TestConformance runs the shared Helpdesk suite against the webhook helpdesk and the test
// receiver, which stands in for the operator's ticket system. The helpdesk's client passes
// through a fault injector, so the suite's faults meet it on its own wire.
func TestConformance(t *testing.T) { runConformance(t, 0) }

// TestConformanceBatched runs the suite with batch_events on: the lane's messages after the
// opening go as events.batch.
func TestConformanceBatched(t *testing.T) { runConformance(t, 10) }

func runConformance(t *testing.T, batch int) {
	var envs conformance.PerTest[*conformanceEnv]
	envOf := envs.Get
	var batched atomic.Int64 // events that came in a batch, so the batched run proves it batched
	t.Cleanup(func() {
		if batch > 1 && batched.Load() == 0 {
			t.Error("batch_events was on, but no event came in an events.batch")
		}
	})
	conformance.RunHelpdesk(t, conformance.HelpdeskHarness{
		New: func(t *testing.T) connectors.Helpdesk {
			faults := &httpfault.Transport{}
			e := newEnvDeps(t, batching(batch), func(d *webhook.Deps) { d.Client = &http.Client{Transport: faults} })
			t.Cleanup(func() {
				for _, ev := range e.recv.Events() {
					if ev.Batch != "" {
						batched.Add(1)
					}
				}
			})
			envs.Put(t, &conformanceEnv{env: e, faults: faults})
			return e.hd
		},
		Tickets: func(t *testing.T) map[normalize.ConversationID][]normalize.MessageID {
			out := map[normalize.ConversationID][]normalize.MessageID{}
			for conv, ids := range envOf(t).recv.Messages() {
				for _, id := range ids {
					out[normalize.ConversationID(conv)] = append(out[normalize.ConversationID(conv)], normalize.MessageID(id))
				}
				if out[normalize.ConversationID(conv)] == nil {
					out[normalize.ConversationID(conv)] = []normalize.MessageID{}
				}
			}
			return out
		},
		AgentReply: func(t *testing.T, ticket normalize.Ref, replyID, text string) {
			envOf(t).deliver(t, replyBody(ticket, replyID, text))
		},
		Hook: func(h connectors.Helpdesk) http.Handler { return h.(http.Handler) },
		AgentSends: func(t *testing.T, ticket normalize.Ref, replyID, text string) error {
			e := envOf(t)
			status, body := e.hook(t, testSecret, time.Now(), replyBody(ticket, replyID, text))
			if status != http.StatusOK {
				return e.acks.Record(replyID, fmt.Errorf("the hook answered %d: %s", status, body))
			}
			return e.acks.Record(replyID, nil)
		},
		ReplyAcknowledged: func(t *testing.T, _ normalize.Ref, replyID string) bool {
			return envOf(t).acks.Acknowledged(replyID)
		},
		FailAfter: func(t *testing.T, k int, f httpfault.Fault) {
			e := envOf(t)
			if batch > 1 {
				// One batch carries all the messages: the operator stores k of them and
				// answers their results, and the next request carrying a message meets f;
				// one that f lets through, the operator stores only its first event of.
				var shorten []int
				if k > 0 {
					shorten, k = append(shorten, k), 1
				}
				if f.LoseAnswer {
					shorten = append(shorten, 1)
				}
				e.recv.ShortenBatches(shorten...)
			}
			e.faults.After(k, carriesMessage, f)
		},
		Blobs: func(t *testing.T) connectors.Blobs { return envOf(t).blobs },
		// Files downloads the files of message msg the way the operator does: from the links
		// its message.created event carries.
		Files: func(t *testing.T, _ normalize.Ref, msg normalize.MessageID, _ normalize.ExternalID) []conformance.File {
			return envOf(t).files(t, msg)
		},
		AgentNote: func(t *testing.T, ticket normalize.Ref, noteID, text string) {
			envOf(t).deliver(t, `{"event":"reply.created","reply_id":"`+noteID+`","ticket":"`+string(ticket)+`","text":"`+text+`","note":true,"agent":{"name":"Alice"}}`)
		},
		// FollowUpOf is what the operator learned from conversation.opened's follow_up_of.
		FollowUpOf: func(t *testing.T, ticket normalize.Ref) normalize.Ref {
			return normalize.Ref(envOf(t).recv.FollowUpOf(string(ticket)))
		},
		// No EchoOf: the contract has the operator send agents' replies only, never the
		// messages the gateway posted.
		SetStatus: func(t *testing.T, ticket normalize.Ref, status normalize.Status) {
			envOf(t).deliver(t, `{"event":"conversation.status_changed","event_id":"`+string(normalize.NewMessageID())+`","ticket":"`+string(ticket)+`","status":"`+string(status)+`"}`)
		},
	})
}

// deliver sends a signed event to the hook until it is acknowledged, as the operator does.
func (e *conformanceEnv) deliver(t *testing.T, body string) {
	require.Eventually(t, func() bool {
		status, _ := e.hook(t, testSecret, time.Now(), body)
		return status == http.StatusOK
	}, 5*time.Second, 10*time.Millisecond, "the hook never acknowledged %s", body)
}

// files downloads the attachments of message msg from the links of its message.created event.
func (e *conformanceEnv) files(t *testing.T, msg normalize.MessageID) []conformance.File {
	var out []conformance.File
	for _, ev := range e.recv.Events() {
		if ev.Event.Event != webhook.EventMessageCreated || ev.Event.Message == nil || ev.Event.Message.ID != string(msg) {
			continue
		}
		for _, a := range ev.Event.Message.Attachments {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, a.URL, nil)
			require.NoError(t, err)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err, "download %s", a.URL)
			content, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, resp.StatusCode, "download %s: %s", a.URL, content)
			out = append(out, conformance.File{Name: a.Name, MediaType: a.MediaType, Content: content})
		}
		return out
	}
	t.Fatalf("the operator got no message.created for %s", msg)
	return nil
}

// replyBody is a reply.created event as the operator's system sends it.
func replyBody(ticket normalize.Ref, replyID, text string) string {
	return `{"event":"reply.created","reply_id":"` + replyID + `","ticket":"` + string(ticket) + `","text":"` + text + `","agent":{"name":"Alice"}}`
}
