package rt

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/helpdesk/hdkit"
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
	blobs  *memBlobs

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
			blobs := &memBlobs{}
			hd := newPeerHelpdesk(t, blobs)
			// RT has no idempotency key: a retry finds an earlier attempt's ticket by looking it
			// up after SettleDelay, so overlapping attempts (ConcurrentPostsOneTicket) make one
			// ticket when the first commits within it. 300 ms is too short for a loaded test
			// machine; production waits 5 s, and a retry comes a lease (30 s) later anyway.
			hd.cfg.SettleDelay = 2 * time.Second
			client, faults := httpfault.Wrap(hd.rt.http)
			hd.rt.http = client
			env := &rtEnv{hd: hd, faults: faults, blobs: blobs, convs: map[normalize.ConversationID]normalize.Conversation{}, replies: map[string]int{}}
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
		Blobs: func(t *testing.T) connectors.Blobs { return envs.Get(t).blobs },
		// Files reads the files of the gateway's transaction that carries msg's marker.
		Files: func(t *testing.T, ticket normalize.Ref, msg normalize.MessageID, _ normalize.ExternalID) []conformance.File {
			return filesOf(t, envs.Get(t).hd, ticket, msg)
		},
		// REST2 5.0.3 answers 500 to a non-ASCII file name (post.go).
		FileName: asciiName,
		// AgentNote comments as the agent: RT's internal note, mailed to no requestor.
		AgentNote: func(t *testing.T, ticket normalize.Ref, _, text string) {
			require.NoError(t, agentClient(t).comment(t.Context(), mustInt(t, ticket), map[string]any{"Content": text, "ContentType": "text/plain"}))
		},
		// EchoOf does nothing: the gateway's correspondence is in the ticket's history already,
		// where the poller reads it with the agents' replies.
		EchoOf: func(*testing.T, normalize.Ref, connectors.Delivery, normalize.ExternalID) {},
		// FollowUpOf reads the ticket's RefersTo link from REST2's hyperlinks.
		FollowUpOf: func(t *testing.T, ticket normalize.Ref) normalize.Ref {
			var got struct {
				Links []struct {
					Ref string          `json:"ref"`
					ID  json.RawMessage `json:"id"`
				} `json:"_hyperlinks"`
			}
			require.NoError(t, envs.Get(t).hd.rt.do(t.Context(), http.MethodGet, "/ticket/"+string(ticket), nil, nil, &got))
			for _, l := range got.Links {
				if l.Ref == "refers-to" {
					return normalize.Ref(strings.Trim(string(l.ID), `"`))
				}
			}
			return ""
		},
		// SetStatus sets the ticket's status as the agent: resolved, or open again.
		SetStatus: func(t *testing.T, ticket normalize.Ref, status normalize.Status) {
			rtStatus := map[normalize.Status]string{normalize.StatusClosed: "resolved", normalize.StatusOpen: "open", normalize.StatusPending: "stalled"}[status]
			require.NotEmpty(t, rtStatus, "harness: no RT status for %q", status)
			require.NoError(t, agentClient(t).updateTicket(t.Context(), mustInt(t, ticket), map[string]any{"Status": rtStatus}))
		},
	})
}

// filesOf returns the files of the gateway's transaction on ticket that carries msg's marker.
func filesOf(t *testing.T, hd *Helpdesk, ticket normalize.Ref, msg normalize.MessageID) []conformance.File {
	txns, err := hd.rt.transactions(t.Context(), mustInt(t, ticket), 0, "")
	require.NoError(t, err)
	for _, x := range txns {
		if x.Type != "Create" && x.Type != "Correspond" || !hd.isGateway(x.Creator) {
			continue
		}
		text, files, err := hd.rt.txnContent(t.Context(), x.ID.int())
		require.NoError(t, err)
		if !slices.Contains(hdkit.Markers(text), msg) {
			continue
		}
		out := []conformance.File{}
		for _, f := range files {
			rc, err := hd.rt.attachmentContent(t.Context(), f.ID.int())
			require.NoError(t, err)
			content, err := io.ReadAll(rc)
			rc.Close()
			require.NoError(t, err)
			out = append(out, conformance.File{Name: f.Filename, MediaType: f.ContentType, Content: content})
		}
		return out
	}
	t.Fatalf("ticket %s has no transaction of the gateway marked %s", ticket, msg)
	return nil
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
