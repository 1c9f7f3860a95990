package conformance

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

// HelpdeskHarness connects RunHelpdesk to one helpdesk implementation and its fake remote.
// The suite passes each subtest's own t, so a harness may keep per-test state keyed by t.
type HelpdeskHarness struct {
	// New returns a helpdesk talking to a remote that is ready for this test; the harness
	// registers its cleanup on t.
	New func(t *testing.T) connectors.Helpdesk
	// Tickets returns what the remote holds per conversation: the gateway message IDs of the
	// posted messages, in order. It should fail t if the remote holds a conversation twice.
	// With Shown set, only its keys count: the lists may be empty.
	Tickets func(t *testing.T) map[normalize.ConversationID][]normalize.MessageID
	// Shown is optional, for a helpdesk that copies no message content but shows its agents
	// the conversation from the gateway store (the built-in inbox), so it has no message IDs
	// to report. It returns the texts an agent sees on ticket, in order, and the suite compares
	// them with the texts posted instead of comparing IDs. New must then give the helpdesk a
	// store that the harness's Post fills before posting, as the router's intake does.
	Shown func(t *testing.T, ticket normalize.Ref) []string
	// AgentReply makes the remote send an agent reply on ticket the way the helpdesk receives
	// them (a webhook to the hook, an entry its poller finds), retrying until the remote's
	// delivery was acknowledged.
	AgentReply func(t *testing.T, ticket normalize.Ref, replyID, text string)
	// Hook returns the handler the gateway mounts at /hooks/{instance} for h, or nil if the
	// helpdesk polls. The suite probes it with requests no remote would send, which must be
	// refused without reaching the sink.
	Hook func(h connectors.Helpdesk) http.Handler
}

// RunHelpdesk checks the promises the router relies on from every connectors.Helpdesk.
func RunHelpdesk(t *testing.T, h HelpdeskHarness) {
	t.Run("FirstPostCreatesOneTicket", func(t *testing.T) { helpdeskFirstPost(t, h) })
	t.Run("SecondPostAppends", func(t *testing.T) { helpdeskAppend(t, h) })
	t.Run("RetryDoesNotDuplicate", func(t *testing.T) { helpdeskRetry(t, h) })
	t.Run("TwoConversationsTwoTickets", func(t *testing.T) { helpdeskTwoConversations(t, h) })
	t.Run("AgentReplyReachesSink", func(t *testing.T) { helpdeskAgentReply(t, h) })
	t.Run("HookRefusesGarbage", func(t *testing.T) { helpdeskHookGarbage(t, h) })
	t.Run("RunReturnsAfterCancel", func(t *testing.T) { checkRunStops(t, h.New(t).Run) })
}

// post calls Post and requires it to deliver everything: ticket set, one distinct ID each.
func post(t *testing.T, hd connectors.Helpdesk, conv normalize.Conversation, msgs []connectors.Delivery) (normalize.Ref, []normalize.ExternalID) {
	t.Helper()
	ticket, ids, err := hd.Post(testContext(t), conv, msgs)
	require.NoError(t, err, "Post()")
	if conv.Ticket != "" {
		// The router ignores the ticket when it knows one; a different one would be a second ticket.
		require.Contains(t, []normalize.Ref{"", conv.Ticket}, ticket, "Post() on an existing ticket returned another ticket")
		ticket = conv.Ticket
	}
	require.NotEmpty(t, ticket, "Post() returned no ticket")
	require.Len(t, ids, len(msgs), "Post() must return one external ID per message")
	seen := map[normalize.ExternalID]bool{}
	for i, id := range ids {
		require.NotEmpty(t, id, "Post() external ID %d", i)
		require.False(t, seen[id], "Post() returned external ID %q twice", id)
		seen[id] = true
	}
	return ticket, ids
}

func helpdeskFirstPost(t *testing.T, h HelpdeskHarness) {
	hd := h.New(t)
	before := len(h.Tickets(t))
	conv := newConversation("conformance")
	msgs := inboundDeliveries(conv, "I cannot withdraw my winnings", "It says pending since Monday")
	ticket, _ := post(t, hd, conv, msgs)
	tickets := h.Tickets(t)
	require.Len(t, tickets, before+1, "the first Post must create exactly one ticket")
	requireHolds(t, h, tickets, conv.ID, ticket, msgs, "the ticket must hold the messages in order")
}

func helpdeskAppend(t *testing.T, h HelpdeskHarness) {
	hd := h.New(t)
	conv := newConversation("conformance")
	first := inboundDeliveries(conv, "hello")
	ticket, _ := post(t, hd, conv, first)
	before := len(h.Tickets(t))

	conv.Ticket = ticket
	more := inboundDeliveries(conv, "are you there?", "my account is 4711")
	post(t, hd, conv, more)
	tickets := h.Tickets(t)
	require.Len(t, tickets, before, "appending must not create a ticket")
	requireHolds(t, h, tickets, conv.ID, ticket, slices.Concat(first, more))
}

// helpdeskRetry re-posts what was posted, as the router does after a crash before it could
// record the outcome: first before the ticket was recorded, then after.
func helpdeskRetry(t *testing.T, h HelpdeskHarness) {
	hd := h.New(t)
	conv := newConversation("conformance")
	msgs := inboundDeliveries(conv, "deposit missing", "tx id 99")
	ticket, ids := post(t, hd, conv, msgs)
	before := len(h.Tickets(t))

	retry := func(ds []connectors.Delivery, attempt int) []connectors.Delivery {
		out := make([]connectors.Delivery, len(ds))
		for i, d := range ds {
			d.Attempt = attempt
			out[i] = d
		}
		return out
	}
	again, againIDs := post(t, hd, conv, retry(msgs, 2)) // conv.Ticket still empty
	require.Equal(t, ticket, again, "a retried first Post must find the ticket it created, not open another")
	require.Equal(t, ids, againIDs, "a retried Post must report the IDs of the messages already posted")

	conv.Ticket = ticket
	_, lastIDs := post(t, hd, conv, retry(msgs[1:], 3))
	require.Equal(t, ids[1:], lastIDs)

	tickets := h.Tickets(t)
	require.Len(t, tickets, before, "retries must not create tickets")
	requireHolds(t, h, tickets, conv.ID, ticket, msgs, "retries must not double messages")

	next := inboundDeliveries(conv, "thanks")
	post(t, hd, conv, next)
	requireHolds(t, h, h.Tickets(t), conv.ID, ticket, slices.Concat(msgs, next))
}

func helpdeskTwoConversations(t *testing.T, h HelpdeskHarness) {
	hd := h.New(t)
	before := len(h.Tickets(t))
	convs := []normalize.Conversation{newConversation("conformance"), newConversation("conformance")}
	msgs := make([][]connectors.Delivery, len(convs))
	tickets := make([]normalize.Ref, len(convs))
	ctx := testContext(t)
	var wg sync.WaitGroup
	for i := range convs {
		msgs[i] = inboundDeliveries(convs[i], "first of "+string(convs[i].ID), "second of "+string(convs[i].ID))
		wg.Go(func() {
			ticket, ids, err := hd.Post(ctx, convs[i], msgs[i])
			switch {
			case err != nil:
				t.Errorf("Post(%s) = %v", convs[i].ID, err)
			case len(ids) != len(msgs[i]):
				t.Errorf("Post(%s) returned %d IDs for %d messages", convs[i].ID, len(ids), len(msgs[i]))
			}
			tickets[i] = ticket
		})
	}
	wg.Wait()
	require.NotEqual(t, tickets[0], tickets[1], "two conversations must get two tickets")
	held := h.Tickets(t)
	require.Len(t, held, before+2)
	for i, c := range convs {
		requireHolds(t, h, held, c.ID, tickets[i], msgs[i], "messages of %s", c.ID)
	}
}

// requireHolds requires conv's ticket to hold msgs in order: their IDs as held (what Tickets
// returned) lists them or, for a helpdesk with Shown, their texts as its agents see them.
func requireHolds(t *testing.T, h HelpdeskHarness, held map[normalize.ConversationID][]normalize.MessageID,
	conv normalize.ConversationID, ticket normalize.Ref, msgs []connectors.Delivery, msgAndArgs ...any) {
	t.Helper()
	if h.Shown == nil {
		require.Equal(t, messageIDs(msgs), held[conv], msgAndArgs...)
		return
	}
	require.Contains(t, held, conv, "the helpdesk holds no ticket for conversation %s", conv)
	want := make([]string, len(msgs))
	for i, d := range msgs {
		want[i] = d.Text
	}
	require.Equal(t, want, h.Shown(t, ticket), msgAndArgs...)
}

func helpdeskAgentReply(t *testing.T, h HelpdeskHarness) {
	hd := h.New(t)
	sink := start(t, hd.Run)
	conv := newConversation("conformance")
	ticket, _ := post(t, hd, conv, inboundDeliveries(conv, "please call me"))

	replyID, text := unique("reply"), "We credited your account, "+unique("ref")
	h.AgentReply(t, ticket, replyID, text)
	isReply := func(m normalize.Message) bool { return strings.Contains(m.Text, text) }
	require.Eventually(t, func() bool { return len(sink.Where(isReply)) > 0 }, waitFor, tick, "the agent reply never reached the sink")
	got := sink.Where(isReply)[0]
	require.Equal(t, normalize.Outbound, got.Direction)
	require.NotEmpty(t, got.Source, "Source must name the helpdesk instance")
	require.NotEmpty(t, got.ExternalID, "ExternalID is the dedup key of the reply")
	require.True(t, got.Ticket == ticket || got.Conversation == conv.ID,
		"the reply must name its ticket (%q) or conversation (%q), got ticket %q conversation %q", ticket, conv.ID, got.Ticket, got.Conversation)
	require.Equal(t, normalize.RoleAgent, got.Author.Role)
	require.NotEqual(t, normalize.KindNote, got.Kind, "a public reply is not a note")

	// A remote repeating its delivery must produce the same dedup key, so the store drops it.
	h.AgentReply(t, ticket, replyID, text)
	require.Eventually(t, func() bool { return len(sink.Where(isReply)) >= 2 }, waitFor, tick)
	for _, m := range sink.Where(isReply) {
		require.Equal(t, got.Source, m.Source)
		require.Equal(t, got.ExternalID, m.ExternalID, "a repeated reply must keep its external ID")
	}
}

func helpdeskHookGarbage(t *testing.T, h HelpdeskHarness) {
	if h.Hook == nil {
		t.Skip("the helpdesk has no hook: it polls, or agents reply through its own pages")
	}
	hd := h.New(t)
	sink := start(t, hd.Run)
	probeHook(t, h.Hook(hd), sink)
}

// probeHook sends requests no remote would send and requires each to be refused with a
// non-2xx status without anything reaching the sink: a hook that acknowledges what it did
// not store loses messages.
func probeHook(t *testing.T, hook http.Handler, sink *RecordingSink) {
	t.Helper()
	srv := httptest.NewServer(hook)
	t.Cleanup(srv.Close)
	probes := []struct {
		name, method, body string
	}{
		{"GET", http.MethodGet, ""},
		{"empty body", http.MethodPost, ""},
		{"truncated JSON", http.MethodPost, `{"reply_id": "x", `},
		{"not JSON", http.MethodPost, "hello"},
	}
	for _, p := range probes {
		req, err := http.NewRequestWithContext(testContext(t), p.method, srv.URL, strings.NewReader(p.body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		resp, err := srv.Client().Do(req)
		require.NoError(t, err, p.name)
		resp.Body.Close()
		require.False(t, resp.StatusCode >= 200 && resp.StatusCode < 300, "%s: hook answered %d", p.name, resp.StatusCode)
	}
	require.Empty(t, sink.Messages(), "refused requests must not reach the sink")
}
