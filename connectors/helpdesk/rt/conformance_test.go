package rt

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/test/conformance"
)

// recorded wraps the helpdesk to learn which conversation each ticket belongs to: RT does
// not know the gateway's conversation IDs, the harness does.
type recorded struct {
	*Helpdesk
	h *rtHarness
}

func (r recorded) Post(ctx context.Context, conv normalize.Conversation, msgs []connectors.Delivery) (normalize.Ref, []normalize.ExternalID, error) {
	ticket, ids, err := r.Helpdesk.Post(ctx, conv, msgs)
	if ticket != "" {
		r.h.mu.Lock()
		r.h.convs[conv.ID] = conv
		r.h.mu.Unlock()
	}
	return ticket, ids, err
}

type rtHarness struct {
	mu      sync.Mutex
	convs   map[normalize.ConversationID]normalize.Conversation
	current map[*testing.T]*Helpdesk
	replies map[string]bool
}

func TestConformance(t *testing.T) {
	rtPeer(t)
	rh := &rtHarness{convs: map[normalize.ConversationID]normalize.Conversation{}, current: map[*testing.T]*Helpdesk{}, replies: map[string]bool{}}
	conformance.RunHelpdesk(t, conformance.HelpdeskHarness{
		New: func(t *testing.T) connectors.Helpdesk {
			hd := newPeerHelpdesk(t, nil)
			rh.mu.Lock()
			rh.current[t] = hd
			rh.mu.Unlock()
			return recorded{Helpdesk: hd, h: rh}
		},
		// Tickets reads every recorded conversation's tickets back from RT by requestor.
		Tickets: func(t *testing.T) map[normalize.ConversationID][]normalize.MessageID {
			rh.mu.Lock()
			convs := make([]normalize.Conversation, 0, len(rh.convs))
			for _, c := range rh.convs {
				convs = append(convs, c)
			}
			hd := rh.current[t]
			rh.mu.Unlock()
			out := map[normalize.ConversationID][]normalize.MessageID{}
			for _, c := range convs {
				query := fmt.Sprintf("Queue = '%s' AND Requestor.EmailAddress = '%s' AND Creator = '%s'",
					hd.cfg.Queue, sqlQuote(hd.requestor(c)), hd.cfg.GatewayUser)
				tickets, err := hd.rt.searchTickets(t.Context(), query)
				require.NoError(t, err)
				require.Len(t, tickets, 1, "conversation %s must have exactly one ticket", c.ID)
				out[c.ID] = onTicket(t, hd, normalize.Ref(fmt.Sprint(tickets[0])))
			}
			return out
		},
		// AgentReply corresponds as the agent the first time; a repeat moves the poller's cursor
		// back before it, as a restart without a stored cursor does, so it comes back.
		AgentReply: func(t *testing.T, ticket normalize.Ref, replyID, text string) {
			rh.mu.Lock()
			hd, repeat := rh.current[t], rh.replies[replyID]
			rh.replies[replyID] = true
			rh.mu.Unlock()
			if !repeat {
				require.NoError(t, agentClient(t).correspond(t.Context(), mustInt(t, ticket), map[string]any{"Content": text, "ContentType": "text/plain"}))
				return
			}
			rewind(t, hd, ticket)
		},
	})
}
