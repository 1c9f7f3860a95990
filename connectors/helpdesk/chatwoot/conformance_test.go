package chatwoot

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/settings"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/test/chatwootfake"
	"github.com/casino-support/gateway/test/conformance"
	"github.com/casino-support/gateway/test/httpfault"
)

const testSecret = "inbox-webhook-secret-0123456789"

// env is one test's Chatwoot, the helpdesk talking to it, its hook served where the fake
// sends webhooks, and the fault injector between the helpdesk and the fake.
type env struct {
	fake   *chatwootfake.Server
	hd     *Helpdesk
	hook   *httptest.Server
	faults *httpfault.Transport
	blobs  *conformance.MemBlobs
	acks   conformance.Acks

	sending    sync.Mutex // one agent action at a time, so two sends of one reply make one
	mu         sync.Mutex
	deliveries map[string]string               // harness reply ID → the fake's delivery key
	written    map[string]chatwootfake.Message // harness reply ID → the agent's message (mode poll)
}

// The ways agents' actions reach the helpdesk in the tests.
type hookMode int

const (
	signedHook   hookMode = iota // the inbox's webhook, signed
	unsignedHook                 // the webhook of a release that signs nothing, with the token
	polled                       // no webhook: mode poll
)

// newEnv starts a fake Chatwoot and a helpdesk on it whose hook the fake's webhook reaches,
// signed with testSecret (secret "" sends unsigned webhooks to a hook that takes a token).
func newEnv(t *testing.T, signed bool) *env {
	mode := unsignedHook
	if signed {
		mode = signedHook
	}
	return newEnvMode(t, mode)
}

func newEnvMode(t *testing.T, mode hookMode) *env {
	signed := mode == signedHook
	fake := chatwootfake.New(t, chatwootfake.Options{})
	cfg := DefaultConfig()
	cfg.URL, cfg.AccountID, cfg.InboxID, cfg.APIToken = fake.URL, fake.AccountID(), fake.InboxID(), settings.Secret(fake.Token())
	cfg.ReconcileInterval = 0 // the conformance cases watch the webhook alone
	if mode == polled {
		cfg.Mode, cfg.PollInterval = ModePoll, 20*time.Millisecond
	}
	if signed {
		cfg.WebhookSecret = testSecret
	} else {
		cfg.HookToken = "shared-hook-token-0123456789"
	}
	client, faults := httpfault.Wrap(&http.Client{Timeout: 10 * time.Second})
	blobs := &conformance.MemBlobs{}
	hd, err := New("chatwoot-test", *cfg, Deps{Blobs: blobs, Client: client})
	require.NoError(t, err)
	hook := httptest.NewServer(hd)
	t.Cleanup(hook.Close)
	switch mode {
	case signedHook:
		fake.SetWebhook(chatwootfake.Webhook{URL: hook.URL, Secret: testSecret})
	case unsignedHook:
		fake.SetWebhook(chatwootfake.Webhook{URL: hook.URL + "?token=" + cfg.HookToken.Value()})
	}
	return &env{fake: fake, hd: hd, hook: hook, faults: faults, blobs: blobs, deliveries: map[string]string{}, written: map[string]chatwootfake.Message{}}
}

// tickets returns the fake's conversations by the gateway conversation they carry, with the
// gateway message IDs of the messages the gateway posted, in order.
func (e *env) tickets(t *testing.T) map[normalize.ConversationID][]normalize.MessageID {
	out := map[normalize.ConversationID][]normalize.MessageID{}
	convs := e.fake.Conversations()
	ids := make([]int, 0, len(convs))
	for id := range convs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		c := convs[id]
		key, _ := c.CustomAttributes[attrConversation].(string)
		require.NotEmpty(t, key, "conversation %d carries no %s", id, attrConversation)
		_, twice := out[normalize.ConversationID(key)]
		require.False(t, twice, "Chatwoot holds conversation %s twice", key)
		msgs := []normalize.MessageID{}
		for _, m := range c.Messages {
			if m.Type == chatwootfake.Incoming && strings.HasPrefix(m.SourceID, sourcePrefix) {
				msgs = append(msgs, normalize.MessageID(strings.TrimPrefix(m.SourceID, sourcePrefix)))
			}
		}
		out[normalize.ConversationID(key)] = msgs
	}
	return out
}

func ticketID(t *testing.T, ticket normalize.Ref) int {
	n, err := strconv.Atoi(string(ticket))
	require.NoError(t, err, "ticket %q", ticket)
	return n
}

// agentSends has an agent write on ticket the first time and redelivers the webhook after.
func (e *env) agentSends(t *testing.T, ticket normalize.Ref, replyID, text string, private bool) error {
	e.sending.Lock()
	defer e.sending.Unlock()
	e.mu.Lock()
	key, repeat := e.deliveries[replyID]
	e.mu.Unlock()
	if repeat {
		return e.acks.Record(replyID, e.fake.Redeliver(t.Context(), key))
	}
	_, key, err := e.fake.AgentReply(t.Context(), ticketID(t, ticket), chatwootfake.Agent{ID: 7, Name: "Alice Agent"}, text, private)
	e.mu.Lock()
	e.deliveries[replyID] = key
	e.mu.Unlock()
	return e.acks.Record(replyID, err)
}

// until repeats send, as Chatwoot retries a webhook, until the hook acknowledged it.
func until(t *testing.T, send func() error) {
	var err error
	require.Eventually(t, func() bool { err = send(); return err == nil }, 10*time.Second, 20*time.Millisecond, "the hook never acknowledged: %v", &err)
}

// carriesMessage picks the requests that carry a message Post was given.
var carriesMessage = regexp.MustCompile(`/conversations/[0-9]+/messages$`)

func TestConformance(t *testing.T) {
	for name, mode := range map[string]hookMode{"signed": signedHook, "unsigned_with_token": unsignedHook, "polled": polled} {
		t.Run(name, func(t *testing.T) { runConformance(t, mode) })
	}
}

func runConformance(t *testing.T, mode hookMode) {
	var envs conformance.PerTest[*env]
	h := conformance.HelpdeskHarness{
		New: func(t *testing.T) connectors.Helpdesk {
			e := newEnvMode(t, mode)
			envs.Put(t, e)
			return e.hd
		},
		Tickets: func(t *testing.T) map[normalize.ConversationID][]normalize.MessageID { return envs.Get(t).tickets(t) },
		AgentReply: func(t *testing.T, ticket normalize.Ref, replyID, text string) {
			e := envs.Get(t)
			until(t, func() error { return e.agentSends(t, ticket, replyID, text, false) })
		},
		Hook: func(h connectors.Helpdesk) http.Handler { return h.(*Helpdesk) },
		AgentSends: func(t *testing.T, ticket normalize.Ref, replyID, text string) error {
			return envs.Get(t).agentSends(t, ticket, replyID, text, false)
		},
		ReplyAcknowledged: func(t *testing.T, _ normalize.Ref, replyID string) bool {
			return envs.Get(t).acks.Acknowledged(replyID)
		},
		FailAfter: func(t *testing.T, k int, f httpfault.Fault) {
			envs.Get(t).faults.After(k, func(r *http.Request) bool {
				return r.Method == http.MethodPost && carriesMessage.MatchString(r.URL.Path)
			}, f)
		},
		Blobs: func(t *testing.T) connectors.Blobs { return envs.Get(t).blobs },
		Files: func(t *testing.T, ticket normalize.Ref, _ normalize.MessageID, ext normalize.ExternalID) []conformance.File {
			c, ok := envs.Get(t).fake.Conversation(ticketID(t, ticket))
			require.True(t, ok, "no conversation %s", ticket)
			var out []conformance.File
			for _, m := range c.Messages {
				if strconv.Itoa(m.ID) == string(ext) {
					for _, a := range m.Attachments {
						out = append(out, conformance.File{Name: a.Name, MediaType: a.Type, Content: a.Content})
					}
				}
			}
			return out
		},
		AgentNote: func(t *testing.T, ticket normalize.Ref, noteID, text string) {
			e := envs.Get(t)
			until(t, func() error { return e.agentSends(t, ticket, noteID, text, true) })
		},
		EchoOf: func(t *testing.T, ticket normalize.Ref, _ connectors.Delivery, ext normalize.ExternalID) {
			e := envs.Get(t)
			msg, err := strconv.Atoi(string(ext))
			require.NoError(t, err)
			until(t, func() error { _, err := e.fake.Echo(t.Context(), ticketID(t, ticket), msg); return err })
		},
		FollowUpOf: func(t *testing.T, ticket normalize.Ref) normalize.Ref {
			c, ok := envs.Get(t).fake.Conversation(ticketID(t, ticket))
			require.True(t, ok, "no conversation %s", ticket)
			old, _ := c.CustomAttributes[attrFollowUpOf].(string)
			return normalize.Ref(old)
		},
		SetStatus: func(t *testing.T, ticket normalize.Ref, status normalize.Status) {
			e := envs.Get(t)
			cw := map[normalize.Status]string{normalize.StatusClosed: "resolved", normalize.StatusOpen: "open", normalize.StatusPending: "pending"}[status]
			key, err := e.fake.SetStatus(t.Context(), ticketID(t, ticket), cw)
			if err != nil {
				until(t, func() error { return e.fake.Redeliver(t.Context(), key) })
			}
		},
	}
	if mode == polled {
		// Chatwoot keeps what agents did for the poller: nothing is refused, only not yet read.
		// A repeat is the poller reading it again, which it does within pollSettle anyway.
		h.Hook = nil
		h.AgentSends = func(t *testing.T, ticket normalize.Ref, replyID, text string) error {
			return envs.Get(t).agentPolled(t, ticket, replyID, text, false)
		}
		h.AgentReply = func(t *testing.T, ticket normalize.Ref, replyID, text string) {
			require.NoError(t, envs.Get(t).agentPolled(t, ticket, replyID, text, false))
		}
		h.AgentNote = func(t *testing.T, ticket normalize.Ref, noteID, text string) {
			require.NoError(t, envs.Get(t).agentPolled(t, ticket, noteID, text, true))
		}
		// The poller reads pollSettle back of its cursor every time, so a reply is behind it
		// only once handed over: then it is among what the poller will not hand over again.
		h.ReplyAcknowledged = func(t *testing.T, _ normalize.Ref, replyID string) bool {
			e := envs.Get(t)
			e.mu.Lock()
			m, ok := e.written[replyID]
			e.mu.Unlock()
			e.hd.mu.Lock()
			defer e.hd.mu.Unlock()
			_, seen := e.hd.polledSeen[normalize.ExternalID(strconv.Itoa(m.ID))]
			return ok && seen
		}
		h.EchoOf = func(*testing.T, normalize.Ref, connectors.Delivery, normalize.ExternalID) {} // the poller reads it anyway
	}
	conformance.RunHelpdesk(t, h)
}

// agentPolled has an agent write on ticket the first time (no webhook: the poller finds it);
// a repeat makes the poller forget what it handed over, as a restart does, so its next read
// hands the reply over again.
func (e *env) agentPolled(t *testing.T, ticket normalize.Ref, replyID, text string, private bool) error {
	e.sending.Lock()
	defer e.sending.Unlock()
	e.mu.Lock()
	_, repeat := e.written[replyID]
	e.mu.Unlock()
	if repeat {
		// As a restart does: the poller forgets what it handed over and reads it again.
		e.hd.mu.Lock()
		e.hd.polledSeen = nil
		e.hd.mu.Unlock()
		return nil
	}
	m, _, err := e.fake.AgentReply(t.Context(), ticketID(t, ticket), chatwootfake.Agent{ID: 7, Name: "Alice Agent"}, text, private)
	e.mu.Lock()
	e.written[replyID] = m
	e.mu.Unlock()
	return err
}
