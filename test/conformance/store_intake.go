package conformance

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/store"
)

// Intake: dedup, conversations, outbound routing, atomic failure, concurrency, echoes.

func storeIntakeDedups(t *testing.T, f *storeFixture) {
	acc := f.intake(
		inbound(chanA, "p1", "e1", "one"),
		inbound(chanA, "p1", "e2", "two"),
		inbound(chanA, "p1", "e1", "one, delivered twice in one batch"),
	)
	require.False(t, acc[0].Duplicate)
	require.False(t, acc[1].Duplicate)
	require.True(t, acc[2].Duplicate, "a repeat within one call is a duplicate")
	require.Equal(t, acc[0].ID, acc[2].ID, "a duplicate reports the stored message's ID")
	require.Equal(t, acc[0].Conversation, acc[2].Conversation)
	require.NotEqual(t, acc[0].ID, acc[1].ID)

	again := f.intake(inbound(chanA, "p1", "e1", "one, redelivered later"))
	require.True(t, again[0].Duplicate, "a repeat in a later call is a duplicate")
	require.Equal(t, acc[0].ID, again[0].ID)
	require.Equal(t, acc[0].Conversation, again[0].Conversation)

	other := f.intake(inbound(chanB, "p1", "e1", "same external ID, other source"))
	require.False(t, other[0].Duplicate, "external IDs are unique only within their source")

	stored := f.messages(acc[0].Conversation)
	require.Len(t, stored, 2)
	require.Equal(t, []normalize.MessageID{acc[0].ID, acc[1].ID}, []normalize.MessageID{stored[0].Message.ID, stored[1].Message.ID})
	require.Equal(t, "one", stored[0].Message.Text, "the first delivery is the one kept")
	require.Equal(t, normalize.StateQueued, stored[0].Message.State)
	require.Equal(t, acc[0].Conversation, stored[0].Message.Conversation)
	require.WithinDuration(t, f.clk.Now(), stored[0].Message.ReceivedAt, time.Millisecond, "intake records ReceivedAt, on the suite's clock")
	require.Equal(t, 3, f.stats().Queued[normalize.Inbound])
}

func storeConversations(t *testing.T, f *storeFixture) {
	a1 := f.intake(inbound(chanA, "p1", "a1", "hi"))[0]
	a2 := f.intake(inbound(chanA, "p1", "a2", "again"))[0]
	b := f.intake(inbound(chanA, "p2", "b1", "other player"))[0]
	c := f.intake(inbound(chanB, "p1", "c1", "same address, other channel"))[0]

	require.True(t, a1.Opened)
	require.False(t, a2.Opened)
	require.Equal(t, a1.Conversation, a2.Conversation, "same channel and address share a conversation")
	require.True(t, b.Opened)
	require.NotEqual(t, a1.Conversation, b.Conversation, "another address opens another conversation")
	require.True(t, c.Opened)
	require.NotEqual(t, a1.Conversation, c.Conversation, "addresses are scoped to their channel")
	require.Equal(t, 4, f.assessedCount(), "Assess must be called once per inbound message")
	require.Equal(t, normalize.ExternalID("a1"), f.assessed[0].ExternalID, "Assess sees the first message")

	conv, err := f.st.Conversation(f.ctx, a1.Conversation)
	require.NoError(t, err, "Conversation()")
	require.Equal(t, a1.Conversation, conv.ID)
	require.Equal(t, deskA, conv.Helpdesk, "the callback's helpdesk is recorded")
	require.Equal(t, normalize.PriorityHigh, conv.Priority, "the callback's priority is recorded")
	require.Equal(t, []string{"conformance"}, conv.Tags, "the callback's tags are recorded")
	require.Equal(t, chanA, conv.Channel)
	require.Equal(t, normalize.KindLoopback, conv.ChannelKind)
	require.Equal(t, normalize.Address("p1"), conv.Address)
	require.Empty(t, conv.Ticket)
	require.Equal(t, normalize.StatusOpen, conv.Status)
	require.Equal(t, "de", conv.Language)
	require.Equal(t, normalize.RolePlayer, conv.Player.Role)

	_, err = f.st.Conversation(f.ctx, "c-does-not-exist")
	require.ErrorIs(t, err, store.ErrNotFound)
}

func storeOutboundRouting(t *testing.T, f *storeFixture) {
	in := f.intake(inbound(chanA, "p1", "q1", "question"))[0]
	// The helpdesk posts the question and Complete records its ticket.
	f.deliverAll(f.claimOne(owner1, 10), owner1, deskA, "T-9")
	conv, err := f.st.Conversation(f.ctx, in.Conversation)
	require.NoError(t, err)
	require.Equal(t, normalize.Ref("T-9"), conv.Ticket, "Complete records the ticket")

	byConv := f.intake(outbound(deskA, in.Conversation, "", "r1", "answer by conversation"))[0]
	require.False(t, byConv.Duplicate)
	require.Equal(t, in.Conversation, byConv.Conversation, "outbound found by conversation ID")
	byTicket := f.intake(outbound(deskA, "", "T-9", "r2", "answer by ticket"))[0]
	require.False(t, byTicket.Duplicate)
	require.Equal(t, in.Conversation, byTicket.Conversation, "outbound found by (helpdesk, ticket)")

	lane := f.claimOne(owner1, 10)
	require.Equal(t, normalize.Outbound, lane.Direction)
	require.Equal(t, in.Conversation, lane.Conversation.ID)
	require.Equal(t, normalize.Ref("T-9"), lane.Conversation.Ticket)
	require.Equal(t, []normalize.MessageID{byConv.ID, byTicket.ID}, pendingIDs(lane))
	require.Equal(t, 2, f.stats().Queued[normalize.Outbound])
}

func storeOutboundUnknown(t *testing.T, f *storeFixture) {
	in := f.intake(inbound(chanA, "p1", "q1", "question"))[0]
	before := f.stats()
	cases := []struct {
		name string
		msgs []normalize.Message
	}{
		{"unknown conversation", []normalize.Message{outbound(deskA, "c-unknown", "", "r1", "x")}},
		{"unknown ticket", []normalize.Message{outbound(deskA, "", "T-unknown", "r2", "x")}},
		{"conversation of another helpdesk", []normalize.Message{outbound("desk-b", in.Conversation, "", "r3", "x")}},
		{"one bad message fails the whole call", []normalize.Message{
			inbound(chanA, "p-new", "n1", "would open a conversation"),
			outbound(deskA, in.Conversation, "", "r4", "would be fine"),
			outbound(deskA, "c-unknown", "", "r5", "unknown"),
		}},
	}
	for _, tc := range cases {
		_, err := f.st.Intake(f.ctx, tc.msgs, f.assess)
		require.ErrorIs(t, err, connectors.ErrPermanent, tc.name)
	}
	require.Equal(t, before, f.stats(), "failed intakes must store nothing")
	require.Len(t, f.messages(in.Conversation), 1)

	// Nothing of the failed calls may linger: their external IDs are free, no conversation opened.
	acc := f.intake(inbound(chanA, "p-new", "n1", "now alone"), outbound(deskA, in.Conversation, "", "r4", "fine"))
	require.False(t, acc[0].Duplicate, "a failed call must not keep its external IDs")
	require.True(t, acc[0].Opened, "a failed call must not keep its conversation")
	require.False(t, acc[1].Duplicate, "a failed call must not keep its external IDs")
}

func storeInvalid(t *testing.T, f *storeFixture) {
	valid := inbound(chanA, "p1", "v1", "ok")
	cases := map[string]func(m *normalize.Message){
		"no source":      func(m *normalize.Message) { m.Source = "" },
		"no external ID": func(m *normalize.Message) { m.ExternalID = "" },
		"no direction":   func(m *normalize.Message) { m.Direction = "" },
		"no address":     func(m *normalize.Message) { m.Address = "" },
		"no channel":     func(m *normalize.Message) { m.Channel = "" },
		"outbound without conversation or ticket": func(m *normalize.Message) {
			*m = outbound(deskA, "", "", "r1", "x")
		},
	}
	for name, spoil := range cases {
		m := valid
		spoil(&m)
		_, err := f.st.Intake(f.ctx, []normalize.Message{m}, f.assess)
		require.ErrorIs(t, err, connectors.ErrPermanent, name)
	}
	require.Zero(t, f.assessedCount())
	require.Equal(t, 0, f.stats().Queued[normalize.Inbound])
}

// storeConcurrentIntake is a burst of webhook deliveries for one player: the store must open
// one conversation and keep every message, in the order each sender got its answer.
func storeConcurrentIntake(t *testing.T, f *storeFixture) {
	const messages, senders = 200, 16
	conv := f.withTicket("burst")
	accepted := make([]store.Accepted, messages)
	var wg sync.WaitGroup
	for g := range senders {
		wg.Go(func() {
			for i := g; i < messages; i += senders {
				acc, err := f.st.Intake(f.ctx, []normalize.Message{inbound(chanA, "burst", fmt.Sprintf("m-%03d", i), fmt.Sprint(i))}, f.assess)
				if err != nil || len(acc) != 1 {
					t.Errorf("Intake(m-%03d) = %v, %v", i, acc, err)
					return
				}
				accepted[i] = acc[0]
			}
		})
	}
	wg.Wait()
	require.False(t, t.Failed())
	for i, a := range accepted {
		require.False(t, a.Opened, "message %d: the conversation was open already", i)
		require.False(t, a.Duplicate, "message %d", i)
		require.Equal(t, conv, a.Conversation, "message %d joined another conversation", i)
	}
	require.Equal(t, messages, f.stats().Queued[normalize.Inbound])

	lane := f.claimOne(owner1, 1000)
	require.Len(t, lane.Pending, messages)
	position := map[normalize.MessageID]int{}
	for i, p := range lane.Pending {
		if i > 0 {
			require.Greater(t, p.Seq, lane.Pending[i-1].Seq, "Claim must return pending messages in seq order")
		}
		require.Equal(t, 1, p.Attempt)
		position[p.Message.ID] = i
	}
	// Each sender waited for its answer before the next message: its messages keep their order.
	for g := range senders {
		for i := g + senders; i < messages; i += senders {
			require.Less(t, position[accepted[i-senders].ID], position[accepted[i].ID], "sender %d's messages out of order", g)
		}
	}
	stored := f.messages(conv)[1:] // after the opening message
	ids := make([]normalize.MessageID, len(stored))
	for i, m := range stored {
		ids[i] = m.Message.ID
	}
	require.Equal(t, pendingIDs(lane), ids, "Claim and Messages must agree on the order")
}

// storeConcurrentDuplicates: a remote retrying a delivery before the first attempt was
// answered must still get exactly one stored message.
func storeConcurrentDuplicates(t *testing.T, f *storeFixture) {
	const copies = 16
	accepted := make([]store.Accepted, copies)
	var wg sync.WaitGroup
	for i := range copies {
		wg.Go(func() {
			acc, err := f.st.Intake(f.ctx, []normalize.Message{inbound(chanA, "p1", "same", fmt.Sprint(i))}, f.assess)
			if err != nil || len(acc) != 1 {
				t.Errorf("Intake() = %v, %v", acc, err)
				return
			}
			accepted[i] = acc[0]
		})
	}
	wg.Wait()
	require.False(t, t.Failed())
	fresh := 0
	for _, a := range accepted {
		if !a.Duplicate {
			fresh++
		}
		require.Equal(t, accepted[0].ID, a.ID, "every copy must report the one stored message")
	}
	require.Equal(t, 1, fresh, "exactly one copy is stored")
	require.Len(t, f.messages(accepted[0].Conversation), 1)
}

// storeEcho: a target reporting back a message the gateway delivered to it is not new input.
func storeEcho(t *testing.T, f *storeFixture) {
	in := f.intake(inbound(chanA, "p1", "q1", "question"))[0]
	lane := f.claimOne(owner1, 10)
	f.complete(store.Outcome{Conversation: lane.Conversation.ID, Direction: lane.Direction, Owner: owner1, Token: lane.Token, Target: deskA,
		Ticket: "T-1", Delivered: []store.Delivered{{Seq: lane.Pending[0].Seq, ID: in.ID, TargetID: "comment-1"}}})

	echo := f.intake(outbound(deskA, "", "T-1", "comment-1", "question"))[0]
	require.True(t, echo.Duplicate, "the helpdesk's copy of our own post is an echo")
	require.Equal(t, in.ID, echo.ID)
	require.Equal(t, 0, f.stats().Queued[normalize.Outbound])

	reply := f.intake(outbound(deskA, "", "T-1", "comment-2", "answer"))[0]
	require.False(t, reply.Duplicate, "a new comment is a reply")

	// The same holds towards channels: our own sent message reported back by the channel.
	out := f.claimOne(owner1, 10)
	require.Equal(t, normalize.Outbound, out.Direction)
	f.complete(store.Outcome{Conversation: out.Conversation.ID, Direction: out.Direction, Owner: owner1, Token: out.Token, Target: chanA,
		Delivered: []store.Delivered{{Seq: out.Pending[0].Seq, ID: reply.ID, TargetID: "sent-1"}}})
	back := f.intake(inbound(chanA, "p1", "sent-1", "answer"))[0]
	require.True(t, back.Duplicate, "the channel's copy of our own send is an echo")
	require.Equal(t, reply.ID, back.ID)
}

// storeReplyTo: an agent's reply names the answered message by the helpdesk's ID; the store
// hands the channel its own ID of that message, so the channel can thread the reply.
func storeReplyTo(t *testing.T, f *storeFixture) {
	in := f.intake(inbound(chanA, "p1", "tg-42", "question"))[0]
	lane := f.claimOne(owner1, 10)
	f.complete(store.Outcome{Conversation: lane.Conversation.ID, Direction: lane.Direction, Owner: owner1, Token: lane.Token, Target: deskA,
		Ticket: "T-1", Delivered: []store.Delivered{{Seq: lane.Pending[0].Seq, ID: in.ID, TargetID: "comment-1"}}})

	first := outbound(deskA, "", "T-1", "comment-2", "answer to the question")
	first.ReplyTo = "comment-1"
	second := outbound(deskA, "", "T-1", "comment-3", "answer to my own answer")
	second.ReplyTo = "comment-2"
	unknown := outbound(deskA, "", "T-1", "comment-4", "answer to something the channel never saw")
	unknown.ReplyTo = "comment-999"
	f.intake(first)
	out := f.claimOne(owner1, 10)
	require.Equal(t, normalize.ExternalID("tg-42"), out.Pending[0].Message.ReplyTo, "a player's message is known to the channel by its source ID")
	f.complete(store.Outcome{Conversation: out.Conversation.ID, Direction: out.Direction, Owner: owner1, Token: out.Token, Target: chanA,
		Delivered: []store.Delivered{{Seq: out.Pending[0].Seq, ID: out.Pending[0].Message.ID, TargetID: "tg-43"}}})

	f.intake(second, unknown)
	out = f.claimOne(owner1, 10)
	require.Equal(t, normalize.ExternalID("tg-43"), out.Pending[0].Message.ReplyTo, "an agent reply is known to the channel by the ID it gave it")
	require.Empty(t, out.Pending[1].Message.ReplyTo, "a message the channel never saw cannot be threaded")
}

// storeStatusChange: a helpdesk's status change arrives as an outbound system message; the
// store applies it to the conversation and keeps the message (the thread shows who closed it).
func storeStatusChange(t *testing.T, f *storeFixture) {
	conv := f.withTicket("p1")
	closed := outbound(deskA, "", "T-p1", "status-1", "")
	closed.Kind, closed.Status = normalize.KindSystem, normalize.StatusClosed
	f.intake(closed)
	c, err := f.st.Conversation(f.ctx, conv)
	require.NoError(t, err)
	require.Equal(t, normalize.StatusClosed, c.Status)
	require.True(t, f.intake(closed)[0].Duplicate, "a repeated status event is deduplicated")

	// The player writing again reopens it.
	f.intake(inbound(chanA, "p1", "again", "still there?"))
	c, err = f.st.Conversation(f.ctx, conv)
	require.NoError(t, err)
	require.Equal(t, normalize.StatusOpen, c.Status)

	for name, bad := range map[string]normalize.Message{
		"unknown status":     func() normalize.Message { m := closed; m.ExternalID, m.Status = "status-2", "archived"; return m }(),
		"not a system event": func() normalize.Message { m := closed; m.ExternalID, m.Kind = "status-3", normalize.KindText; return m }(),
		"inbound": func() normalize.Message {
			m := inbound(chanA, "p1", "s-4", "")
			m.Kind, m.Status = normalize.KindSystem, normalize.StatusClosed
			return m
		}(),
	} {
		_, err := f.st.Intake(f.ctx, []normalize.Message{bad}, f.assess)
		require.ErrorIs(t, err, connectors.ErrPermanent, name)
	}
}

// storeIntakeBatchOrder: a call of many messages stores them in the order given, across
// messages with stored attachments (whose rows a store may not batch with the others), and the
// lane hands them out in that order (issue 16: intake inserts a batch's rows together).
func storeIntakeBatchOrder(t *testing.T, f *storeFixture) {
	f.withTicket("p1")
	var msgs []normalize.Message
	for i := range 40 {
		m := inbound(chanA, "p1", fmt.Sprintf("batch-%d", i), fmt.Sprintf("message %d", i))
		if i == 9 || i == 25 {
			m.Attachments = []normalize.Attachment{{Name: "passport.pdf", MediaType: "application/pdf", Size: 10,
				BlobRef: fmt.Sprintf("sha256:%064d", i)}}
		}
		msgs = append(msgs, m)
	}
	acc := f.intake(msgs...)
	lane := f.claimOne(owner1, 100)
	require.Equal(t, acceptedIDs(acc), pendingIDs(lane), "the call's order, attachments or not")
	for i, p := range lane.Pending {
		require.Equal(t, fmt.Sprintf("message %d", i), p.Message.Text)
		require.Equal(t, len(msgs[i].Attachments), len(p.Message.Attachments), "message %d keeps its attachments", i)
	}
}
