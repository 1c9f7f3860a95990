package conformance

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/store"
)

// The read side of pages: conversations by channel address, threads with delivery states,
// receipts and status changes.

// storeConversationAt: a channel finds a player's conversation by (channel, address); an
// address is scoped to its channel.
func storeConversationAt(t *testing.T, f *storeFixture) {
	a := f.intake(inbound(chanA, "p1", "a1", "hi"))[0]
	b := f.intake(inbound(chanB, "p1", "b1", "same address, other channel"))[0]
	c := f.intake(inbound(chanA, "p2", "c1", "other player"))[0]

	for _, tc := range []struct {
		channel normalize.InstanceName
		address normalize.Address
		want    normalize.ConversationID
	}{{chanA, "p1", a.Conversation}, {chanB, "p1", b.Conversation}, {chanA, "p2", c.Conversation}} {
		got, err := f.st.ConversationAt(f.ctx, tc.channel, tc.address)
		require.NoError(t, err, "ConversationAt(%s, %s)", tc.channel, tc.address)
		require.Equal(t, tc.want, got.ID, "ConversationAt(%s, %s)", tc.channel, tc.address)
		byID, err := f.st.Conversation(f.ctx, tc.want)
		require.NoError(t, err, "Conversation()")
		require.Equal(t, byID, got, "ConversationAt and Conversation must return the same conversation")
	}

	for _, tc := range []struct {
		name    string
		channel normalize.InstanceName
		address normalize.Address
	}{
		{"unknown address", chanA, "p-unknown"},
		{"address known only on another channel", chanB, "p2"},
		{"unknown channel", "chan-unknown", "p1"},
		{"empty address", chanA, ""},
	} {
		_, err := f.st.ConversationAt(f.ctx, tc.channel, tc.address)
		require.ErrorIs(t, err, connectors.ErrNotFound, tc.name)
	}
}

// storeThread: a thread holds both directions in arrival order with each message's current
// state, and a limit keeps the newest messages.
func storeThread(t *testing.T, f *storeFixture) {
	conv := f.withTicket("p1") // the opening message is sent
	opening := f.messages(conv)[0].Message.ID
	dead := f.intake(inbound(chanA, "p1", "t1", "poison"))[0]
	sent := f.intake(outbound(deskA, conv, "", "r1", "answer"))[0]
	lanes := f.claim(owner1, 10)
	require.Len(t, lanes, 2, "Claim() lanes: one per direction")
	for _, lane := range lanes {
		switch lane.Direction {
		case normalize.Inbound:
			f.fail(lane, owner1, store.Failure{Seq: lane.Pending[0].Seq, Err: "rejected: 422", Dead: true, CountsAsFailure: true})
		case normalize.Outbound:
			f.deliverAll(lane, owner1, chanA, "")
		}
	}
	retried := f.intake(inbound(chanA, "p1", "t2", "still waiting"))[0]
	queued := f.intake(outbound(deskA, conv, "", "r2", "second answer"))[0]
	// A retried message stays queued: its last error is no FailReason.
	lanes = f.claim(owner1, 10)
	require.Len(t, lanes, 2, "Claim() lanes: one per direction")
	for _, lane := range lanes {
		if lane.Direction == normalize.Inbound {
			f.fail(lane, owner1, store.Failure{Seq: lane.Pending[0].Seq, Err: "helpdesk down", RetryAt: f.clk.Now().Add(time.Hour), CountsAsFailure: true})
		}
	}
	// Another conversation's messages stay out of this thread.
	other := f.intake(inbound(chanA, "p2", "o1", "other player"))[0]

	type entry struct {
		id     normalize.MessageID
		dir    normalize.Direction
		state  normalize.DeliveryState
		reason string
	}
	want := []entry{
		{opening, normalize.Inbound, normalize.StateSent, ""},
		{dead.ID, normalize.Inbound, normalize.StateFailed, "rejected: 422"},
		{sent.ID, normalize.Outbound, normalize.StateSent, ""},
		{retried.ID, normalize.Inbound, normalize.StateQueued, ""},
		{queued.ID, normalize.Outbound, normalize.StateQueued, ""},
	}
	entries := func(ms []normalize.Message) []entry {
		out := make([]entry, len(ms))
		for i, m := range ms {
			out[i] = entry{m.ID, m.Direction, m.State, m.FailReason}
		}
		return out
	}
	full := f.thread(conv, 100)
	require.Equal(t, want, entries(full), "Thread() holds both directions, oldest first, with their states")
	for i, m := range full {
		require.Equal(t, conv, m.Conversation, "message %d", i)
	}
	require.Equal(t, "poison", full[1].Text)
	require.Equal(t, "answer", full[2].Text)
	require.Equal(t, normalize.RoleAgent, full[2].Author.Role)

	require.Equal(t, want, entries(f.thread(conv, len(want))), "a limit of exactly the thread's length")
	require.Equal(t, want[3:], entries(f.thread(conv, 2)), "a limit keeps the newest messages, oldest first")
	require.Equal(t, want[4:], entries(f.thread(conv, 1)))

	otherThread := f.thread(other.Conversation, 100)
	require.Len(t, otherThread, 1)
	require.Equal(t, other.ID, otherThread[0].ID)
	require.Equal(t, normalize.StateQueued, otherThread[0].State)
}

// storeMarkState: receipts move an outbound message forward (sent, delivered, read) and never
// back; inbound messages not yet posted and dead letters are left alone.
func storeMarkState(t *testing.T, f *storeFixture) {
	conv := f.withTicket("p1")
	opening := f.messages(conv)[0].Message.ID
	r1 := f.intake(outbound(deskA, conv, "", "r1", "one"))[0]
	r2 := f.intake(outbound(deskA, conv, "", "r2", "two"))[0]
	f.deliverAll(f.claimOne(owner1, 10), owner1, chanA, "")
	queued := f.intake(outbound(deskA, conv, "", "r3", "not sent yet"))[0]

	mark := func(id normalize.MessageID, state normalize.DeliveryState) {
		t.Helper()
		require.NoError(t, f.st.MarkState(f.ctx, id, state), "MarkState(%s)", state)
	}
	require.Equal(t, normalize.StateSent, f.state(conv, r1.ID))
	mark(r1.ID, normalize.StateDelivered)
	require.Equal(t, normalize.StateDelivered, f.state(conv, r1.ID))
	mark(r1.ID, normalize.StateDelivered)
	require.Equal(t, normalize.StateDelivered, f.state(conv, r1.ID), "a repeated receipt changes nothing")
	mark(r1.ID, normalize.StateRead)
	require.Equal(t, normalize.StateRead, f.state(conv, r1.ID))
	mark(r1.ID, normalize.StateDelivered)
	require.Equal(t, normalize.StateRead, f.state(conv, r1.ID), "a late delivered receipt must not undo read")

	mark(r2.ID, normalize.StateRead)
	require.Equal(t, normalize.StateRead, f.state(conv, r2.ID), "read may come without delivered")
	mark(r2.ID, normalize.StateDelivered)
	require.Equal(t, normalize.StateRead, f.state(conv, r2.ID))

	// The player's page may answer before the worker recorded that Send returned: the receipt
	// proves arrival, counts, and the worker's late record keeps it.
	lane := f.claimOne(owner1, 10)
	require.Equal(t, []normalize.MessageID{queued.ID}, pendingIDs(lane))
	mark(queued.ID, normalize.StateRead)
	require.Equal(t, normalize.StateRead, f.state(conv, queued.ID), "a receipt for a reply in flight counts")
	f.deliverAll(lane, owner1, chanA, "")
	require.Equal(t, normalize.StateRead, f.state(conv, queued.ID), "recording the send must not undo the receipt")
	f.requireNothingDue(owner2)

	// An inbound message not yet posted is not the player's to acknowledge.
	waiting := f.intake(inbound(chanA, "p1", "w1", "still queued"))[0]
	mark(waiting.ID, normalize.StateRead)
	require.Equal(t, normalize.StateQueued, f.state(conv, waiting.ID), "a receipt must not touch an inbound message")
	require.Equal(t, []normalize.MessageID{waiting.ID}, pendingIDs(f.claimOne(owner1, 10)), "a receipt must not take it out of the outbox")

	// A dead letter stays one.
	poison := f.intake(inbound(chanA, "p2", "x1", "poison"))[0]
	lane = f.claimOne(owner1, 10)
	f.fail(lane, owner1, store.Failure{Seq: lane.Pending[0].Seq, Err: "rejected", Dead: true, CountsAsFailure: true})
	mark(poison.ID, normalize.StateRead)
	require.Equal(t, normalize.StateFailed, f.state(poison.Conversation, poison.ID), "a receipt must not revive a dead letter")
	require.Len(t, f.deadLetters(), 1)

	// Only delivered and read are receipts.
	mark(opening, normalize.StateDelivered)
	for _, state := range []normalize.DeliveryState{normalize.StateSent, normalize.StateQueued, normalize.StateFailed, "seen", ""} {
		err := f.st.MarkState(f.ctx, opening, state)
		require.Error(t, err, "MarkState(%q) must be rejected", state)
		require.NotErrorIs(t, err, connectors.ErrNotFound, "MarkState(%q): the message exists", state)
		require.Equal(t, normalize.StateDelivered, f.state(conv, opening), "a rejected MarkState(%q) must change nothing", state)
	}

	for _, state := range []normalize.DeliveryState{normalize.StateDelivered, normalize.StateRead} {
		require.ErrorIs(t, f.st.MarkState(f.ctx, normalize.NewMessageID(), state), connectors.ErrNotFound, "MarkState(%s) of an unknown message", state)
	}
}

// storeSetStatus: an agent closing or reopening a conversation, in any helpdesk (the
// built-in inbox included), is an outbound system message with Status; every read of the
// conversation sees it once it is stored, and the message stays in the thread.
func storeSetStatus(t *testing.T, f *storeFixture) {
	a := f.intake(inbound(chanA, "p1", "s1", "hi"))[0]
	b := f.intake(inbound(chanA, "p2", "s2", "other player"))[0]

	change := func(conv normalize.ConversationID, status normalize.Status) normalize.Message {
		m := outbound(deskA, conv, "", unique("status"), "status set to "+string(status))
		m.Kind, m.Status = normalize.KindSystem, status
		return m
	}
	for _, status := range []normalize.Status{normalize.StatusClosed, normalize.StatusPending, normalize.StatusOpen, normalize.StatusClosed} {
		f.intake(change(a.Conversation, status))
		conv, err := f.st.Conversation(f.ctx, a.Conversation)
		require.NoError(t, err, "Conversation()")
		require.Equal(t, status, conv.Status, "Conversation() after a change to %s", status)
		at, err := f.st.ConversationAt(f.ctx, chanA, "p1")
		require.NoError(t, err, "ConversationAt()")
		require.Equal(t, status, at.Status, "ConversationAt() after a change to %s", status)
	}
	conv, err := f.st.Conversation(f.ctx, a.Conversation)
	require.NoError(t, err, "Conversation()")
	require.Equal(t, deskA, conv.Helpdesk, "a status change changes nothing else")
	require.Equal(t, normalize.Address("p1"), conv.Address, "a status change changes nothing else")
	require.Len(t, f.thread(a.Conversation, 10), 5, "the changes stay in the thread, in order with the messages")

	other, err := f.st.Conversation(f.ctx, b.Conversation)
	require.NoError(t, err, "Conversation()")
	require.Equal(t, normalize.StatusOpen, other.Status, "a status change changes only its conversation")

	_, err = f.st.Intake(f.ctx, []normalize.Message{change(normalize.NewConversationID(), normalize.StatusClosed)}, f.assess)
	require.ErrorIs(t, err, connectors.ErrNotFound, "a status change of an unknown conversation")
	require.True(t, connectors.IsPermanent(err), "a status change of an unknown conversation can never be stored")
}

// thread returns Thread(conv, limit) and requires that its states agree with Messages.
func (f *storeFixture) thread(conv normalize.ConversationID, limit int) []normalize.Message {
	f.t.Helper()
	ms, err := f.st.Thread(f.ctx, conv, limit)
	require.NoError(f.t, err, "Thread()")
	stored := map[normalize.MessageID]normalize.DeliveryState{}
	for _, m := range f.messages(conv) {
		stored[m.Message.ID] = m.Message.State
	}
	for _, m := range ms {
		require.Equal(f.t, stored[m.ID], m.State, "Thread() and Messages() disagree on the state of %s", m.ID)
	}
	return ms
}

// state returns a message's delivery state as its conversation's thread shows it.
func (f *storeFixture) state(conv normalize.ConversationID, id normalize.MessageID) normalize.DeliveryState {
	f.t.Helper()
	for _, m := range f.thread(conv, 1000) {
		if m.ID == id {
			return m.State
		}
	}
	require.FailNow(f.t, "message not in its thread", "message %s, conversation %s", id, conv)
	return ""
}

// storeConversationOfExternal: a channel threads a mail by the Message-IDs it names, the
// player's earlier mails (received under them) and the gateway's replies (sent under them);
// the first known ID in the caller's order wins, and only the channel's own IDs count.
func storeConversationOfExternal(t *testing.T, f *storeFixture) {
	first := inbound(chanA, "tok-1", "mail-1@player.example", "my withdrawal")
	first.Author.Email = "ann@player.example"
	convA := f.intake(first)[0].Conversation
	lane := f.claimOne(owner1, 10)
	f.deliverAll(lane, owner1, deskA, "T-1")
	reply := f.intake(outbound(deskA, convA, "", "r1", "we are on it"))[0]
	lane = f.claimOne(owner1, 10)
	f.complete(store.Outcome{Conversation: convA, Direction: normalize.Outbound, Owner: owner1, Token: lane.Token, Target: chanA,
		Delivered: []store.Delivered{{Seq: lane.Pending[0].Seq, ID: reply.ID, TargetID: "reply-1@gateway.example"}}})
	convB := f.intake(inbound(chanA, "tok-2", "mail-2@player.example", "other topic"))[0].Conversation
	other := f.intake(inbound(chanB, "tok-3", "mail-3@player.example", "other channel"))[0].Conversation

	for _, tc := range []struct {
		name string
		ids  []normalize.ExternalID
		want normalize.ConversationID
	}{
		{"a player's mail", []normalize.ExternalID{"mail-1@player.example"}, convA},
		{"the gateway's reply", []normalize.ExternalID{"reply-1@gateway.example"}, convA},
		{"unknown IDs first are passed over", []normalize.ExternalID{"", "unknown@x", "mail-2@player.example"}, convB},
		{"the first known wins", []normalize.ExternalID{"mail-2@player.example", "reply-1@gateway.example"}, convB},
	} {
		got, err := f.st.ConversationOfExternal(f.ctx, chanA, tc.ids)
		require.NoError(t, err, tc.name)
		require.Equal(t, tc.want, got.ID, tc.name)
	}
	got, err := f.st.ConversationOfExternal(f.ctx, chanA, []normalize.ExternalID{"mail-1@player.example"})
	require.NoError(t, err)
	byID, err := f.st.Conversation(f.ctx, convA)
	require.NoError(t, err)
	require.Equal(t, byID, got, "the conversation as Conversation reads it")
	require.Equal(t, "ann@player.example", got.Player.Email, "the player's address is kept with the conversation")

	later := inbound(chanA, "tok-1", "mail-4@player.example", "from my other address")
	later.Author.Email = "ann@other.example"
	f.intake(later)
	got, err = f.st.Conversation(f.ctx, convA)
	require.NoError(t, err)
	require.Equal(t, "ann@player.example", got.Player.Email, "the first address stays the requester's")

	for _, tc := range []struct {
		name     string
		instance normalize.InstanceName
		ids      []normalize.ExternalID
	}{
		{"no IDs", chanA, nil},
		{"unknown IDs", chanA, []normalize.ExternalID{"unknown@x", ""}},
		{"another channel's mail", chanA, []normalize.ExternalID{"mail-3@player.example"}},
		{"a helpdesk's ID is not the channel's", chanA, []normalize.ExternalID{"r1"}},
		{"the channel's mail asked of the helpdesk", deskA, []normalize.ExternalID{"mail-1@player.example"}},
	} {
		_, err := f.st.ConversationOfExternal(f.ctx, tc.instance, tc.ids)
		require.ErrorIs(t, err, connectors.ErrNotFound, tc.name)
	}
	got, err = f.st.ConversationOfExternal(f.ctx, chanB, []normalize.ExternalID{"mail-3@player.example"})
	require.NoError(t, err)
	require.Equal(t, other, got.ID)
}

// storeMarkFailed: a channel learns after the fact that a sent reply never arrived (an e-mail
// bounce): the reply becomes failed with the reason, the helpdesk gets one note, and a queued
// reply, another channel's reply or an unknown one is left alone.
func storeMarkFailed(t *testing.T, f *storeFixture) {
	conv := f.withTicket("p1")
	sent := f.intake(outbound(deskA, conv, "", "r1", "your KYC is approved\nsecond line"))[0]
	f.deliverAll(f.claimOne(owner1, 10), owner1, chanA, "")
	queued := f.intake(outbound(deskA, conv, "", "r2", "not sent yet"))[0]

	_, err := f.st.MarkFailed(f.ctx, chanB, sent.ID, "550 5.1.1 unknown user")
	require.ErrorIs(t, err, connectors.ErrNotFound, "another channel cannot fail the reply")
	_, err = f.st.MarkFailed(f.ctx, chanA, normalize.NewMessageID(), "550")
	require.ErrorIs(t, err, connectors.ErrNotFound, "an unknown reply")
	opening := f.messages(conv)[0].Message.ID
	_, err = f.st.MarkFailed(f.ctx, chanA, opening, "550")
	require.ErrorIs(t, err, connectors.ErrNotFound, "a player's message is no reply")

	failed, err := f.st.MarkFailed(f.ctx, chanA, queued.ID, "550")
	require.NoError(t, err)
	require.False(t, failed, "a queued reply is still the router's")
	require.Equal(t, normalize.StateQueued, f.state(conv, queued.ID))

	failed, err = f.st.MarkFailed(f.ctx, chanA, sent.ID, "550 5.1.1 unknown user")
	require.NoError(t, err, "MarkFailed()")
	require.True(t, failed)
	thread := f.thread(conv, 100)
	var reply, note *normalize.Message
	for i := range thread {
		switch {
		case thread[i].ID == sent.ID:
			reply = &thread[i]
		case thread[i].Kind == normalize.KindSystem:
			note = &thread[i]
		}
	}
	require.NotNil(t, reply)
	require.Equal(t, normalize.StateFailed, reply.State)
	require.Equal(t, "550 5.1.1 unknown user", reply.FailReason)
	require.NotNil(t, note, "the helpdesk is told")
	require.Equal(t, normalize.Inbound, note.Direction)
	require.Equal(t, normalize.RoleSystem, note.Author.Role)
	require.Contains(t, note.Text, "your KYC is approved", "the note names the reply by its first line")
	require.NotContains(t, note.Text, "second line")
	require.Contains(t, note.Text, "550 5.1.1 unknown user")

	failed, err = f.st.MarkFailed(f.ctx, chanA, sent.ID, "550 again")
	require.NoError(t, err, "a second report is no error")
	require.False(t, failed)
	require.Len(t, f.thread(conv, 100), len(thread), "a second report adds no note")

	// The note is delivered to the helpdesk like any inbound message; the queued reply goes on.
	lanes := f.claim(owner1, 10)
	require.Len(t, lanes, 2, "the note's lane and the queued reply's")
	for _, lane := range lanes {
		if lane.Direction == normalize.Inbound {
			require.Equal(t, []normalize.MessageID{note.ID}, pendingIDs(lane))
		}
	}
}
