package webhook_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/test/conformance"
)

// TestConformance runs the shared Helpdesk suite against the webhook helpdesk and the test
// receiver, which stands in for the operator's ticket system.
func TestConformance(t *testing.T) {
	var mu sync.Mutex
	envs := map[*testing.T]*env{}
	envOf := func(t *testing.T) *env {
		mu.Lock()
		defer mu.Unlock()
		return envs[t]
	}
	conformance.RunHelpdesk(t, conformance.HelpdeskHarness{
		New: func(t *testing.T) connectors.Helpdesk {
			e := newEnv(t, nil)
			mu.Lock()
			envs[t] = e
			mu.Unlock()
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
			body := `{"event":"reply.created","reply_id":"` + replyID + `","ticket":"` + string(ticket) + `","text":"` + text + `","agent":{"name":"Alice"}}`
			require.Eventually(t, func() bool {
				status, _ := e.hook(t, testSecret, time.Now(), body)
				return status == http.StatusOK
			}, 5*time.Second, 10*time.Millisecond, "the hook never acknowledged the reply")
		},
		Hook: func(h connectors.Helpdesk) http.Handler { return h.(http.Handler) },
	})
}
