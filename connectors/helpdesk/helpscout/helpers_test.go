package helpscout

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
	"github.com/casino-support/gateway/connectors/helpdesk/hdkit"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/test/conformance"
	"github.com/casino-support/gateway/test/helpscoutfake"
	"github.com/casino-support/gateway/test/httpfault"
)

const testSecret = "helpscout-webhook-secret-0123456789"

// env is one test's helpdesk in front of its own fake Help Scout, with the fault injector on
// the helpdesk's wire, an agent, and what the fake learned of its webhook deliveries.
type env struct {
	hd     *Helpdesk
	hs     *helpscoutfake.Server
	faults *httpfault.Transport
	blobs  connectors.Blobs
	agent  int64
	acks   conformance.Acks

	mu      sync.Mutex
	replies map[string]int64 // the suite's reply ID → the agent's thread
}

// newEnv starts a fake Help Scout and a helpdesk on it; tweak adjusts the config first.
func newEnv(t *testing.T, tweak func(*Config)) *env {
	t.Helper()
	hs := helpscoutfake.New()
	t.Cleanup(hs.Close)
	cfg := DefaultConfig()
	cfg.URL, cfg.ClientID, cfg.ClientSecret, cfg.MailboxID = hs.URL, helpscoutfake.ClientID, helpscoutfake.ClientSecret, helpscoutfake.MailboxID
	cfg.WebhookSecret = testSecret
	cfg.ReconcileInterval = 0
	if tweak != nil {
		tweak(cfg)
	}
	bl := &conformance.MemBlobs{}
	faults := &httpfault.Transport{}
	hd, err := New("helpscout-test", *cfg, Deps{Blobs: bl, Client: &http.Client{Transport: faults, Timeout: 10 * time.Second}})
	require.NoError(t, err)
	e := &env{hd: hd, hs: hs, faults: faults, blobs: bl, agent: hs.AddAgent("Alice", "Agent"), replies: map[string]int64{}}
	srv := httptest.NewServer(hd)
	t.Cleanup(srv.Close)
	hs.SetWebhook(srv.URL, testSecret, false)
	return e
}

// convID parses a ticket reference.
func convID(t *testing.T, ref normalize.Ref) int64 {
	t.Helper()
	n, err := strconv.ParseInt(string(ref), 10, 64)
	require.NoError(t, err, "ticket reference %q", ref)
	return n
}

// held reads what the fake holds per conversation: the gateway message IDs marked on the
// threads of the conversation's Help Scout conversations, in order.
func (e *env) held(t *testing.T) map[normalize.ConversationID][]normalize.MessageID {
	t.Helper()
	out := map[normalize.ConversationID][]normalize.MessageID{}
	seen := map[normalize.ConversationID]int64{}
	for id, c := range e.hs.Conversations() {
		var tags []tag
		for _, tg := range c.Tags {
			tags = append(tags, tag{Tag: tg})
		}
		conv, ok := e.hd.conversationOf(tags)
		if !ok {
			continue
		}
		require.NotContains(t, seen, conv, "conversation %s has two Help Scout conversations: %d and %d", conv, seen[conv], id)
		seen[conv] = id
		ids := []normalize.MessageID{}
		for _, th := range c.Threads {
			if m, ok := hdkit.MarkedID(plain(th.Body)); ok {
				ids = append(ids, m)
			}
		}
		out[conv] = ids
	}
	return out
}

// agentReply adds an agent's reply the first time a reply ID is seen; a repeat makes the
// helpdesk forget what it delivered of the conversation, as a restart does, so the
// notification brings the reply again.
func (e *env) agentReply(t *testing.T, ticket normalize.Ref, replyID, text string) int64 {
	t.Helper()
	id := convID(t, ticket)
	e.mu.Lock()
	defer e.mu.Unlock()
	if tid, repeat := e.replies[replyID]; repeat {
		e.hd.forgetSeen(id)
		return tid
	}
	tid, err := e.hs.AgentReply(id, e.agent, text)
	require.NoError(t, err)
	e.replies[replyID] = tid
	return tid
}

// carriesMessage picks the requests that carry a message: a conversation created with the
// first, a customer thread or a note. Look-ups, customers and tokens pass.
var carriesMessage = regexp.MustCompile(`^/v2/conversations(/[0-9]+/(customer|notes))?$`)

func carries(r *http.Request) bool {
	return r.Method == http.MethodPost && carriesMessage.MatchString(r.URL.Path)
}

// Generous bounds for the fake, which answers in microseconds.
const (
	waitFor = 10 * time.Second
	tick    = 10 * time.Millisecond
)
