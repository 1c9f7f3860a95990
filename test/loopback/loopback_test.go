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
	chanloop "github.com/casino-support/gateway/connectors/channel/loopback"
	deskloop "github.com/casino-support/gateway/connectors/helpdesk/loopback"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/test/conformance"
	"github.com/casino-support/gateway/test/httpfault"
	"github.com/casino-support/gateway/test/loopback"
)

// secret guards the hooks and the fakes in every test, so the bearer token is always exercised.
const secret = "s3cret"

// helpdeskEnv is one loopback helpdesk wired to its fake remote, with its hook served. Its
// requests to the remote pass through faults, which the conformance suite arms.
type helpdeskEnv struct {
	remote *loopback.FakeHelpdeskRemote
	hd     *deskloop.Helpdesk
	hook   *httptest.Server
	faults *httpfault.Transport
	acks   conformance.Acks // what the agent's ticket system learned of its replies
}

func newHelpdeskEnv(t *testing.T) *helpdeskEnv {
	t.Helper()
	remote := loopback.NewFakeHelpdeskRemote(secret)
	rs := httptest.NewServer(remote)
	t.Cleanup(rs.Close)
	client, faults := httpfault.Wrap(rs.Client())
	hd := deskloop.New("desk-loop", deskloop.Config{URL: rs.URL + "/", Secret: secret}, client, testLogger(t))
	hook := httptest.NewServer(hd)
	t.Cleanup(hook.Close)
	return &helpdeskEnv{remote: remote, hd: hd, hook: hook, faults: faults}
}

// channelEnv is one loopback channel wired to its fake remote, with its hook served. Its
// requests to the remote pass through faults, which the conformance suite arms.
type channelEnv struct {
	remote *loopback.FakeChannelRemote
	ch     *chanloop.Channel
	hook   *httptest.Server
	send   string
	faults *httpfault.Transport
	acks   conformance.Acks // what the player's app learned of its messages
}

func newChannelEnv(t *testing.T) *channelEnv {
	t.Helper()
	remote := loopback.NewFakeChannelRemote(secret)
	rs := httptest.NewServer(remote)
	t.Cleanup(rs.Close)
	send := rs.URL + "/send"
	client, faults := httpfault.Wrap(rs.Client())
	ch := chanloop.New("chan-loop", chanloop.Config{SendURL: send, Secret: secret}, client, testLogger(t))
	hook := httptest.NewServer(ch)
	t.Cleanup(hook.Close)
	return &channelEnv{remote: remote, ch: ch, hook: hook, send: send, faults: faults}
}

// postsMessage picks the helpdesk's requests that carry a message: ticket creation carries none.
func postsMessage(r *http.Request) bool {
	return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/messages")
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func TestHelpdeskConformance(t *testing.T) {
	var envs conformance.PerTest[*helpdeskEnv]
	conformance.RunHelpdesk(t, conformance.HelpdeskHarness{
		New: func(t *testing.T) connectors.Helpdesk {
			env := newHelpdeskEnv(t)
			envs.Put(t, env)
			return env.hd
		},
		Tickets: func(t *testing.T) map[normalize.ConversationID][]normalize.MessageID {
			env := envs.Get(t)
			tickets := env.remote.Tickets()
			require.Equal(t, env.remote.TicketCount(), len(tickets), "a conversation has more than one ticket")
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
			env := envs.Get(t)
			reply := loopback.Reply{ReplyID: replyID, Ticket: string(ticket), Text: text, Agent: "Bob"}
			retry(t, func(ctx context.Context) error { return loopback.AgentReply(ctx, env.hook.URL, secret, reply) })
		},
		Hook: func(h connectors.Helpdesk) http.Handler { return h.(http.Handler) },
		AgentSends: func(t *testing.T, ticket normalize.Ref, replyID, text string) error {
			env := envs.Get(t)
			reply := loopback.Reply{ReplyID: replyID, Ticket: string(ticket), Text: text, Agent: "Bob"}
			return env.acks.Record(replyID, loopback.AgentReply(t.Context(), env.hook.URL, secret, reply))
		},
		ReplyAcknowledged: func(t *testing.T, _ normalize.Ref, replyID string) bool {
			return envs.Get(t).acks.Acknowledged(replyID)
		},
		FailAfter: func(t *testing.T, k int, f httpfault.Fault) {
			envs.Get(t).faults.After(k, postsMessage, f)
		},
	})
}

func TestChannelConformance(t *testing.T) {
	var envs conformance.PerTest[*channelEnv]
	conformance.RunChannel(t, conformance.ChannelHarness{
		New: func(t *testing.T) connectors.Channel {
			env := newChannelEnv(t)
			envs.Put(t, env)
			return env.ch
		},
		PlayerSends: func(t *testing.T, _ connectors.Channel, address normalize.Address, externalID, text string) error {
			env := envs.Get(t)
			return env.acks.Record(externalID, loopback.PlayerSend(t.Context(), env.hook.URL, secret,
				loopback.PlayerMessage{ID: externalID, Address: string(address), Text: text, Name: "Ann"}))
		},
		Received: func(t *testing.T, address normalize.Address) []string {
			var texts []string
			for _, s := range envs.Get(t).remote.Received(string(address)) {
				texts = append(texts, s.Text)
			}
			return texts
		},
		Idempotent: true,
		Acknowledged: func(t *testing.T, _ normalize.Address, externalID string) bool {
			return envs.Get(t).acks.Acknowledged(externalID)
		},
		FailSend: func(t *testing.T, f httpfault.Fault) {
			envs.Get(t).faults.Next(nil, f) // Send makes one request, and nothing else calls the remote
		},
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
