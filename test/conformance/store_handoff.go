package conformance

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/store"
)

// Lanes handed out without a claim: by intake as it stores their messages, and by the
// completion of a lane's last batch (issue 16). Both must lease exactly as Claim does, or two
// workers post the same messages.

// handoff is what a router with free workers asks intake for.
func handoff(owner string, inbound, outbound int) store.Handoff {
	return store.Handoff{Owner: owner, Max: store.Budget{Inbound: inbound, Outbound: outbound}, Batch: 10, Lease: time.Minute}
}

func (f *storeFixture) intakeHandoff(h store.Handoff, msgs ...normalize.Message) ([]store.Accepted, []store.Lane) {
	f.t.Helper()
	acc, lanes, err := f.st.IntakeHandoff(f.ctx, msgs, f.assess, h)
	require.NoError(f.t, err, "IntakeHandoff()")
	require.Len(f.t, acc, len(msgs), "IntakeHandoff() must report on every message")
	return acc, lanes
}

// storeIntakeHandoff: intake leases the lanes it makes claimable to the caller, within its
// budget, with their pending messages in order, and no claim finds them again; lanes another
// worker holds, lanes waiting out a retry and lanes of duplicates only are left to claims.
func storeIntakeHandoff(t *testing.T, f *storeFixture) {
	conv := f.withTicket("p1")
	acc, lanes := f.intakeHandoff(handoff(owner1, 5, 5), inbound(chanA, "p1", "h1", "one"), inbound(chanA, "p1", "h2", "two"))
	require.Len(t, lanes, 1, "the idle lane is handed over")
	lane := lanes[0]
	require.Equal(t, conv, lane.Conversation.ID)
	require.Equal(t, normalize.Ref("T-p1"), lane.Conversation.Ticket, "the lane carries its conversation")
	require.Equal(t, normalize.Inbound, lane.Direction)
	require.Equal(t, acceptedIDs(acc), pendingIDs(lane), "every message of the call, oldest first")
	require.Equal(t, 1, lane.Pending[0].Attempt, "the hand-over counts as an attempt")
	require.Empty(t, f.claim(owner2, 10), "a lane intake leased must not be claimed again")

	// A message while the worker holds the lane: not handed over, and no claim takes it.
	_, busy := f.intakeHandoff(handoff(owner2, 5, 5), inbound(chanA, "p1", "h3", "three"))
	require.Empty(t, busy, "a leased lane is not handed over")
	require.Empty(t, f.claim(owner2, 10))
	f.deliverAll(lane, owner1, deskA, "")
	rest := f.claimOne(owner2, 10)
	require.Len(t, rest.Pending, 1, "the message left is due once the lane is released")
	require.Greater(t, rest.Token, lane.Token, "every hand-out takes a higher token")
	f.deliverAll(rest, owner2, deskA, "")

	// Duplicates make nothing due; a zero budget hands nothing over and leaves the lane to a claim.
	_, dup := f.intakeHandoff(handoff(owner1, 5, 5), inbound(chanA, "p1", "h1", "one"))
	require.Empty(t, dup, "a duplicate hands nothing over")
	f.requireNothingDue(owner1)
	_, none := f.intakeHandoff(handoff(owner1, 0, 5), inbound(chanA, "p1", "h4", "four"))
	require.Empty(t, none, "no inbound worker free: nothing handed over")
	waiting := f.claimOne(owner1, 10)
	require.Len(t, waiting.Pending, 1)

	// A lane waiting out a retry keeps waiting.
	f.fail(waiting, owner1, store.Failure{Seq: waiting.Pending[0].Seq, Err: "timeout", RetryAt: f.clk.Now().Add(time.Hour), CountsAsFailure: true})
	_, retrying := f.intakeHandoff(handoff(owner1, 5, 5), inbound(chanA, "p1", "h5", "five"))
	require.Empty(t, retrying, "a lane waiting out a retry is not handed over")
	f.requireNothingDue(owner1)

	// A conversation the FAQ bot holds is the bot's until it hands off.
	f.policy = func(normalize.Message) store.Assessment { return store.Assessment{Helpdesk: deskA, Hold: "faq"} }
	_, held := f.intakeHandoff(handoff(owner1, 5, 5), inbound(chanA, "p-bot", "hb1", "hello"))
	require.Empty(t, held, "a lane the FAQ bot holds is not handed over")
}

// storeIntakeHandoffBudget: the budget counts lanes per direction, in the order of their first
// message; a new conversation's lane holds its opening message alone, as a claim's does.
func storeIntakeHandoffBudget(t *testing.T, f *storeFixture) {
	acc, lanes := f.intakeHandoff(handoff(owner1, 1, 5),
		inbound(chanA, "b1", "b1-1", "first"), inbound(chanA, "b1", "b1-2", "second"), inbound(chanA, "b2", "b2-1", "other"))
	require.Len(t, lanes, 1, "one inbound worker free: one lane")
	require.Equal(t, acc[0].Conversation, lanes[0].Conversation.ID, "the lane of the first message")
	require.Equal(t, []normalize.MessageID{acc[0].ID}, pendingIDs(lanes[0]), "an opening message goes alone")
	other := f.claimOne(owner2, 10)
	require.Equal(t, acc[2].Conversation, other.Conversation.ID, "the lane left over is claimed")
	f.deliverAll(lanes[0], owner1, deskA, "T-b1")
	require.Equal(t, []normalize.MessageID{acc[1].ID}, pendingIDs(f.claimOne(owner2, 10)))
}

// storeCompleteNext: a completion that asks for more keeps the lease (the same token, for as
// long as asked) and hands out the lane's next messages; with nothing left, after a failure
// and when only recording, it releases as Complete does.
func storeCompleteNext(t *testing.T, f *storeFixture) {
	const lease = time.Second
	conv := f.withTicket("p1")
	acc := f.intake(inbound(chanA, "p1", "c1", "one"), inbound(chanA, "p1", "c2", "two"), inbound(chanA, "p1", "c3", "three"))
	first := f.claimLease(owner1, 1, lease)
	require.Len(t, first, 1)
	f.clk.Advance(lease * 3 / 4)
	next, ok := f.completeNext(first[0], 2, lease)
	require.True(t, ok, "messages are left: the lane goes on")
	require.Equal(t, acceptedIDs(acc[1:]), pendingIDs(next), "the next messages, oldest first, at most batch")
	require.Equal(t, first[0].Token, next.Token, "the same lease goes on")
	require.Equal(t, conv, next.Conversation.ID)
	require.Equal(t, normalize.Ref("T-p1"), next.Conversation.Ticket)
	require.Equal(t, 1, next.Pending[0].Attempt)
	f.clk.Advance(lease / 2)
	require.Empty(t, f.claim(owner2, 10), "the lease runs from the completion, not from the first claim")

	_, ok = f.completeNext(next, 10, lease)
	require.False(t, ok, "nothing left")
	f.requireNothingDue(owner2)
	require.True(t, f.nextDue().IsZero(), "the lane is idle")
	for _, m := range f.messages(conv)[1:] {
		require.Equal(t, normalize.StateSent, m.Message.State)
	}

	// A failure releases the lane for its retry; a stale worker gets nothing.
	f.intake(inbound(chanA, "p1", "c4", "four"), inbound(chanA, "p1", "c5", "five"))
	lane := f.claimOne(owner1, 1)
	o := store.Outcome{Conversation: conv, Direction: normalize.Inbound, Owner: owner1, Token: lane.Token, Target: deskA,
		Failure: &store.Failure{Seq: lane.Pending[0].Seq, Err: "timeout", RetryAt: f.clk.Now().Add(time.Minute), CountsAsFailure: true}}
	_, ok, err := f.st.CompleteNext(f.ctx, o, 10, lease)
	require.NoError(t, err)
	require.False(t, ok, "a failure does not go on")
	f.requireNothingDue(owner2)
	f.clk.Advance(time.Minute)
	again := f.claimOne(owner2, 10)
	require.Len(t, again.Pending, 2)
	_, _, err = f.st.CompleteNext(f.ctx, store.Outcome{Conversation: conv, Direction: normalize.Inbound, Owner: owner1, Token: lane.Token,
		Target: deskA}, 10, lease)
	require.ErrorIs(t, err, store.ErrLeaseLost, "a stale worker cannot go on with the lane")

	// Going on after a success clears the failures counted before it: the next is the first.
	require.Equal(t, 1, again.Failures)
	f.intake(inbound(chanA, "p1", "c6", "six"))
	more, ok := f.completeNext(again, 10, lease)
	require.True(t, ok, "a message came: the lane goes on")
	f.fail(more, owner2, store.Failure{Seq: more.Pending[0].Seq, Err: "timeout", RetryAt: f.clk.Now(), CountsAsFailure: true})
	require.Equal(t, 1, f.claimOne(owner2, 10).Failures, "the failure before the success no longer counts")
}

// A worker that lanes wait behind releases its lane and may take the one due longest in the
// same transaction: another conversation's that came due first, then its own again, then
// nothing. The lane it takes is leased to it as a claim leases, and counts the hand-out. A
// store that takes none (PostgreSQL) releases the lane as Complete does, and a claim then
// finds the lanes in the order they came due.
func storeCompleteClaim(t *testing.T, f *storeFixture) {
	const lease = time.Second
	f.withTicket("p1")
	f.withTicket("p2")
	f.intake(inbound(chanA, "p1", "a1", "one"), inbound(chanA, "p1", "a2", "two"))
	a := f.claimOne(owner1, 1)
	f.clk.Advance(time.Millisecond)
	b := f.intake(inbound(chanA, "p2", "b1", "three"))
	f.clk.Advance(time.Millisecond)

	complete := func(lane store.Lane) (store.Lane, bool) {
		t.Helper()
		o := store.Outcome{Conversation: lane.Conversation.ID, Direction: lane.Direction, Owner: owner1, Token: lane.Token, Target: deskA}
		for _, p := range lane.Pending {
			o.Delivered = append(o.Delivered, store.Delivered{Seq: p.Seq, ID: p.Message.ID, TargetID: normalize.ExternalID(unique("desk"))})
		}
		next, ok, err := f.st.CompleteClaim(f.ctx, o, 10, lease)
		require.NoError(t, err, "CompleteClaim()")
		return next, ok
	}
	next, ok := complete(a)
	if !ok {
		lanes := f.claim(owner2, 10)
		require.Len(t, lanes, 2, "both lanes are due")
		require.Equal(t, acceptedIDs(b), pendingIDs(lanes[0]), "p2's lane came due before p1's was released with a message left")
		require.Equal(t, a.Conversation.ID, lanes[1].Conversation.ID)
		return
	}
	require.Equal(t, acceptedIDs(b), pendingIDs(next), "p2's lane came due before p1's was released with a message left")
	require.Equal(t, 1, next.Pending[0].Attempt, "the hand-out counts")

	f.clk.Advance(time.Millisecond)
	own, ok := complete(next)
	require.True(t, ok)
	require.Equal(t, a.Conversation.ID, own.Conversation.ID, "then p1's own lane, its message left")
	require.Len(t, own.Pending, 1)
	f.clk.Advance(lease / 2)
	require.Empty(t, f.claim(owner2, 10), "leased to the worker from the completion on")

	_, ok = complete(own)
	require.False(t, ok, "nothing is due")
	f.requireNothingDue(owner2)
	require.True(t, f.nextDue().IsZero(), "every lane is idle")
}

func (f *storeFixture) completeNext(lane store.Lane, batch int, lease time.Duration) (store.Lane, bool) {
	f.t.Helper()
	o := store.Outcome{Conversation: lane.Conversation.ID, Direction: lane.Direction, Owner: owner1, Token: lane.Token, Target: deskA}
	for _, p := range lane.Pending {
		o.Delivered = append(o.Delivered, store.Delivered{Seq: p.Seq, ID: p.Message.ID, TargetID: normalize.ExternalID(unique("desk"))})
	}
	next, ok, err := f.st.CompleteNext(f.ctx, o, batch, lease)
	require.NoError(f.t, err, "CompleteNext()")
	return next, ok
}
