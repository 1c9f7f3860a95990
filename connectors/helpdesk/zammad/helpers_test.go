package zammad

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/test/conformance"
	"github.com/casino-support/gateway/test/httpfault"
	"github.com/casino-support/gateway/test/zammadfake"
)

const testToken = "zammad-hmac-signature-token-0123"

// env is one test's helpdesk in front of its own fake Zammad, with the fault injector on
// the helpdesk's wire, an agent, and what the fake learned of its webhook deliveries.
type env struct {
	hd     *Helpdesk
	zm     *zammadfake.Server
	faults *httpfault.Transport
	blobs  connectors.Blobs
	agent  int64
	hook   string
	acks   conformance.Acks

	mu      sync.Mutex
	replies map[string]int64 // the suite's reply ID → the agent's article
}

// newEnv starts a fake Zammad and a helpdesk on it; tweak adjusts the config first.
func newEnv(t *testing.T, tweak func(*Config)) *env {
	t.Helper()
	zm := zammadfake.New()
	t.Cleanup(zm.Close)
	cfg := DefaultConfig()
	cfg.URL, cfg.Token, cfg.WebhookToken = zm.URL, zammadfake.Token, testToken
	cfg.ReconcileInterval = 0
	if tweak != nil {
		tweak(cfg)
	}
	bl := &conformance.MemBlobs{}
	faults := &httpfault.Transport{}
	hd, err := New("zammad-test", *cfg, Deps{Blobs: bl, Client: &http.Client{Transport: faults, Timeout: 10 * time.Second}})
	require.NoError(t, err)
	srv := httptest.NewServer(hd)
	t.Cleanup(srv.Close)
	zm.SetWebhook(srv.URL, testToken, false)
	return &env{hd: hd, zm: zm, faults: faults, blobs: bl, agent: zm.AddAgent("Alice Agent"), hook: srv.URL, replies: map[string]int64{}}
}

// ticketID parses a ticket reference.
func ticketID(t *testing.T, ref normalize.Ref) int64 {
	t.Helper()
	n, err := strconv.ParseInt(string(ref), 10, 64)
	require.NoError(t, err, "ticket reference %q", ref)
	return n
}

// held reads what the fake holds per conversation: the gateway message IDs marked on the
// articles of the conversation's open ticket, in order; two open tickets of one conversation
// fail t.
func (e *env) held(t *testing.T) map[normalize.ConversationID][]normalize.MessageID {
	t.Helper()
	out := map[normalize.ConversationID][]normalize.MessageID{}
	seen := map[normalize.ConversationID]int64{}
	for id, tk := range e.zm.Tickets() {
		conv, _ := tk.Attributes["gateway_conversation"].(string)
		if conv == "" {
			continue
		}
		c := normalize.ConversationID(conv)
		require.NotContains(t, seen, c, "conversation %s has two tickets: %d and %d", c, seen[c], id)
		seen[c] = id
		ids := []normalize.MessageID{}
		for _, a := range tk.Articles {
			if m, ok := markedID(a.Body); ok {
				ids = append(ids, m)
			}
		}
		out[c] = ids
	}
	return out
}

// agentReply adds an agent's public article the first time a reply ID is seen; a repeat
// makes the helpdesk forget what it delivered of the ticket, as a restart does, so the
// webhook brings the reply again.
func (e *env) agentReply(t *testing.T, ticket normalize.Ref, replyID, text string) int64 {
	t.Helper()
	id := ticketID(t, ticket)
	e.mu.Lock()
	defer e.mu.Unlock()
	if aid, repeat := e.replies[replyID]; repeat {
		e.hd.forgetSeen(id)
		return aid
	}
	aid, err := e.zm.AgentArticle(id, e.agent, text, false)
	require.NoError(t, err)
	e.replies[replyID] = aid
	return aid
}

// carriesMessage picks the requests that carry a message: a ticket created with the first,
// an article, an Update of a ticket. Look-ups and users pass.
var carriesMessage = regexp.MustCompile(`^/api/v1/(tickets|ticket_articles)$`)

func carries(r *http.Request) bool {
	return r.Method == http.MethodPost && carriesMessage.MatchString(r.URL.Path)
}

// Generous bounds for the fake, which answers in microseconds.
const (
	waitFor = 10 * time.Second
	tick    = 10 * time.Millisecond
)
