package rt

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/test/conformance"
	"github.com/casino-support/gateway/test/httpfault"
)

// recorded wraps the helpdesk to learn which conversations the test posted: RT does not know
// the gateway's conversation IDs, the harness does. A Post that failed may have made a ticket
// all the same (its answer lost), so every conversation posted is looked for in RT.
type recorded struct {
	*Helpdesk
	env *rtEnv
}

func (r recorded) Post(ctx context.Context, conv normalize.Conversation, msgs []connectors.Delivery) (normalize.Ref, []normalize.ExternalID, error) {
	r.env.mu.Lock()
	r.env.convs[conv.ID] = conv
	r.env.mu.Unlock()
	return r.Helpdesk.Post(ctx, conv, msgs)
}

// rtEnv is one subtest's helpdesk on the shared RT, the conversations it posted (the shared
// RT keeps every earlier test's tickets, so Tickets reads back only these), and the fault
// injector in front of RT.
type rtEnv struct {
	hd     *Helpdesk
	faults *httpfault.Transport

	mu      sync.Mutex
	convs   map[normalize.ConversationID]normalize.Conversation
	replies map[string]int // reply ID → the agent's correspondence that carries it
}

// carriesMessage picks the REST2 requests that carry a message Post was given: a ticket
// created with the first one, a correspondence, an Update's comment. Look-ups pass.
var carriesMessage = regexp.MustCompile(`/ticket(/[0-9]+/(correspond|comment))?$`)

func TestConformance(t *testing.T) {
	rtPeer(t)
	var envs conformance.PerTest[*rtEnv]
	conformance.RunHelpdesk(t, conformance.HelpdeskHarness{
		New: func(t *testing.T) connectors.Helpdesk {
			hd := newPeerHelpdesk(t, nil)
			client, faults := httpfault.Wrap(hd.rt.http)
			hd.rt.http = client
			env := &rtEnv{hd: hd, faults: faults, convs: map[normalize.ConversationID]normalize.Conversation{}, replies: map[string]int{}}
			envs.Put(t, env)
			return recorded{Helpdesk: hd, env: env}
		},
		// Tickets reads the tickets of the test's conversations back from RT by requestor.
		// A conversation whose Post failed before RT made a ticket has none.
		Tickets: func(t *testing.T) map[normalize.ConversationID][]normalize.MessageID {
			env := envs.Get(t)
			env.mu.Lock()
			convs := make([]normalize.Conversation, 0, len(env.convs))
			for _, c := range env.convs {
				convs = append(convs, c)
			}
			env.mu.Unlock()
			hd := env.hd
			out := map[normalize.ConversationID][]normalize.MessageID{}
			for _, c := range convs {
				query := fmt.Sprintf("Queue = '%s' AND Requestor.EmailAddress = '%s' AND Creator = '%s'",
					hd.cfg.Queue, sqlQuote(hd.requestor(c)), hd.cfg.GatewayUser)
				tickets, err := hd.rt.searchTickets(t.Context(), query)
				require.NoError(t, err)
				if len(tickets) == 0 {
					continue
				}
				require.Len(t, tickets, 1, "conversation %s must have exactly one ticket", c.ID)
				out[c.ID] = onTicket(t, hd, normalize.Ref(fmt.Sprint(tickets[0])))
			}
			return out
		},
		// AgentReply corresponds as the agent the first time; a repeat moves the poller's cursor
		// back before it, as a restart without a stored cursor does, so it comes back.
		AgentReply: func(t *testing.T, ticket normalize.Ref, replyID, text string) {
			require.NoError(t, envs.Get(t).agentSends(t, ticket, replyID, text))
		},
		// RT keeps a correspondence for the poller, which has it once its cursor moved past it:
		// a reply is never refused, only not yet fetched.
		AgentSends: func(t *testing.T, ticket normalize.Ref, replyID, text string) error {
			return envs.Get(t).agentSends(t, ticket, replyID, text)
		},
		ReplyAcknowledged: func(t *testing.T, _ normalize.Ref, replyID string) bool {
			env := envs.Get(t)
			env.mu.Lock()
			txn := env.replies[replyID]
			env.mu.Unlock()
			env.hd.poller.mu.Lock()
			defer env.hd.poller.mu.Unlock()
			return txn > 0 && env.hd.poller.cursor >= txn
		},
		FailAfter: func(t *testing.T, k int, f httpfault.Fault) {
			envs.Get(t).faults.After(k, func(r *http.Request) bool {
				return r.Method == http.MethodPost && carriesMessage.MatchString(r.URL.Path)
			}, f)
		},
	})
}

// agentSends corresponds on ticket as the agent the first time and notes the transaction; a
// repeat rewinds the poller's cursor before the agent's first correspondence on ticket.
func (env *rtEnv) agentSends(t *testing.T, ticket normalize.Ref, replyID, text string) error {
	env.mu.Lock()
	_, repeat := env.replies[replyID]
	env.mu.Unlock()
	if repeat {
		rewind(t, env.hd, ticket)
		return nil
	}
	n := mustInt(t, ticket)
	if err := agentClient(t).correspond(t.Context(), n, map[string]any{"Content": text, "ContentType": "text/plain"}); err != nil {
		return err
	}
	txns, err := env.hd.rt.transactions(t.Context(), n, 0, "Correspond")
	require.NoError(t, err)
	last := 0
	for _, x := range txns {
		if !env.hd.isGateway(x.Creator) {
			last = max(last, x.ID.int())
		}
	}
	require.NotZero(t, last, "ticket %s shows no correspondence of the agent", ticket)
	env.mu.Lock()
	env.replies[replyID] = last
	env.mu.Unlock()
	return nil
}
