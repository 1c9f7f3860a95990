package conformance

import (
	"bytes"
	"crypto/rand"
	"mime"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/test/httpfault"
)

// The cases of issue 18: what every helpdesk backend must do as well as RT does. Each needs
// optional harness fields and skips, saying which, when they are nil.

// helpdeskAttachments posts a player's files, one with words and one alone (a photo without a
// caption), and requires the remote to hold each on its message with its name, media type and
// exact bytes: binary content that went through a text encoding, or a file posted on the
// wrong message, fails.
func helpdeskAttachments(t *testing.T, h HelpdeskHarness) {
	if h.Blobs == nil || h.Files == nil {
		t.Skip("the harness cannot put files where the helpdesk reads them, or read them back from the remote (Blobs or Files is nil)")
	}
	hd := h.New(t)
	blobs := h.Blobs(t)
	ctx := testContext(t)
	conv := newConversation("conformance")
	noise := make([]byte, 3000)
	_, _ = rand.Read(noise) // bytes that are no valid UTF-8 text
	want := []File{
		{Name: "receipt.png", MediaType: "image/png", Content: append([]byte("\x89PNG\r\n\x1a\n"), noise...)},
		{Name: "Kontoauszug März.pdf", MediaType: "application/pdf", Content: []byte("%PDF-1.4\n" + unique("statement") + "\n%%EOF\n")},
	}
	msgs := inboundDeliveries(conv, "here is my deposit receipt", "")
	kinds := []normalize.MessageKind{normalize.KindImage, normalize.KindDocument}
	for i, f := range want {
		att, err := blobs.Put(ctx, bytes.NewReader(f.Content), f.Name, f.MediaType)
		require.NoError(t, err, "harness: Blobs().Put(%s)", f.Name)
		msgs[i].Attachments = []normalize.Attachment{att}
		msgs[i].Kind = kinds[i]
	}
	ticket, ids := post(t, hd, conv, msgs)
	for i, d := range msgs {
		got := h.Files(t, ticket, d.ID, ids[i])
		require.Len(t, got, 1, "message %d carried one file (%s); the remote holds %d on it", i+1, want[i].Name, len(got))
		name := want[i].Name
		if h.FileName != nil {
			name = h.FileName(name)
		}
		require.Equal(t, name, got[0].Name, "the file must keep its name")
		require.Equal(t, want[i].MediaType, baseMediaType(got[0].MediaType), "the file must keep its media type")
		require.True(t, bytes.Equal(want[i].Content, got[0].Content),
			"the remote holds %d bytes of %s, which differ from the %d posted: agents download a damaged file", len(got[0].Content), want[i].Name, len(want[i].Content))
	}
}

// baseMediaType drops parameters ("; charset=binary") a remote may add.
func baseMediaType(t string) string {
	if mt, _, err := mime.ParseMediaType(t); err == nil {
		return mt
	}
	return t
}

// helpdeskConcurrentPosts posts the first messages of one conversation from several
// goroutines at once. The router hands a conversation's lane to one poster at a time, but a
// lease runs out: a replica that stalled (GC, a lost network) may still be posting attempt 1
// while another, after the lease expired, posts the same messages as attempt 2 with no ticket
// recorded, not knowing the first attempt's outcome. That must still make one ticket holding
// each message once, in order; a loser may fail, but only retryably, and the router's next
// attempt completes the ticket.
func helpdeskConcurrentPosts(t *testing.T, h HelpdeskHarness) {
	hd := h.New(t)
	before := len(h.Tickets(t))
	conv := newConversation("conformance")
	msgs := inboundDeliveries(conv, "my bonus was not credited", "the promo code was WELCOME100")
	attempts := [][]connectors.Delivery{msgs, retried(msgs, 2), retried(msgs, 2)}
	type outcome struct {
		ticket normalize.Ref
		ids    []normalize.ExternalID
		err    error
	}
	outcomes := make([]outcome, len(attempts))
	ctx := testContext(t)
	var wg sync.WaitGroup
	for i, ds := range attempts {
		wg.Go(func() {
			ticket, ids, err := hd.Post(ctx, conv, ds)
			outcomes[i] = outcome{ticket, ids, err}
		})
	}
	wg.Wait()
	var ticket normalize.Ref
	for i, o := range outcomes {
		if o.err != nil {
			require.False(t, connectors.IsPermanent(o.err), "attempt %d lost the race with a permanent error (%v): the router would dead-letter the player's messages", i+1, o.err)
		}
		if o.ticket == "" {
			continue
		}
		if ticket == "" {
			ticket = o.ticket
		}
		require.Equal(t, ticket, o.ticket, "attempts of one conversation's first post that overlap must find one ticket, not open one each "+
			"(an idempotency key on the ticket's creation, or a look-up the remote serializes)")
	}
	if ticket != "" {
		conv.Ticket = ticket
	}
	final, _ := post(t, hd, conv, retried(msgs, 3))
	if ticket == "" {
		ticket = final
	}
	held := h.Tickets(t)
	require.Len(t, held, before+1, "overlapping first posts of one conversation must make one ticket")
	requireHolds(t, h, held, conv.ID, ticket, msgs, "overlapping attempts must leave each message on the ticket once, in order")
}

// dedupKey is what the store deduplicates a delivered message on.
type dedupKey struct {
	source normalize.InstanceName
	id     normalize.ExternalID
}

// keysOf returns the distinct dedup keys of msgs in order of first delivery.
func keysOf(msgs []normalize.Message) []dedupKey {
	var out []dedupKey
	seen := map[dedupKey]bool{}
	for _, m := range msgs {
		k := dedupKey{m.Source, m.ExternalID}
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}

// running is a helpdesk whose Run hands to sink, with one conversation posted: the start of
// the cases that watch what the remote reports back.
type running struct {
	hd     connectors.Helpdesk
	sink   *RecordingSink
	conv   normalize.Conversation
	msgs   []connectors.Delivery
	ticket normalize.Ref
	ids    []normalize.ExternalID
}

// startPosted starts a helpdesk and posts text as a new conversation's first message.
func startPosted(t *testing.T, h HelpdeskHarness, text string) running {
	t.Helper()
	r := running{hd: h.New(t)}
	r.sink = start(t, r.hd.Run)
	r.conv = newConversation("conformance")
	r.msgs = inboundDeliveries(r.conv, text)
	r.ticket, r.ids = post(t, r.hd, r.conv, r.msgs)
	return r
}

// helpdeskReplyOnce has the remote deliver one agent reply several times, twice at once (a
// webhook retried while the first delivery is still being handled), and then another reply
// with the same words. The store keeps a message once per dedup key (Source, ExternalID), so
// the repeats must share one key, and the second reply, which the agent did write again, must
// have its own: a key made of the content would swallow it.
func helpdeskReplyOnce(t *testing.T, h HelpdeskHarness) {
	r := startPosted(t, h, "is my withdrawal approved?")
	sink, ticket := r.sink, r.ticket

	text := "Approved, it will arrive tomorrow. " + unique("ref")
	isReply := func(m normalize.Message) bool { return strings.Contains(m.Text, text) }
	first := unique("reply")
	if h.AgentSends != nil {
		var wg sync.WaitGroup
		for range 2 {
			// Either may be refused (Run still starting); AgentReply below delivers until acknowledged.
			wg.Go(func() { _ = h.AgentSends(t, ticket, first, text) })
		}
		wg.Wait()
	}
	h.AgentReply(t, ticket, first, text)
	h.AgentReply(t, ticket, first, text)
	require.Eventually(t, func() bool { return len(keysOf(sink.Where(isReply))) > 0 }, waitFor, tick, "the agent reply never reached the sink")

	h.AgentReply(t, ticket, unique("reply"), text)
	require.Eventually(t, func() bool { return len(keysOf(sink.Where(isReply))) >= 2 }, waitFor, tick,
		"a second reply with the same words never reached the sink as a message of its own: the store would drop it as a duplicate of the first "+
			"(the dedup key must be the remote's reply ID, not the content)")
	keys := keysOf(sink.Where(isReply))
	require.Len(t, keys, 2, "one reply delivered %d times and a second one must make two messages by dedup key (Source, ExternalID), got %v: "+
		"a repeated delivery with a new key reaches the player twice", 3, keys)
	for _, k := range keys {
		require.NotEmpty(t, k.source, "Source must name the helpdesk instance")
		require.NotEmpty(t, k.id, "ExternalID is the dedup key of the reply")
	}
}

// barrier makes an agent reply on ticket and waits until it reached sink: the remote reported
// everything before it by then (a hook answered, a poller read its history in order), so what
// has not reached the sink will not.
func barrier(t *testing.T, h HelpdeskHarness, sink *RecordingSink, ticket normalize.Ref) {
	t.Helper()
	text := "Anything else I can do? " + unique("barrier")
	h.AgentReply(t, ticket, unique("reply"), text)
	require.Eventually(t, func() bool {
		return len(sink.Where(func(m normalize.Message) bool { return strings.Contains(m.Text, text) })) > 0
	}, waitFor, tick, "the agent reply sent after the event under test never reached the sink")
}

// helpdeskEcho has the remote report a message the gateway posted as if it were an agent's
// comment (a remote that fires its webhook for every comment, a history that lists the
// gateway's own posts). It must not reach the sink as an agent reply, or the player gets
// their own words back. Delivering it under the external ID Post returned for the message is
// allowed: the router records that ID with the posted message, and the store drops the echo
// as a duplicate of it.
func helpdeskEcho(t *testing.T, h HelpdeskHarness) {
	if h.EchoOf == nil {
		t.Skip("the remote reports agents' replies only, never the gateway's own messages (EchoOf is nil)")
	}
	r := startPosted(t, h, "Please close my account "+unique("echo"))
	sink, ticket, msgs, ids := r.sink, r.ticket, r.msgs, r.ids

	h.EchoOf(t, ticket, msgs[0], ids[0])
	barrier(t, h, sink, ticket)
	for _, m := range sink.Where(func(m normalize.Message) bool { return strings.Contains(m.Text, msgs[0].Text) }) {
		require.Equal(t, ids[0], m.ExternalID, "the helpdesk handed the gateway's own message back to the sink as %s %s under external ID %q; "+
			"the store knows it by %q, what Post returned, and drops only that: the player would get their own words back. "+
			"Skip what the gateway posted (by its author or the IDs Post returned), or deliver it under Post's ID",
			m.Direction, m.Kind, m.ExternalID, ids[0])
	}
}

// helpdeskNote has an agent write an internal note on the ticket. It must never reach the
// player: the helpdesk passes it over, or delivers it as a KindNote, which the store keeps in
// the conversation's thread for agents and the router never sends.
func helpdeskNote(t *testing.T, h HelpdeskHarness) {
	if h.AgentNote == nil {
		t.Skip("the remote has no internal notes (AgentNote is nil)")
	}
	r := startPosted(t, h, "why was my account limited?")
	sink, ticket := r.sink, r.ticket

	note := "Internal: player flagged by risk, do not tell them " + unique("note")
	h.AgentNote(t, ticket, unique("note"), note)
	barrier(t, h, sink, ticket)
	for _, m := range sink.Where(func(m normalize.Message) bool { return strings.Contains(m.Text, note) }) {
		require.Equal(t, normalize.KindNote, m.Kind, "an agent's internal note reached the sink as a %s message: the router sends that to the player", m.Kind)
	}
}

// helpdeskStatusSync has an agent close the ticket, reopen it and close it again in the
// remote. Each change must reach the sink as an outbound system message with Status (which
// the store applies to the conversation, sending the player nothing), in order, each under a
// dedup key of its own: a key made of the ticket and the status would have the store drop the
// second close as a duplicate of the first, leaving the conversation open.
func helpdeskStatusSync(t *testing.T, h HelpdeskHarness) {
	if h.SetStatus == nil {
		t.Skip("the helpdesk reports no status changes (SetStatus is nil)")
	}
	r := startPosted(t, h, "thanks, that solved it")
	sink, ticket, conv := r.sink, r.ticket, r.conv
	isStatus := func(m normalize.Message) bool {
		return m.Status != "" && (m.Ticket == ticket || m.Conversation == conv.ID)
	}
	seen := map[dedupKey]bool{}
	for i, status := range []normalize.Status{normalize.StatusClosed, normalize.StatusOpen, normalize.StatusClosed} {
		h.SetStatus(t, ticket, status)
		var got normalize.Message
		require.Eventually(t, func() bool {
			for _, m := range sink.Where(isStatus) {
				if k := (dedupKey{m.Source, m.ExternalID}); !seen[k] && m.Status == status {
					got = m
					return true
				}
			}
			return false
		}, waitFor, tick, "change %d (status %s in the remote) never reached the sink as a status message under a dedup key of its own; "+
			"the store drops a change whose key (Source, ExternalID) it had before", i+1, status)
		seen[dedupKey{got.Source, got.ExternalID}] = true
		require.Equal(t, normalize.Outbound, got.Direction)
		require.Equal(t, normalize.KindSystem, got.Kind, "a status change is a system message: the store applies it and sends the player nothing")
		require.NotEmpty(t, got.Source, "Source must name the helpdesk instance")
		require.NotEmpty(t, got.ExternalID, "ExternalID is the dedup key of the change")
	}
}

// helpdeskRetryAfter completes PostClassifiesErrors for rate limits: a Retry-After given as an
// HTTP date (RFC 9110 allows it, and some remotes send it) must become the same wait as
// seconds would, and a 429 in the middle of a batch must report the ticket and the messages
// posted before it together with the wait, so the router waits and then posts only the rest.
func helpdeskRetryAfter(t *testing.T, h HelpdeskHarness) {
	if h.FailAfter == nil {
		t.Skip("no remote answers Post with statuses (FailAfter is nil)")
	}
	if _, ok := h.Overrides[http.StatusTooManyRequests]; ok {
		t.Skip("the helpdesk's protocol gives 429 a meaning of its own (Overrides)")
	}
	t.Run("http_date", func(t *testing.T) {
		hd := h.New(t)
		conv := newConversation("conformance")
		at := time.Now().Add(2 * time.Minute)
		h.FailAfter(t, 0, httpfault.Status(http.StatusTooManyRequests, at.UTC().Format(http.TimeFormat)))
		_, ids, err := hd.Post(testContext(t), conv, inboundDeliveries(conv, "rate limited"))
		require.Error(t, err, "Post() returned no error though the remote answered 429")
		require.Empty(t, ids, "Post() = %v failed its only message but returned an external ID for it", err)
		wait, ok := connectors.RetryDelay(err)
		require.True(t, ok, "Post() = %v: the remote answered 429 with Retry-After as an HTTP date; the error must carry its wait (connectors.ParseRetryAfter reads both forms)", err)
		require.True(t, wait > time.Minute+50*time.Second && wait <= 2*time.Minute+time.Second,
			"Post() = %v: Retry-After %s asks for about 2m, the error carries %s", err, at.UTC().Format(http.TimeFormat), wait)
	})
	t.Run("mid_batch", func(t *testing.T) {
		hd := h.New(t)
		before := len(h.Tickets(t))
		conv := newConversation("conformance")
		msgs := inboundDeliveries(conv, texts(3, "message %d before the limit")...)
		h.FailAfter(t, 1, httpfault.Status(http.StatusTooManyRequests, "11"))
		ticket, ids, err := hd.Post(testContext(t), conv, msgs)
		wait, ok := connectors.RetryDelay(err)
		require.True(t, ok, "Post() = %v: the remote answered 429 with Retry-After 11 on message 2; the error must carry its wait", err)
		require.Equal(t, 11*time.Second, wait, "Post() = %v: the router must wait what the remote asked for", err)
		require.Len(t, ids, 1, "Post() = %v: the remote took message 1 before it limited the rate; Post must return exactly its external ID", err)
		require.NotEmpty(t, ticket, "Post() = %v: the ticket exists; Post must return it with the error", err)
		conv.Ticket = ticket
		post(t, hd, conv, retried(msgs[1:], 2))
		held := h.Tickets(t)
		require.Len(t, held, before+1)
		requireHolds(t, h, held, conv.ID, ticket, msgs, "after the wait the rest must complete the ticket, each message once, in order")
	})
}

// helpdeskFollowUp: the helpdesk closed the conversation's ticket and the player wrote again.
// The store then hands the conversation over without a ticket and with the closed one in
// FollowUpOf (closed_ticket: follow_up): Post must open a new ticket, linked to the closed
// one so agents find the history, and a retry of that first post must find the new ticket
// rather than the closed one or a third.
func helpdeskFollowUp(t *testing.T, h HelpdeskHarness) {
	if h.FollowUpOf == nil {
		t.Skip("the helpdesk's tickets are the gateway's conversations: a player writing after a close reopens the one ticket (FollowUpOf is nil)")
	}
	hd := h.New(t)
	conv := newConversation("conformance")
	closed, _ := post(t, hd, conv, inboundDeliveries(conv, "my deposit is missing"))
	if h.SetStatus != nil {
		// Some remotes link a follow-up only to a closed ticket (Zendesk).
		start(t, hd.Run)
		h.SetStatus(t, closed, normalize.StatusClosed)
	}

	conv.Ticket, conv.FollowUpOf = "", closed
	more := inboundDeliveries(conv, "now my withdrawal is stuck too", "since yesterday")
	ticket, ids := post(t, hd, conv, more)
	require.NotEqual(t, closed, ticket, "after the helpdesk closed ticket %s, the player's new message must open a new ticket (closed_ticket: follow_up)", closed)
	require.Equal(t, closed, h.FollowUpOf(t, ticket), "the new ticket %s must be linked to the closed one, %s, which it follows up", ticket, closed)

	again, againIDs := post(t, hd, conv, retried(more, 2))
	require.Equal(t, ticket, again, "a retried first post of the follow-up must find the follow-up ticket, not the closed one or another")
	require.Equal(t, ids, againIDs, "a retried post must report the IDs of the messages already posted")
}
