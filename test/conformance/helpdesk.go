package conformance

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/test/httpfault"
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

	// AgentSends makes the remote deliver an agent reply on ticket once, the way the helpdesk
	// receives them, without retrying: a second call with the same replyID is the remote
	// delivering that reply again. It returns an error when the helpdesk refused it (a hook's
	// non-2xx, the inbox's reply form answered with an error page), which a remote sends
	// again, and nil when the helpdesk acknowledged it or the remote keeps it for the
	// helpdesk to fetch (an RT correspondence waits for the poller). Nil, or
	// ReplyAcknowledged nil, skips SinkFailureIsNotAcknowledged.
	AgentSends func(t *testing.T, ticket normalize.Ref, replyID, text string) error
	// ReplyAcknowledged reports whether the remote considers the reply AgentSends delivered
	// handed over, so that it will not deliver it again: the hook answered 2xx (see Acks),
	// the poller moved its cursor past the reply.
	ReplyAcknowledged func(t *testing.T, ticket normalize.Ref, replyID string) bool
	// FailAfter lets the remote take the next k messages Post sends and makes the request
	// that carries the message after them meet f, through an httpfault.Transport in the
	// client the helpdesk was built with (New). A request creating a ticket with its first
	// message carries that message; requests carrying none (look-ups, opening a conversation
	// without a message) pass and do not count. Nil skips PartialBatchReportsPrefix,
	// LostAnswerIsNotDoubled and PostClassifiesErrors, for a helpdesk that writes its own
	// database in one transaction (the inbox): no remote answers a status, and no batch
	// fails half-way.
	FailAfter func(t *testing.T, k int, f httpfault.Fault)
	// Overrides are the classes the helpdesk's protocol gives statuses where it departs from
	// connectors.ClassifyStatus, the one policy (see ChannelHarness.Overrides).
	Overrides map[int]ErrorClass

	// The fields below serve the cases of issue 18 (helpdesk_sync.go). Each is optional: nil
	// skips the cases that need it, saying why.

	// Blobs returns the blob store the helpdesk New built reads attachments from; the suite
	// puts the files of a player's message there first, as a channel does before Deliver.
	// Blobs or Files nil skips Attachments.
	Blobs func(t *testing.T) connectors.Blobs
	// Files returns the files the remote holds on the message Post posted as msg (ext is the
	// external ID Post returned for it) on ticket, in order, with their content as the remote
	// keeps it: the bytes an agent downloads.
	Files func(t *testing.T, ticket normalize.Ref, msg normalize.MessageID, ext normalize.ExternalID) []File
	// FileName is how a documented limit of the remote changes a file's name on the way
	// (RT 5.0.3's REST2 answers 500 to a non-ASCII name, so the RT helpdesk makes names
	// ASCII); nil means names arrive exactly as posted.
	FileName func(posted string) string
	// AgentNote makes an agent write an internal note (a private comment) with text on
	// ticket the way the helpdesk receives them, like AgentReply: retrying until the hook
	// acknowledged it, or leaving it for the poller. Nil skips InternalNoteIgnored, for a
	// remote without internal notes.
	AgentNote func(t *testing.T, ticket normalize.Ref, noteID, text string)
	// EchoOf makes the remote report the message the gateway posted, posted (Post returned
	// ext for it), the way it reports agents' comments: the webhook a remote fires for every
	// comment added, whoever wrote it, or the history a poller reads, where it is already (a
	// no-op then). Nil skips EchoIgnored, for a protocol whose remote reports agents' replies
	// only (the webhook helpdesk's contract).
	EchoOf func(t *testing.T, ticket normalize.Ref, posted connectors.Delivery, ext normalize.ExternalID)
	// SetStatus makes an agent set ticket's status in the remote the way the helpdesk
	// receives such changes, like AgentReply: StatusClosed is the remote's solved, resolved
	// or closed, StatusOpen reopens it. Each call is a change of its own (a new event ID, a
	// new transaction), even when it repeats an earlier status. Nil skips StatusSync, for a
	// helpdesk that does not report status changes (status lives in the gateway: the inbox).
	SetStatus func(t *testing.T, ticket normalize.Ref, status normalize.Status)
	// FollowUpOf returns the ticket the remote shows ticket as a follow-up of (RT's RefersTo
	// link, Zendesk's via followup_source_id, the webhook's conversation.opened follow_up_of),
	// "" for none. Nil skips ClosedTicketFollowUp, for a helpdesk whose tickets are the
	// gateway's conversations, where a player writing after a close reopens the one ticket
	// (closed_ticket: reopen by nature: the inbox, the loopback remote).
	FollowUpOf func(t *testing.T, ticket normalize.Ref) normalize.Ref
}

// File is an attachment as a remote holds it.
type File struct {
	Name      string
	MediaType string
	Content   []byte
}

// RunHelpdesk checks the promises the router relies on from every connectors.Helpdesk.
func RunHelpdesk(t *testing.T, h HelpdeskHarness) {
	t.Run("FirstPostCreatesOneTicket", func(t *testing.T) { helpdeskFirstPost(t, h) })
	t.Run("SecondPostAppends", func(t *testing.T) { helpdeskAppend(t, h) })
	t.Run("RetryDoesNotDuplicate", func(t *testing.T) { helpdeskRetry(t, h) })
	t.Run("TwoConversationsTwoTickets", func(t *testing.T) { helpdeskTwoConversations(t, h) })
	t.Run("AgentReplyReachesSink", func(t *testing.T) { helpdeskAgentReply(t, h) })
	t.Run("HookRefusesGarbage", func(t *testing.T) { helpdeskHookGarbage(t, h) })
	t.Run("SinkFailureIsNotAcknowledged", func(t *testing.T) { helpdeskSinkFailure(t, h) })
	t.Run("PartialBatchReportsPrefix", func(t *testing.T) { helpdeskPartialBatch(t, h) })
	t.Run("LostAnswerIsNotDoubled", func(t *testing.T) { helpdeskLostAnswer(t, h) })
	t.Run("PostClassifiesErrors", func(t *testing.T) { helpdeskPostErrors(t, h) })
	t.Run("RunReturnsAfterCancel", func(t *testing.T) { checkRunStops(t, h.New(t).Run) })
	t.Run("ForgetIsIdempotent", func(t *testing.T) { helpdeskForget(t, h) })
	t.Run("Attachments", func(t *testing.T) { helpdeskAttachments(t, h) })
	t.Run("ConcurrentPostsOneTicket", func(t *testing.T) { helpdeskConcurrentPosts(t, h) })
	t.Run("AgentReplyDeliveredOnce", func(t *testing.T) { helpdeskReplyOnce(t, h) })
	t.Run("EchoIgnored", func(t *testing.T) { helpdeskEcho(t, h) })
	t.Run("InternalNoteIgnored", func(t *testing.T) { helpdeskNote(t, h) })
	t.Run("StatusSync", func(t *testing.T) { helpdeskStatusSync(t, h) })
	t.Run("RetryAfterRespected", func(t *testing.T) { helpdeskRetryAfter(t, h) })
	t.Run("ClosedTicketFollowUp", func(t *testing.T) { helpdeskFollowUp(t, h) })
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

	again, againIDs := post(t, hd, conv, retried(msgs, 2)) // conv.Ticket still empty
	require.Equal(t, ticket, again, "a retried first Post must find the ticket it created, not open another")
	require.Equal(t, ids, againIDs, "a retried Post must report the IDs of the messages already posted")

	conv.Ticket = ticket
	_, lastIDs := post(t, hd, conv, retried(msgs[1:], 3))
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

// helpdeskForget checks a helpdesk that keeps something of conversations in the gateway's care
// (a connectors.Forgetter): Forget drops the conversations it names and keeps the others, and
// the router may hand the same ones over again, or ones never posted, without an error.
func helpdeskForget(t *testing.T, h HelpdeskHarness) {
	hd := h.New(t)
	f, ok := hd.(connectors.Forgetter)
	if !ok {
		t.Skip("no connectors.Forgetter: the helpdesk's tickets live in the operator's own system")
	}
	ctx := testContext(t)
	gone, kept := newConversation("conformance"), newConversation("conformance")
	post(t, hd, gone, inboundDeliveries(gone, "my card ends in 4242"))
	keptMsgs := inboundDeliveries(kept, "hello")
	ticket, _ := post(t, hd, kept, keptMsgs)
	before := len(h.Tickets(t))

	require.NoError(t, f.Forget(ctx, []normalize.ConversationID{gone.ID}), "Forget()")
	tickets := h.Tickets(t)
	require.NotContains(t, tickets, gone.ID, "Forget() must drop the conversation")
	require.Len(t, tickets, before-1, "Forget() must drop that conversation only")
	requireHolds(t, h, tickets, kept.ID, ticket, keptMsgs, "Forget() must keep the other conversations")

	require.NoError(t, f.Forget(ctx, []normalize.ConversationID{gone.ID}), "Forget() of a conversation forgotten already must be no error")
	require.NoError(t, f.Forget(ctx, []normalize.ConversationID{newConversation("conformance").ID}),
		"Forget() of a conversation never posted must be no error")
	require.NoError(t, f.Forget(ctx, nil), "Forget() of nothing")
	require.Len(t, h.Tickets(t), before-1)
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

// helpdeskSinkFailure has an agent reply while the store fails: the helpdesk must not
// acknowledge the reply to its remote (answer 2xx, move its poll cursor past it), so the
// remote delivers it again, and once the store is back the reply must arrive, once, and only
// then be acknowledged.
func helpdeskSinkFailure(t *testing.T, h HelpdeskHarness) {
	if h.AgentSends == nil || h.ReplyAcknowledged == nil {
		t.Skip("the harness cannot tell what the remote considers acknowledged (AgentSends or ReplyAcknowledged is nil)")
	}
	hd := h.New(t)
	sink := start(t, hd.Run)
	conv := newConversation("conformance")
	ticket, _ := post(t, hd, conv, inboundDeliveries(conv, "is my account verified?"))
	sink.Fail(errStoreDown)
	replyID, text := unique("reply"), "Your account is verified, "+unique("ref")
	isReply := func(m normalize.Message) bool { return strings.Contains(m.Text, text) }
	send := func() error { return h.AgentSends(t, ticket, replyID, text) }
	acknowledged := func() bool { return h.ReplyAcknowledged(t, ticket, replyID) }

	err := send()
	waitUntil(t, func() bool { return sink.Attempts(isReply) > 0 }, func() {
		if err != nil { // refused before it reached Deliver (Run still starting): sent again
			err = send()
		}
	}, "the helpdesk never handed the agent reply to the sink (last delivery: %v)", &err)
	require.Never(t, acknowledged, ackWindow, tick,
		"the helpdesk acknowledged the agent reply to its remote while Deliver failed: the remote will not deliver it again, and it is lost")
	require.Empty(t, sink.Where(isReply))

	sink.Fail(nil)
	waitUntil(t, acknowledged, func() {
		if err != nil { // the remote delivers a refused reply again
			err = send()
		}
	}, "the agent reply was never acknowledged after the store recovered (last delivery: %v)", &err)
	require.Eventually(t, func() bool { return len(sink.Where(isReply)) > 0 }, waitFor, tick,
		"the remote considers the reply handed over, but it never reached the sink after Deliver failed once")
	time.Sleep(50 * time.Millisecond) // a second, wrong delivery would arrive about now
	got := sink.Where(isReply)
	require.Len(t, got, 1, "the reply must reach the sink once after the store recovered")
	require.NotEmpty(t, got[0].ExternalID)
}

// helpdeskPartialBatch makes the remote fail a batch half-way, as the router's lane hands a
// conversation's pending messages over together: Post must return the IDs of exactly the
// messages the remote took, a prefix, and the ticket once it exists, so that the router
// records those as posted and retries the rest, which then completes the ticket once, in
// order.
func helpdeskPartialBatch(t *testing.T, h HelpdeskHarness) {
	if h.FailAfter == nil {
		t.Skip("no remote answers Post with statuses, and no batch fails half-way (FailAfter is nil)")
	}
	cases := []struct {
		name  string
		k     int
		fault httpfault.Fault
	}{
		{"first_fails_503", 0, httpfault.Status(http.StatusServiceUnavailable)},
		{"second_fails_reset", 1, httpfault.Reset()},
		{"third_fails_500", 2, httpfault.Status(http.StatusInternalServerError)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hd := h.New(t)
			before := len(h.Tickets(t))
			conv := newConversation("conformance")
			msgs := inboundDeliveries(conv, texts(4, "message %d of a batch")...)
			h.FailAfter(t, c.k, c.fault)
			ticket, ids, err := hd.Post(testContext(t), conv, msgs)
			require.Error(t, err, "Post() returned no error though the remote failed message %d of %d (%s)", c.k+1, len(msgs), c.fault)
			require.Len(t, ids, c.k, "Post() = %v: the remote took %d of %d messages; Post must return exactly their external IDs, "+
				"or the router records messages as posted that never were (lost), or posts again what was (doubled)", err, c.k, len(msgs))
			if c.k > 0 {
				require.NotEmpty(t, ticket, "Post() = %v: the ticket exists and holds %d messages; Post must return it with the error, or the retry opens another", err, c.k)
			}
			requirePrefixHeld(t, h, conv, ticket, msgs[:c.k], "after a failure at message %d", c.k+1)

			if ticket != "" {
				conv.Ticket = ticket
			}
			rest := retried(msgs[c.k:], 2)
			again, againIDs := post(t, hd, conv, rest)
			if ticket == "" {
				ticket = again
			}
			requireDistinct(t, slices.Concat(ids, againIDs))
			held := h.Tickets(t)
			require.Len(t, held, before+1, "a batch that failed half-way and its retry must make one ticket")
			requireHolds(t, h, held, conv.ID, ticket, msgs, "the retry must complete the ticket, each message once, in order")
		})
	}
}

// helpdeskLostAnswer makes the remote take a message and lose its answer (a 502 from a proxy
// after the remote stored it, a connection reset after the request was read): the router
// retries with Attempt 2, which must not post the message again (idempotency key, or a
// look-up before re-posting).
func helpdeskLostAnswer(t *testing.T, h HelpdeskHarness) {
	if h.FailAfter == nil {
		t.Skip("no remote answers Post with statuses, and no batch fails half-way (FailAfter is nil)")
	}
	cases := []struct {
		name  string
		k     int
		fault httpfault.Fault
	}{
		{"first_answer_lost_502", 0, httpfault.LoseAnswer(http.StatusBadGateway)},
		{"second_answer_lost_reset", 1, httpfault.LoseAnswer(0)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hd := h.New(t)
			before := len(h.Tickets(t))
			conv := newConversation("conformance")
			msgs := inboundDeliveries(conv, texts(3, "message %d, answer lost")...)
			h.FailAfter(t, c.k, c.fault)
			ticket, ids, err := hd.Post(testContext(t), conv, msgs)
			require.Error(t, err, "Post() returned no error though the answer to message %d was lost (%s)", c.k+1, c.fault)
			require.True(t, len(ids) == c.k || len(ids) == c.k+1, "Post() = %v with %d external IDs: the remote took %d messages and lost the answer to the last, "+
				"so Post knows of %d (or %d, had it looked the last one up)", err, len(ids), c.k+1, c.k, c.k+1)
			if c.k > 0 {
				require.NotEmpty(t, ticket, "Post() = %v: the ticket exists; Post must return it with the error, or the retry opens another", err)
			}
			requirePrefixHeld(t, h, conv, ticket, msgs[:c.k+1], "the remote took message %d before its answer was lost", c.k+1)

			if ticket != "" {
				conv.Ticket = ticket
			}
			again, againIDs := post(t, hd, conv, retried(msgs[len(ids):], 2))
			if ticket == "" {
				ticket = again
			}
			requireDistinct(t, slices.Concat(ids, againIDs))
			held := h.Tickets(t)
			require.Len(t, held, before+1, "a retry after a lost answer must not open a second ticket")
			requireHolds(t, h, held, conv.ID, ticket, msgs, "a retry after a lost answer must not post the message again: "+
				"send an idempotency key, or look the message up when Attempt > 1")
		})
	}
}

// helpdeskPostErrors makes the remote fail Post's first message in each way a remote fails,
// and requires the error class the router acts on.
func helpdeskPostErrors(t *testing.T, h HelpdeskHarness) {
	if h.FailAfter == nil {
		t.Skip("no remote answers Post with statuses (FailAfter is nil)")
	}
	for _, c := range faultCases {
		t.Run(c.name, func(t *testing.T) {
			hd := h.New(t)
			conv := newConversation("conformance")
			h.FailAfter(t, 0, c.fault)
			ctx := faultContext(t, c)
			began := time.Now()
			_, ids, err := hd.Post(ctx, conv, inboundDeliveries(conv, "where is my payout?"))
			requireClass(t, "Post()", c, c.expected(h.Overrides), err, time.Since(began))
			require.Empty(t, ids, "Post() = %v failed its only message but returned an external ID for it", err)
		})
	}
}

// retried returns ds as the router hands them over again: each one attempted before.
func retried(ds []connectors.Delivery, attempt int) []connectors.Delivery {
	out := make([]connectors.Delivery, len(ds))
	for i, d := range ds {
		d.Attempt = attempt
		out[i] = d
	}
	return out
}

// requireDistinct requires every external ID of a conversation to be distinct.
func requireDistinct(t *testing.T, ids []normalize.ExternalID) {
	t.Helper()
	seen := map[normalize.ExternalID]bool{}
	for _, id := range ids {
		require.False(t, seen[id], "Post() returned external ID %q for two messages", id)
		seen[id] = true
	}
}

// requirePrefixHeld requires the remote to hold exactly msgs for conv, which may have no
// ticket when msgs is empty.
func requirePrefixHeld(t *testing.T, h HelpdeskHarness, conv normalize.Conversation, ticket normalize.Ref,
	msgs []connectors.Delivery, msgAndArgs ...any) {
	t.Helper()
	held := h.Tickets(t)
	if h.Shown != nil {
		if ticket != "" {
			requireHolds(t, h, held, conv.ID, ticket, msgs, msgAndArgs...)
		}
		return
	}
	if len(msgs) == 0 {
		require.Empty(t, held[conv.ID], msgAndArgs...)
		return
	}
	require.Equal(t, messageIDs(msgs), held[conv.ID], msgAndArgs...)
}
