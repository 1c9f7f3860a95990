package inbox

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/test/conformance"
)

// TestConformance runs the shared Helpdesk suite against the inbox. The inbox copies no
// content, so the harness reads tickets and messages the way an agent does: the list of
// conversations and each conversation's thread, rendered from the fake gateway store that
// the harness's Post fills first, as the router's intake does. Agents reply by signing in
// and sending the thread's reply form; the reply is acknowledged to the agent once the form
// is answered with the redirect back to the thread.
//
// Post writes the inbox's own database in one transaction: no remote answers it with a
// status and no batch fails half-way, so the harness has no FailAfter.
func TestConformance(t *testing.T) {
	var envs conformance.PerTest[*conformanceEnv]
	conformance.RunHelpdesk(t, conformance.HelpdeskHarness{
		New: func(t *testing.T) connectors.Helpdesk {
			env := newConformanceEnv(t)
			envs.Put(t, env)
			return routed{Inbox: env.f.in, env: env}
		},
		Tickets: func(t *testing.T) map[normalize.ConversationID][]normalize.MessageID {
			out := map[normalize.ConversationID][]normalize.MessageID{}
			for conv := range envs.Get(t).listed() {
				out[conv] = nil
			}
			return out
		},
		Shown: func(t *testing.T, ticket normalize.Ref) []string {
			return envs.Get(t).shown(ticket)
		},
		AgentReply: func(t *testing.T, ticket normalize.Ref, replyID, text string) {
			envs.Get(t).reply(ticket, replyID, text)
		},
		AgentSends: func(t *testing.T, ticket normalize.Ref, replyID, text string) error {
			env := envs.Get(t)
			resp := env.submit(ticket, replyID, text)
			if resp.status != http.StatusSeeOther {
				return env.acks.Record(replyID, fmt.Errorf("the reply form was answered %d", resp.status))
			}
			return env.acks.Record(replyID, nil)
		},
		ReplyAcknowledged: func(t *testing.T, _ normalize.Ref, replyID string) bool {
			return envs.Get(t).acks.Acknowledged(replyID)
		},
		// No Hook: agents reply through the inbox's own pages, which its tests probe.
		AgentNote: func(t *testing.T, ticket normalize.Ref, noteID, text string) {
			envs.Get(t).note(ticket, noteID, text)
		},
		SetStatus: func(t *testing.T, ticket normalize.Ref, status normalize.Status) {
			envs.Get(t).setStatus(ticket, status)
		},
		// No Blobs/Files: the inbox copies no content; agents download a player's files from
		// the gateway's blob store, which its own tests (thread_test.go) cover. No EchoOf: the
		// inbox shows the gateway store's thread and reports only what agents do on its pages.
	})
}

// note adds text on ticket as an internal note, as an agent does with "Add internal note".
func (env *conformanceEnv) note(ticket normalize.Ref, noteID, text string) {
	form := replyFormOf(env.t, env.thread(ticket).body)
	form.fields.Set("text", text)
	form.fields.Set("action", "note")
	var file []byte
	if form.file {
		file = []byte{}
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		resp := env.browser().postMultipart(form.action, form.fields, "", file)
		if resp.status == http.StatusSeeOther {
			return
		}
		require.Equal(env.t, http.StatusServiceUnavailable, resp.status, resp.body)
		require.True(env.t, time.Now().Before(deadline), "the inbox never took note %s: %s", noteID, resp.body)
	}
}

// statusForm finds the thread's Close or Reopen form.
var statusForm = regexp.MustCompile(`(?s)<form method="post" action="([^"]+/(?:close|reopen))" class="inline">(.*?)</form>`)

// setStatus closes or reopens ticket's conversation as an agent does, with the form the
// thread shows (Close on an open one, Reopen on a closed one).
func (env *conformanceEnv) setStatus(ticket normalize.Ref, status normalize.Status) {
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		page := env.thread(ticket).body
		m := statusForm.FindStringSubmatch(page)
		require.NotNil(env.t, m, "no Close or Reopen form in:\n%s", page)
		action := html.UnescapeString(m[1])
		want := "/close"
		if status != normalize.StatusClosed {
			want = "/reopen"
		}
		if !strings.HasSuffix(action, want) {
			// The thread shows the other button: the status on the page is not the one the
			// suite assumes; post to the one it asks for all the same, as a stale tab does.
			action = action[:strings.LastIndex(action, "/")] + want
		}
		fields := url.Values{}
		for _, in := range hiddenInput.FindAllStringSubmatch(m[2], -1) {
			fields.Add(html.UnescapeString(in[1]), html.UnescapeString(in[2]))
		}
		resp := env.browser().postForm(action, fields)
		if resp.status == http.StatusSeeOther {
			return
		}
		require.Equal(env.t, http.StatusServiceUnavailable, resp.status, resp.body)
		require.True(env.t, time.Now().Before(deadline), "the inbox never took the status change: %s", resp.body)
	}
}

// conformanceEnv is one subtest's inbox with what the harness remembers about it.
type conformanceEnv struct {
	t *testing.T
	f *fixture

	formMu  sync.Mutex // held while a reply's form is made, see submit
	mu      sync.Mutex
	tickets map[normalize.Ref]normalize.ConversationID // as Post returned them
	forms   map[string]postedForm                      // reply ID → the form first sent with it
	agent   *browser                                   // signed in on first use
	acks    conformance.Acks                           // the replies the agent saw taken
}

// postedForm is a filled-in form as the browser sends it.
type postedForm struct {
	action string
	fields url.Values
	file   bool // the form has a file input, which browsers send empty
}

// newConformanceEnv starts one subtest's inbox.
func newConformanceEnv(t *testing.T) *conformanceEnv {
	return &conformanceEnv{t: t, f: newIdleFixture(t), tickets: map[normalize.Ref]normalize.ConversationID{},
		forms: map[string]postedForm{}}
}

// routed is the inbox as the router uses it: every message is in the gateway store before it
// is posted, and only conversations routed to this inbox are posted to it.
type routed struct {
	*Inbox
	env *conformanceEnv
}

func (r routed) Post(ctx context.Context, conv normalize.Conversation, msgs []connectors.Delivery) (normalize.Ref, []normalize.ExternalID, error) {
	stored := conv
	stored.Helpdesk = r.name // the suite's conversations name a placeholder helpdesk
	held := make([]normalize.Message, len(msgs))
	for n, d := range msgs {
		held[n] = d.Message
	}
	r.env.f.convs.intake(stored, held...)
	ticket, ids, err := r.Inbox.Post(ctx, conv, msgs)
	if ticket != "" {
		r.env.mu.Lock()
		r.env.tickets[ticket] = conv.ID
		r.env.mu.Unlock()
	}
	return ticket, ids, err
}

// browser returns the agent's browser, signing in the first time.
func (env *conformanceEnv) browser() *browser {
	env.mu.Lock()
	defer env.mu.Unlock()
	if env.agent == nil {
		env.agent = env.f.signedIn()
	}
	return env.agent
}

var listRow = regexp.MustCompile(`(?s)<tr class="conversation[^"]*" data-id="([^"]+)">.*?<a href="([^"]+)"`)

// listed returns the conversations the list shows an agent (open and closed), each with the
// link to its thread. It fails the test if one is listed twice.
func (env *conformanceEnv) listed() map[normalize.ConversationID]string {
	page := env.browser().get(env.f.cfg.Path + "/?status=all")
	require.Equal(env.t, http.StatusOK, page.status, page.body)
	out := map[normalize.ConversationID]string{}
	for _, m := range listRow.FindAllStringSubmatch(page.body, -1) {
		conv := normalize.ConversationID(html.UnescapeString(m[1]))
		require.NotContains(env.t, out, conv, "the list shows conversation %s twice", conv)
		out[conv] = html.UnescapeString(m[2])
	}
	return out
}

// thread opens ticket's conversation from the list, as an agent does, and returns the page.
func (env *conformanceEnv) thread(ticket normalize.Ref) response {
	env.mu.Lock()
	conv, ok := env.tickets[ticket]
	env.mu.Unlock()
	require.True(env.t, ok, "harness: Post never returned ticket %q", ticket)
	link, ok := env.listed()[conv]
	require.True(env.t, ok, "the list does not show the conversation of ticket %q", ticket)
	page := env.browser().get(link)
	require.Equal(env.t, http.StatusOK, page.status, page.body)
	return page
}

var (
	threadMessage = regexp.MustCompile(`(?s)<article class="msg [^"]*">(.*?)</article>`)
	messageText   = regexp.MustCompile(`(?s)<div class="text">(.*?)</div>`)
)

// shown returns the texts of the messages on ticket's thread page, in order.
func (env *conformanceEnv) shown(ticket normalize.Ref) []string {
	out := []string{}
	for _, m := range threadMessage.FindAllStringSubmatch(env.thread(ticket).body, -1) {
		text := ""
		if t := messageText.FindStringSubmatch(m[1]); t != nil {
			text = html.UnescapeString(t[1])
		}
		out = append(out, text)
	}
	return out
}

var (
	replyFormPattern = regexp.MustCompile(`(?s)<form id="reply" method="post" action="([^"]+)" enctype="multipart/form-data">(.*?)</form>`)
	hiddenInput      = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
)

// reply sends text on ticket as the agent (see submit). A 503 (Run has not started yet) is
// retried as an agent would, with the same form.
func (env *conformanceEnv) reply(ticket normalize.Ref, replyID, text string) {
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		resp := env.submit(ticket, replyID, text)
		if resp.status == http.StatusSeeOther {
			return
		}
		require.Equal(env.t, http.StatusServiceUnavailable, resp.status, resp.body)
		require.True(env.t, time.Now().Before(deadline), "the inbox never took the reply: %s", resp.body)
	}
}

// submit sends text on ticket as the agent, once: open the thread, fill in its reply form and
// press "Send reply". A repeated replyID sends the very form again, as a browser resubmitting
// it does.
func (env *conformanceEnv) submit(ticket normalize.Ref, replyID, text string) response {
	// One form per reply, also when the suite sends a reply twice at once (the same form
	// resubmitted); two forms would be two replies, as from two tabs.
	env.formMu.Lock()
	env.mu.Lock()
	form, again := env.forms[replyID]
	env.mu.Unlock()
	if !again {
		form = replyFormOf(env.t, env.thread(ticket).body)
		form.fields.Set("text", text)
		form.fields.Set("action", "reply") // the pressed button's name and value
		env.mu.Lock()
		env.forms[replyID] = form
		env.mu.Unlock()
	}
	env.formMu.Unlock()
	var file []byte
	if form.file {
		file = []byte{}
	}
	return env.browser().postMultipart(form.action, form.fields, "", file)
}

// replyFormOf reads the reply form of a thread page: where it posts and its hidden fields.
func replyFormOf(t *testing.T, page string) postedForm {
	t.Helper()
	m := replyFormPattern.FindStringSubmatch(page)
	require.NotNil(t, m, "no reply form in:\n%s", page)
	form := postedForm{action: html.UnescapeString(m[1]), fields: url.Values{},
		file: regexp.MustCompile(`<input [^>]*type="file" name="attachment"`).MatchString(m[2])}
	for _, in := range hiddenInput.FindAllStringSubmatch(m[2], -1) {
		form.fields.Add(html.UnescapeString(in[1]), html.UnescapeString(in[2]))
	}
	require.NotEmpty(t, form.fields.Get(csrfField), "the reply form has no CSRF token")
	require.NotEmpty(t, form.fields.Get("token"), "the reply form has no idempotency token")
	return form
}
