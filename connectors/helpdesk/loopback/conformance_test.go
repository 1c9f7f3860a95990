package loopback_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	deskloop "github.com/casino-support/gateway/connectors/helpdesk/loopback"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/test/conformance"
	"github.com/casino-support/gateway/test/httpfault"
	"github.com/casino-support/gateway/test/loopback"
)

// secret guards the hook and the fake remote, so the bearer token is always exercised.
const secret = "s3cret"

// env is one loopback helpdesk wired to its fake remote, with its hook served. Its requests
// to the remote pass through faults, which the conformance suite arms.
type env struct {
	remote *loopback.FakeHelpdeskRemote
	hd     *deskloop.Helpdesk
	hook   *httptest.Server
	faults *httpfault.Transport
	acks   conformance.Acks // what the agent's ticket system learned of its replies
}

func newEnv(t *testing.T) *env {
	t.Helper()
	remote := loopback.NewFakeHelpdeskRemote(secret)
	rs := httptest.NewServer(remote)
	t.Cleanup(rs.Close)
	client, faults := httpfault.Wrap(rs.Client())
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	hd := deskloop.New("desk-loop", deskloop.Config{URL: rs.URL + "/", Secret: secret}, client, log)
	hook := httptest.NewServer(hd)
	t.Cleanup(hook.Close)
	return &env{remote: remote, hd: hd, hook: hook, faults: faults}
}

// postsMessage picks the helpdesk's requests that carry a message: ticket creation carries none.
func postsMessage(r *http.Request) bool {
	return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/messages")
}

func TestHelpdeskConformance(t *testing.T) {
	var envs conformance.PerTest[*env]
	conformance.RunHelpdesk(t, conformance.HelpdeskHarness{
		New: func(t *testing.T) connectors.Helpdesk {
			e := newEnv(t)
			envs.Put(t, e)
			return e.hd
		},
		Tickets: func(t *testing.T) map[normalize.ConversationID][]normalize.MessageID {
			e := envs.Get(t)
			tickets := e.remote.Tickets()
			require.Equal(t, e.remote.TicketCount(), len(tickets), "a conversation has more than one ticket")
			out := map[normalize.ConversationID][]normalize.MessageID{}
			for conv, ticket := range tickets {
				ids := []normalize.MessageID{}
				for _, p := range ticket.Messages {
					ids = append(ids, normalize.MessageID(p.MessageID))
				}
				out[normalize.ConversationID(conv)] = ids
			}
			return out
		},
		AgentReply: func(t *testing.T, ticket normalize.Ref, replyID, text string) {
			e := envs.Get(t)
			reply := loopback.Reply{ReplyID: replyID, Ticket: string(ticket), Text: text, Agent: "Bob"}
			retry(t, func(ctx context.Context) error { return loopback.AgentReply(ctx, e.hook.URL, secret, reply) })
		},
		Hook: func(h connectors.Helpdesk) http.Handler { return h.(http.Handler) },
		AgentSends: func(t *testing.T, ticket normalize.Ref, replyID, text string) error {
			e := envs.Get(t)
			reply := loopback.Reply{ReplyID: replyID, Ticket: string(ticket), Text: text, Agent: "Bob"}
			return e.acks.Record(replyID, loopback.AgentReply(t.Context(), e.hook.URL, secret, reply))
		},
		ReplyAcknowledged: func(t *testing.T, _ normalize.Ref, replyID string) bool {
			return envs.Get(t).acks.Acknowledged(replyID)
		},
		FailAfter: func(t *testing.T, k int, f httpfault.Fault) {
			envs.Get(t).faults.After(k, postsMessage, f)
		},
		AgentNote: func(t *testing.T, ticket normalize.Ref, noteID, text string) {
			e := envs.Get(t)
			note := loopback.Reply{ReplyID: noteID, Ticket: string(ticket), Text: text, Agent: "Bob", Note: true}
			retry(t, func(ctx context.Context) error { return loopback.AgentReply(ctx, e.hook.URL, secret, note) })
		},
		// No Blobs/Files: the loopback protocol passes files by the gateway's blob reference and
		// never their bytes, so there is nothing of them at the remote to compare. No EchoOf
		// and no SetStatus: its remote reports agents' replies and notes only.
	})
}

// retry calls fn until it succeeds, as a remote redelivering a webhook does (the hook answers
// 503 until Run has started).
func retry(t *testing.T, fn func(ctx context.Context) error) {
	t.Helper()
	var err error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if err = fn(t.Context()); err == nil {
			return
		}
	}
	t.Fatalf("still failing after retries: %v", err)
}
