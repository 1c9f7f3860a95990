package zendesk

import (
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/helpdesk/hdkit"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/test/conformance"
	"github.com/casino-support/gateway/test/httpfault"
	"github.com/casino-support/gateway/test/zendeskfake"
)

const testSecret = "zendesk-signing-secret-0123456789"

// env is one test's helpdesk in front of its own fake Zendesk, with the fault injector on
// the helpdesk's wire, an agent, and what the fake learned of its webhook deliveries.
type env struct {
	hd     *Helpdesk
	zd     *zendeskfake.Server
	faults *httpfault.Transport
	blobs  connectors.Blobs
	agent  int64
	hook   string // the hook's URL, served by an httptest server
	acks   conformance.Acks

	mu      sync.Mutex
	replies map[string]int64 // the suite's reply ID → the agent's comment
}

// newEnv starts a fake Zendesk and a helpdesk on it; tweak adjusts the config first.
func newEnv(t *testing.T, tweak func(*Config)) *env {
	t.Helper()
	zd := zendeskfake.New()
	t.Cleanup(zd.Close)
	cfg := DefaultConfig()
	cfg.URL, cfg.Email, cfg.Token = zd.URL, zendeskfake.Email, zendeskfake.Token
	cfg.WebhookSecret = testSecret
	cfg.ReconcileInterval = 0
	if tweak != nil {
		tweak(cfg)
	}
	bl := &conformance.MemBlobs{}
	faults := &httpfault.Transport{}
	hd, err := New("zendesk-test", *cfg, Deps{Blobs: bl, Client: &http.Client{Transport: faults, Timeout: 10 * time.Second}})
	require.NoError(t, err)
	e := &env{hd: hd, zd: zd, faults: faults, blobs: bl, agent: zd.AddAgent("Alice Agent"), replies: map[string]int64{}}
	srv := newHookServer(t, hd)
	e.hook = srv
	zd.SetWebhook(srv, testSecret, false)
	return e
}

// ticketID parses a ticket reference.
func ticketID(t *testing.T, ref normalize.Ref) int64 {
	t.Helper()
	n, err := strconv.ParseInt(string(ref), 10, 64)
	require.NoError(t, err, "ticket reference %q", ref)
	return n
}

// held reads what the fake holds per conversation: the gateway message IDs marked on the
// comments of the conversation's tickets, in order.
func (e *env) held(t *testing.T) map[normalize.ConversationID][]normalize.MessageID {
	t.Helper()
	out := map[normalize.ConversationID][]normalize.MessageID{}
	seen := map[normalize.ConversationID]int64{}
	for id, tk := range e.zd.Tickets() {
		conv, ok := e.hd.conversationOf(tk.ExternalID)
		if !ok {
			continue
		}
		require.NotContains(t, seen, conv, "conversation %s has two tickets: %d and %d", conv, seen[conv], id)
		seen[conv] = id
		ids := []normalize.MessageID{}
		for _, c := range tk.Comments {
			if m, ok := hdkit.MarkedID(c.Body); ok {
				ids = append(ids, m)
			}
		}
		out[conv] = ids
	}
	return out
}

// agentReplies adds an agent's public comment the first time a reply ID is seen; a repeat
// makes the helpdesk forget what it delivered of the ticket, as a restart does, so the
// notification brings the reply again.
func (e *env) agentReply(t *testing.T, ticket normalize.Ref, replyID, text string) int64 {
	t.Helper()
	id := ticketID(t, ticket)
	// Held throughout: the suite sends one reply from two goroutines at once, which is one
	// comment delivered twice, not two comments.
	e.mu.Lock()
	defer e.mu.Unlock()
	if cid, repeat := e.replies[replyID]; repeat {
		e.hd.forgetSeen(id)
		return cid
	}
	cid, err := e.zd.AgentComment(id, e.agent, text, true)
	require.NoError(t, err)
	e.replies[replyID] = cid
	return cid
}

// carriesMessage picks the requests that carry a message: a ticket created with the first,
// a comment or an Update on a ticket. Look-ups, users and uploads pass.
var carriesMessage = regexp.MustCompile(`^/api/v2/tickets(/[0-9]+)?$`)

func carries(r *http.Request) bool {
	return (r.Method == http.MethodPost || r.Method == http.MethodPut) && carriesMessage.MatchString(r.URL.Path)
}

// Generous bounds for the fake, which answers in microseconds.
const (
	waitFor = 10 * time.Second
	tick    = 10 * time.Millisecond
)
