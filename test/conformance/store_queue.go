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

// The outbox: leases, completion, back-off, dead letters, replay, attempts.

// storeLease: a claimed lane belongs to its worker until it completes or its lease lapses (the
// worker died), and a late Complete of the old worker is refused whole: it neither records its
// deliveries over the new holder's nor releases the new holder's lease.
func storeLease(t *testing.T, f *storeFixture) {
	const lease = 250 * time.Millisecond
	f.withTicket("p1")
	acc := f.intake(inbound(chanA, "p1", "l1", "one"), inbound(chanA, "p1", "l2", "two"))
	first := f.claimLease(owner1, 10, lease)
	require.Len(t, first, 1)
	require.Empty(t, f.claimLease(owner2, 10, lease), "a leased lane must not be claimed again")
	require.WithinDuration(t, f.clk.Now().Add(lease), f.nextDue(), time.Millisecond, "NextDue() must wait for the lease, and no longer")

	f.clk.Advance(lease + 50*time.Millisecond)
	second := f.claimLease(owner2, 10, time.Minute)
	require.Len(t, second, 1, "a lapsed lease must let another worker claim the lane")
	require.Equal(t, acceptedIDs(acc), pendingIDs(second[0]))
	require.Equal(t, 2, second[0].Pending[0].Attempt, "the lapsed claim counts as an attempt")
	require.Greater(t, second[0].Token, first[0].Token, "every claim takes a higher token")

	// The first worker wakes up and records the first message; the second owns the lane.
	p := first[0].Pending[0]
	err := f.st.Complete(f.ctx, store.Outcome{Conversation: p.Message.Conversation, Direction: normalize.Inbound, Owner: owner1,
		Token: first[0].Token, Target: deskA, Delivered: []store.Delivered{{Seq: p.Seq, ID: p.Message.ID, TargetID: "c-1"}}})
	require.ErrorIs(t, err, store.ErrLeaseLost, "a stale worker's Complete must be refused")
	require.Empty(t, f.claimLease("worker-3", 10, time.Minute), "a stale worker's Complete must not release another worker's lease")
	for _, m := range f.messages(p.Message.Conversation)[1:] {
		require.Equal(t, normalize.StateQueued, m.Message.State, "a refused Complete records nothing")
	}

	done := f.deliverAll(second[0], owner2, deskA, "")
	f.requireNothingDue(owner1)
	for i, m := range f.messages(p.Message.Conversation)[1:] {
		require.Equal(t, normalize.StateSent, m.Message.State)
		require.Equal(t, done.Delivered[i].TargetID, m.TargetID, "the holder's deliveries are recorded")
	}
}

// storeFencedLease: a worker whose lease lapsed while another worker claimed and delivered
// the lane can neither overwrite what the other delivered, nor dead-letter it, nor renew its
// lease, nor take the lane back by completing it later; the lane stays the new holder's.
func storeFencedLease(t *testing.T, f *storeFixture) {
	const lease = time.Second
	f.withTicket("p1")
	acc := f.intake(inbound(chanA, "p1", "f1", "one"), inbound(chanA, "p1", "f2", "two"))
	stale := f.claimLease(owner1, 10, lease)
	require.Len(t, stale, 1)
	f.clk.Advance(2 * lease)
	fresh := f.claimLease(owner2, 10, time.Minute)
	require.Len(t, fresh, 1)
	done := f.deliverAll(fresh[0], owner2, deskA, "")
	conv := acc[0].Conversation

	staleOutcomes := map[string]store.Outcome{
		"overwrite": {Delivered: []store.Delivered{{Seq: stale[0].Pending[0].Seq, ID: acc[0].ID, TargetID: "stale-1"}}},
		"dead-letter": {Failure: &store.Failure{Seq: stale[0].Pending[0].Seq, Err: "stale: rejected", Dead: true,
			CountsAsFailure: true}},
		"retry later": {Failure: &store.Failure{Seq: stale[0].Pending[0].Seq, Err: "stale: timeout",
			RetryAt: f.clk.Now().Add(time.Hour), CountsAsFailure: true}},
		"record and keep": {Keep: true, Delivered: []store.Delivered{{Seq: stale[0].Pending[1].Seq, ID: acc[1].ID, TargetID: "stale-2"}}},
	}
	for name, o := range staleOutcomes {
		o.Conversation, o.Direction, o.Owner, o.Token, o.Target = conv, normalize.Inbound, owner1, stale[0].Token, deskA
		require.ErrorIs(t, f.st.Complete(f.ctx, o), store.ErrLeaseLost, name)
	}
	require.ErrorIs(t, f.st.Renew(f.ctx, conv, normalize.Inbound, stale[0].Token, time.Minute), store.ErrLeaseLost,
		"a stale worker cannot renew")

	require.Empty(t, f.deadLetters(), "a stale worker dead-lettered a delivered message")
	for i, m := range f.messages(conv)[1:] {
		require.Equal(t, normalize.StateSent, m.Message.State)
		require.Equal(t, done.Delivered[i].TargetID, m.TargetID, "a stale worker overwrote a delivery")
		require.Empty(t, m.Error)
	}
	f.requireNothingDue(owner1)
	require.True(t, f.nextDue().IsZero(), "a stale worker's retry time must not make the lane due")
	// The lane goes on as usual.
	more := f.intake(inbound(chanA, "p1", "f3", "three"))[0]
	require.Equal(t, []normalize.MessageID{more.ID}, pendingIDs(f.claimOne(owner1, 10)))
}

// storeRenew: renewing keeps a lane its worker's past the lease it claimed with; a renewal
// of a lease the lane's Complete released is refused, and extends nothing.
func storeRenew(t *testing.T, f *storeFixture) {
	const lease = time.Second
	f.withTicket("p1")
	f.intake(inbound(chanA, "p1", "n1", "one"))
	lanes := f.claimLease(owner1, 10, lease)
	require.Len(t, lanes, 1)
	lane := lanes[0]
	for range 3 {
		f.clk.Advance(lease * 3 / 4)
		require.NoError(t, f.st.Renew(f.ctx, lane.Conversation.ID, lane.Direction, lane.Token, lease), "Renew()")
		require.Empty(t, f.claimLease(owner2, 10, lease), "a renewed lease must hold")
	}
	require.WithinDuration(t, f.clk.Now().Add(lease), f.nextDue(), time.Millisecond, "NextDue() must follow the renewal")
	// A lease that lapsed, with nobody claiming the lane since, is taken back.
	f.clk.Advance(2 * lease)
	require.NoError(t, f.st.Renew(f.ctx, lane.Conversation.ID, lane.Direction, lane.Token, lease), "Renew() after a lapse")
	require.Empty(t, f.claimLease(owner2, 10, lease))

	f.deliverAll(lane, owner1, deskA, "")
	require.ErrorIs(t, f.st.Renew(f.ctx, lane.Conversation.ID, lane.Direction, lane.Token, lease), store.ErrLeaseLost,
		"a released lease cannot be renewed")
	f.intake(inbound(chanA, "p1", "n2", "two"))
	require.Len(t, f.claim(owner2, 10), 1, "a refused renewal must not hold the lane")
}

func storeComplete(t *testing.T, f *storeFixture) {
	f.withTicket("p1")
	acc := f.intake(inbound(chanA, "p1", "x1", "one"), inbound(chanA, "p1", "x2", "two"), inbound(chanA, "p1", "x3", "three"))
	lane := f.claimOne(owner1, 2)
	require.Equal(t, acceptedIDs(acc[:2]), pendingIDs(lane), "Claim hands out at most batch messages, oldest first")
	require.Equal(t, deskA, lane.Conversation.Helpdesk, "the lane carries its conversation")
	require.Equal(t, normalize.Inbound, lane.Direction)
	require.Zero(t, lane.Failures)
	done := f.deliverAll(lane, owner1, deskA, "T-other")

	rest := f.claimOne(owner1, 10)
	require.Equal(t, acceptedIDs(acc[2:]), pendingIDs(rest), "messages left make the lane due again at once")
	require.Equal(t, normalize.Ref("T-p1"), rest.Conversation.Ticket, "a recorded ticket is never replaced")
	f.deliverAll(rest, owner1, deskA, "")

	f.requireNothingDue(owner2)
	require.True(t, f.nextDue().IsZero(), "an idle store has nothing due")
	require.Equal(t, 0, f.stats().Queued[normalize.Inbound])
	stored := f.messages(acc[0].Conversation)[1:] // after the opening message
	require.Len(t, stored, 3)
	for i, m := range stored {
		require.Equal(t, normalize.StateSent, m.Message.State, "message %d", i)
		require.NotEmpty(t, m.TargetID, "message %d", i)
	}
	require.Equal(t, done.Delivered[0].TargetID, stored[0].TargetID)

	// A new message after idling makes the lane due again.
	more := f.intake(inbound(chanA, "p1", "x4", "four"))[0]
	require.Equal(t, []normalize.MessageID{more.ID}, pendingIDs(f.claimOne(owner1, 10)))
}

func storeRetryAt(t *testing.T, f *storeFixture) {
	f.withTicket("p1")
	f.intake(inbound(chanA, "p1", "r1", "one"))
	lane := f.claimOne(owner1, 10)
	retryAt := f.clk.Now().Add(time.Second)
	f.fail(lane, owner1, store.Failure{Seq: lane.Pending[0].Seq, Err: "helpdesk down", RetryAt: retryAt, CountsAsFailure: true})

	f.requireNothingDue(owner2)
	require.WithinDuration(t, retryAt, f.nextDue(), 2*time.Millisecond, "NextDue() must report the retry time")
	stored := f.messages(lane.Conversation.ID)[1:] // after the opening message
	require.Equal(t, normalize.StateQueued, stored[0].Message.State, "a retried message stays queued")
	require.Equal(t, "helpdesk down", stored[0].Error)
	// A message arriving during back-off must not cut the wait short.
	f.intake(inbound(chanA, "p1", "r2", "two"))
	f.requireNothingDue(owner2)

	f.clk.Advance(time.Second - 10*time.Millisecond)
	require.Empty(t, f.claim(owner2, 10), "claimed before its retry time")
	f.clk.Advance(10 * time.Millisecond)
	again := f.claim(owner2, 10)
	require.Len(t, again, 1, "the lane must be due at its retry time")
	require.Equal(t, 1, again[0].Failures)
	require.Equal(t, 2, again[0].Pending[0].Attempt)
	require.Len(t, again[0].Pending, 2)
}

// storeDeadLetter: a dead message leaves the lane, which goes on with the next; replay
// re-queues it, per conversation or all.
func storeDeadLetter(t *testing.T, f *storeFixture) {
	a := f.intake(inbound(chanA, "p1", "d1", "poison"), inbound(chanA, "p1", "d2", "fine"))
	lane := f.claimOne(owner1, 10)
	f.fail(lane, owner1, store.Failure{Seq: lane.Pending[0].Seq, Err: "rejected: 422", Dead: true, CountsAsFailure: true})

	dead := f.deadLetters()
	require.Len(t, dead, 1)
	require.Equal(t, a[0].ID, dead[0].Message.ID)
	require.Equal(t, normalize.StateFailed, dead[0].Message.State)
	require.Equal(t, "rejected: 422", dead[0].Message.FailReason)
	require.Equal(t, a[0].Conversation, dead[0].Conv)
	st := f.stats()
	require.Equal(t, 1, st.DeadLetters)
	require.Equal(t, 1, st.Queued[normalize.Inbound])

	next := f.claimOne(owner1, 10)
	require.Equal(t, []normalize.MessageID{a[1].ID}, pendingIDs(next), "the lane goes on after a dead letter")
	require.Zero(t, next.Failures, "a dead letter resets the lane's failures")
	f.deliverAll(next, owner1, deskA, "T-1")
	f.requireNothingDue(owner1)

	// A dead letter in a second conversation shows that Replay(conv) is scoped.
	b := f.intake(inbound(chanA, "p2", "d3", "poison too"))[0]
	bl := f.claimOne(owner1, 10)
	f.fail(bl, owner1, store.Failure{Seq: bl.Pending[0].Seq, Err: "rejected", Dead: true, CountsAsFailure: true})
	require.Len(t, f.deadLetters(), 2)

	n, err := f.st.Replay(f.ctx, a[0].Conversation)
	require.NoError(t, err, "Replay()")
	require.Equal(t, 1, n)
	dead = f.deadLetters()
	require.Len(t, dead, 1)
	require.Equal(t, b.ID, dead[0].Message.ID)
	replayed := f.claimOne(owner1, 10)
	require.Equal(t, []normalize.MessageID{a[0].ID}, pendingIDs(replayed))
	require.Equal(t, normalize.Ref("T-1"), replayed.Conversation.Ticket)
	f.deliverAll(replayed, owner1, deskA, "")

	n, err = f.st.Replay(f.ctx, "")
	require.NoError(t, err, "Replay(all)")
	require.Equal(t, 1, n)
	require.Empty(t, f.deadLetters())
	require.Equal(t, []normalize.MessageID{b.ID}, pendingIDs(f.claimOne(owner1, 10)))
	require.Zero(t, f.stats().DeadLetters)
}

// storeReplayOrder checks Replay's documented order: a replayed message regains its place in
// its conversation, ahead of the messages still queued behind it.
func storeReplayOrder(t *testing.T, f *storeFixture) {
	f.withTicket("p1")
	a := f.intake(inbound(chanA, "p1", "o1", "poison"), inbound(chanA, "p1", "o2", "queued behind it"))
	lane := f.claimOne(owner1, 1)
	f.fail(lane, owner1, store.Failure{Seq: lane.Pending[0].Seq, Err: "rejected", Dead: true, CountsAsFailure: true})
	n, err := f.st.Replay(f.ctx, a[0].Conversation)
	require.NoError(t, err, "Replay()")
	require.Equal(t, 1, n)
	require.Equal(t, []normalize.MessageID{a[0].ID, a[1].ID}, pendingIDs(f.claimOne(owner1, 10)))
}

// storeAttempts: Attempt counts hand-outs across claims; Failures counts failed attempts but
// not waits the target asked for, and resets after a success.
func storeAttempts(t *testing.T, f *storeFixture) {
	f.intake(inbound(chanA, "p1", "t1", "one"))
	for i := 1; i <= 3; i++ {
		lane := f.claimOne(owner1, 10)
		require.Equal(t, i, lane.Pending[0].Attempt, "claim %d", i)
		require.Equal(t, i-1, lane.Failures, "claim %d", i)
		f.fail(lane, owner1, store.Failure{Seq: lane.Pending[0].Seq, Err: "timeout", RetryAt: f.clk.Now().Add(-time.Second), CountsAsFailure: true})
	}
	lane := f.claimOne(owner1, 10)
	f.fail(lane, owner1, store.Failure{Seq: lane.Pending[0].Seq, Err: "429", RetryAt: f.clk.Now().Add(-time.Second)})
	lane = f.claimOne(owner1, 10)
	require.Equal(t, 5, lane.Pending[0].Attempt)
	require.Equal(t, 3, lane.Failures, "a Retry-After wait is not a failure")
	f.deliverAll(lane, owner1, deskA, "T-1")

	f.intake(inbound(chanA, "p1", "t2", "two"))
	lane = f.claimOne(owner1, 10)
	require.Zero(t, lane.Failures, "a success resets the lane's failures")
	require.Equal(t, 1, lane.Pending[0].Attempt)
}

// storeOpeningAlone: a conversation's opening message is handed out alone, so its ticket is
// recorded before anything else is posted; while that is under way, or after an attempt that
// failed (it may have created the ticket remotely all the same), an agent reply naming an
// unknown ticket of that helpdesk is refused as retryable (the remote will try again), and
// otherwise as permanent.
func storeOpeningAlone(t *testing.T, f *storeFixture) {
	acc := f.intake(inbound(chanA, "p1", "o1", "one"), inbound(chanA, "p1", "o2", "two"), inbound(chanA, "p1", "o3", "three"))
	opening := f.claimOne(owner1, 10)
	require.Equal(t, acceptedIDs(acc[:1]), pendingIDs(opening), "the opening message goes alone")

	early := outbound(deskA, "", "T-new", "auto-1", "we received your request")
	_, err := f.st.Intake(f.ctx, []normalize.Message{early}, f.assess)
	require.ErrorIs(t, err, store.ErrNotFound)
	require.NotErrorIs(t, err, connectors.ErrPermanent, "a ticket may be being created: the remote must retry")

	// The create timed out, yet the helpdesk committed the ticket; the lane backs off unleased.
	f.fail(opening, owner1, store.Failure{Seq: opening.Pending[0].Seq, Err: "timeout", RetryAt: f.clk.Now().Add(-time.Second), CountsAsFailure: true})
	_, err = f.st.Intake(f.ctx, []normalize.Message{early}, f.assess)
	require.ErrorIs(t, err, store.ErrNotFound)
	require.NotErrorIs(t, err, connectors.ErrPermanent, "a failed attempt may have created the ticket: the remote must retry")
	opening = f.claimOne(owner1, 10)
	require.Equal(t, acceptedIDs(acc[:1]), pendingIDs(opening), "the opening message is retried alone")

	f.deliverAll(opening, owner1, deskA, "T-new")
	rest := f.claimOne(owner1, 10)
	require.Equal(t, acceptedIDs(acc[1:]), pendingIDs(rest), "once the ticket is recorded, the rest goes in a batch")
	f.deliverAll(rest, owner1, deskA, "")
	require.False(t, f.intake(early)[0].Duplicate, "the retried reply is accepted")

	_, err = f.st.Intake(f.ctx, []normalize.Message{outbound(deskA, "", "T-never", "x-1", "?")}, f.assess)
	require.ErrorIs(t, err, connectors.ErrPermanent, "with no ticket being created, an unknown ticket is permanent")

	// A ticketless conversation whose message was never handed out, or was dead-lettered, has
	// no ticket anywhere.
	f.intake(inbound(chanA, "p2", "q1", "hello"))
	_, err = f.st.Intake(f.ctx, []normalize.Message{outbound(deskA, "", "T-never", "x-2", "?")}, f.assess)
	require.ErrorIs(t, err, connectors.ErrPermanent, "a message not yet attempted created no ticket")
	for _, lane := range f.claimLease(owner1, 10, time.Minute) { // with the accepted reply's outbound lane
		if lane.Direction == normalize.Inbound {
			f.fail(lane, owner1, store.Failure{Seq: lane.Pending[0].Seq, Err: "rejected", Dead: true, CountsAsFailure: true})
		}
	}
	require.Len(t, f.deadLetters(), 1)
	_, err = f.st.Intake(f.ctx, []normalize.Message{outbound(deskA, "", "T-never", "x-3", "?")}, f.assess)
	require.ErrorIs(t, err, connectors.ErrPermanent, "with nothing pending, an unknown ticket is permanent")
}

// storeClaimWhileEnqueuing: a lane claimed while messages are being enqueued on it hands
// them out in seq order across claims too. A store whose transactions run at once (several
// committers or replicas on PostgreSQL) must not let a claim see a later message committed
// while an earlier one is not yet, or the earlier would go out after the later.
func storeClaimWhileEnqueuing(t *testing.T, f *storeFixture) {
	const replies, senders = 160, 16
	conv := f.withTicket("p1")
	var wg sync.WaitGroup
	for g := range senders {
		wg.Go(func() {
			for i := g; i < replies; i += senders {
				ext := fmt.Sprintf("r-%03d", i)
				if _, err := f.st.Intake(f.ctx, []normalize.Message{outbound(deskA, conv, "", ext, ext)}, f.assess); err != nil {
					t.Errorf("Intake(%s) = %v", ext, err)
					return
				}
			}
		})
	}
	var handedOut []int64
	deadline := time.Now().Add(60 * time.Second)
	for len(handedOut) < replies && time.Now().Before(deadline) && !t.Failed() {
		for _, lane := range f.claim(owner1, 1) {
			require.Equal(t, normalize.Outbound, lane.Direction)
			for _, p := range lane.Pending {
				handedOut = append(handedOut, p.Seq)
			}
			f.deliverAll(lane, owner1, chanA, "")
		}
	}
	wg.Wait()
	require.Len(t, handedOut, replies, "every reply handed out")
	for i := 1; i < len(handedOut); i++ {
		require.Greater(t, handedOut[i], handedOut[i-1], "claim %d handed out a message enqueued before one already handed out", i)
	}
}

// storeCompleteLargeBatch: one Complete records every message of a lane's batch, more than a
// store may write in one statement, each with its own target ID (none for some, as for a
// note a channel never sends); each target ID is then known as the gateway's own post.
func storeCompleteLargeBatch(t *testing.T, f *storeFixture) {
	f.withTicket("p1")
	const n = 150
	msgs := make([]normalize.Message, n)
	for i := range msgs {
		msgs[i] = inbound(chanA, "p1", fmt.Sprintf("big-%d", i), "text")
	}
	acc := f.intake(msgs...)
	lane := f.claimOne(owner1, n)
	require.Len(t, lane.Pending, n)
	o := store.Outcome{Conversation: lane.Conversation.ID, Direction: lane.Direction, Owner: owner1, Token: lane.Token, Target: deskA}
	for i, p := range lane.Pending {
		d := store.Delivered{Seq: p.Seq, ID: p.Message.ID}
		if i%7 != 3 {
			d.TargetID = normalize.ExternalID(fmt.Sprintf("comment-%d", i))
		}
		o.Delivered = append(o.Delivered, d)
	}
	f.complete(o)
	f.requireNothingDue(owner2)
	require.True(t, f.nextDue().IsZero(), "a lane with nothing left is idle")
	stored := f.messages(acc[0].Conversation)[1:] // after the opening message
	require.Len(t, stored, n)
	for i, m := range stored {
		require.Equal(t, normalize.StateSent, m.Message.State, "message %d", i)
		require.Equal(t, o.Delivered[i].TargetID, m.TargetID, "message %d keeps its own target ID", i)
	}
	for _, i := range []int{0, 64, n - 1} {
		echo := f.intake(outbound(deskA, "", "T-p1", fmt.Sprintf("comment-%d", i), "our own post, reported back"))[0]
		require.True(t, echo.Duplicate, "comment-%d is an echo", i)
		require.Equal(t, o.Delivered[i].ID, echo.ID)
	}
}

// storeClaimOldestDueFirst: a claim with less room than there are due lanes takes those that
// came due first, and hands them out in that order, whatever order the lanes were created in.
func storeClaimOldestDueFirst(t *testing.T, f *storeFixture) {
	convs := map[normalize.Address]normalize.ConversationID{}
	for _, a := range []normalize.Address{"p1", "p2", "p3", "p4"} {
		convs[a] = f.withTicket(a)
	}
	// Due in an order unlike the lanes' creation, a millisecond apart.
	for i, a := range []normalize.Address{"p3", "p1", "p4", "p2"} {
		f.intake(inbound(chanA, a, fmt.Sprintf("due-%d", i), "later"))
		f.clk.Advance(time.Millisecond)
	}
	claimed := func(room int) []normalize.ConversationID {
		lanes, err := f.st.Claim(f.ctx, owner1, store.Budget{Inbound: room}, 10, time.Minute)
		require.NoError(t, err, "Claim()")
		var ids []normalize.ConversationID
		for _, l := range lanes {
			ids = append(ids, l.Conversation.ID)
		}
		return ids
	}
	require.Equal(t, []normalize.ConversationID{convs["p3"], convs["p1"], convs["p4"]}, claimed(3),
		"a claim must take the lanes that came due first, oldest first")
	require.Equal(t, []normalize.ConversationID{convs["p2"]}, claimed(3), "the lane left must be claimed next")
}
