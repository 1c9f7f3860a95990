package webhook_test

import (
	"fmt"
	"net/http"
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
	case webhook.EventMessageCreated, webhook.EventConversationUpdated:
		return true
	}
	return false
}

// TestConformance runs the shared Helpdesk suite against the webhook helpdesk and the test
// receiver, which stands in for the operator's ticket system. The helpdesk's client passes
// through a fault injector, so the suite's faults meet it on its own wire.
func TestConformance(t *testing.T) {
	var envs conformance.PerTest[*conformanceEnv]
	envOf := envs.Get
	conformance.RunHelpdesk(t, conformance.HelpdeskHarness{
		New: func(t *testing.T) connectors.Helpdesk {
			faults := &httpfault.Transport{}
			e := newEnvDeps(t, nil, func(d *webhook.Deps) { d.Client = &http.Client{Transport: faults} })
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
			e := envOf(t)
			body := replyBody(ticket, replyID, text)
			require.Eventually(t, func() bool {
				status, _ := e.hook(t, testSecret, time.Now(), body)
				return status == http.StatusOK
			}, 5*time.Second, 10*time.Millisecond, "the hook never acknowledged the reply")
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
			envOf(t).faults.After(k, carriesMessage, f)
		},
	})
}

// replyBody is a reply.created event as the operator's system sends it.
func replyBody(ticket normalize.Ref, replyID, text string) string {
	return `{"event":"reply.created","reply_id":"` + replyID + `","ticket":"` + string(ticket) + `","text":"` + text + `","agent":{"name":"Alice"}}`
}
