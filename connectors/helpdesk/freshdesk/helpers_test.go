package freshdesk

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/test/conformance"
	"github.com/casino-support/gateway/test/freshdeskfake"
	"github.com/casino-support/gateway/test/httpfault"
)

const testSecret = "freshdesk-shared-secret-0123456789"

// env is one test's helpdesk in front of its own fake Freshdesk, with the fault injector on
// the helpdesk's wire, an agent, and what the fake learned of its webhook deliveries.
type env struct {
	hd     *Helpdesk
	fd     *freshdeskfake.Server
	faults *httpfault.Transport
	blobs  connectors.Blobs
	agent  int64
	hook   string // the hook's URL, served by an httptest server
	acks   conformance.Acks

	mu      sync.Mutex
	replies map[string]int64 // the suite's reply ID → the agent's reply
}

// newEnv starts a fake Freshdesk and a helpdesk on it; tweak adjusts the config first.
func newEnv(t *testing.T, tweak func(*Config)) *env {
	t.Helper()
	fd := freshdeskfake.New()
	t.Cleanup(fd.Close)
	cfg := DefaultConfig()
	cfg.URL, cfg.APIKey = fd.URL, freshdeskfake.APIKey
	cfg.WebhookSecret = testSecret
	cfg.ReconcileInterval = 0
	if tweak != nil {
		tweak(cfg)
	}
	bl := &conformance.MemBlobs{}
	faults := &httpfault.Transport{}
	hd, err := New("freshdesk-test", *cfg, Deps{Blobs: bl, Client: &http.Client{Transport: faults, Timeout: 10 * time.Second}})
	require.NoError(t, err)
	e := &env{hd: hd, fd: fd, faults: faults, blobs: bl, agent: fd.AddAgent("Alice Agent"), replies: map[string]int64{}}
	srv := httptest.NewServer(hd)
	t.Cleanup(srv.Close)
	e.hook = srv.URL
	fd.SetWebhook(srv.URL, cfg.WebhookHeader, testSecret, false)
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
// description and notes of the conversation's ticket, in order.
func (e *env) held(t *testing.T) map[normalize.ConversationID][]normalize.MessageID {
	t.Helper()
	out := map[normalize.ConversationID][]normalize.MessageID{}
	seen := map[normalize.ConversationID]int64{}
	tickets := e.fd.Tickets()
	for _, id := range slices.Sorted(func(yield func(int64) bool) {
		for id := range tickets {
			if !yield(id) {
				return
			}
		}
	}) {
		tk := tickets[id]
		conv, ok := e.hd.conversationOf(tk.Description)
		if !ok {
			continue
		}
		require.NotContains(t, seen, conv, "conversation %s has two tickets: %d and %d", conv, seen[conv], id)
		seen[conv] = id
		ids := []normalize.MessageID{}
		if m, ok := markedID(tk.Description); ok {
			ids = append(ids, m)
		}
		for _, c := range tk.Conversations {
			if m, ok := markedID(c.Body); ok {
				ids = append(ids, m)
			}
		}
		out[conv] = ids
	}
	return out
}

// agentReply adds an agent's reply the first time a reply ID is seen; a repeat makes the
// helpdesk forget what it delivered of the ticket, as a restart does, so the notification
// brings the reply again.
func (e *env) agentReply(t *testing.T, ticket normalize.Ref, replyID, text string) int64 {
	t.Helper()
	id := ticketID(t, ticket)
	// Held throughout: the suite sends one reply from two goroutines at once, which is one
	// reply delivered twice, not two replies.
	e.mu.Lock()
	defer e.mu.Unlock()
	if cid, repeat := e.replies[replyID]; repeat {
		e.hd.seen.Delete(id)
		return cid
	}
	cid, err := e.fd.AgentReply(id, e.agent, text)
	require.NoError(t, err)
	e.replies[replyID] = cid
	return cid
}

// carriesMessage picks the requests that carry a message: a ticket created with the first,
// a note on a ticket. Look-ups, contacts and status changes pass.
var carriesMessage = regexp.MustCompile(`^/api/v2/tickets(/[0-9]+/notes)?$`)

func carries(r *http.Request) bool {
	return r.Method == http.MethodPost && carriesMessage.MatchString(r.URL.Path)
}

// Generous bounds for the fake, which answers in microseconds.
const (
	waitFor = 10 * time.Second
	tick    = 10 * time.Millisecond
)
