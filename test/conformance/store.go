package conformance

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router"
	"github.com/casino-support/gateway/router/clock"
	"github.com/casino-support/gateway/router/store"
)

// Store is what the suite needs of a store: what the router uses, plus the admin reads and
// Replay that operators rely on, and the thread reads and receipts that pages (the web chat,
// the inbox) rely on.
type Store interface {
	router.Store
	Replay(ctx context.Context, conv normalize.ConversationID) (int, error)
	DeadLetters(ctx context.Context, afterSeq int64, limit int) ([]store.StoredMessage, error)
	Messages(ctx context.Context, conv normalize.ConversationID, afterSeq int64, limit int) ([]store.StoredMessage, error)
	Conversation(ctx context.Context, id normalize.ConversationID) (normalize.Conversation, error)

	// ConversationAt returns the conversation of a channel address, or an error wrapping
	// connectors.ErrNotFound.
	ConversationAt(ctx context.Context, channel normalize.InstanceName, address normalize.Address) (normalize.Conversation, error)
	// Thread returns the last limit messages of a conversation, both directions, oldest
	// first, with their current State (and FailReason when failed).
	Thread(ctx context.Context, conv normalize.ConversationID, limit int) ([]normalize.Message, error)
	// MarkState records a receipt (delivered, read) of a sent message, never backwards.
	MarkState(ctx context.Context, id normalize.MessageID, state normalize.DeliveryState) error
	// ConversationOfExternal returns the conversation of the first of ids a channel knows a
	// message by (received under it, or gave it when sending), or an error wrapping
	// connectors.ErrNotFound. MarkFailed (router.Store) fails a sent reply after the fact.
	ConversationOfExternal(ctx context.Context, instance normalize.InstanceName, ids []normalize.ExternalID) (normalize.Conversation, error)
	connectors.Cursors
	connectors.Records
	// ExpireRecords deletes records whose expiry passed. See store.Store.
	ExpireRecords(ctx context.Context, limit int) (int, error)

	// PurgeConversations deletes closed conversations quiet for olderThan, with everything of
	// them; ExpireAttachments drops old messages' references to attachment content;
	// ReferencedBlobs tells which content a remaining message references. See store.Store.
	PurgeConversations(ctx context.Context, olderThan time.Duration, limit int) (store.Purged, error)
	ExpireAttachments(ctx context.Context, olderThan time.Duration, limit int) (store.Purged, error)
	ReferencedBlobs(ctx context.Context, refs []string) (map[string]bool, error)
	// DueForgets returns what purged conversations' helpdesks have yet to forget, due by now,
	// earliest first; DropForgets deletes records, DelayForgets makes them due later. See
	// store.Store.
	DueForgets(ctx context.Context, limit int) ([]store.Forget, error)
	DropForgets(ctx context.Context, recs []store.Forget) error
	DelayForgets(ctx context.Context, recs []store.Forget, until time.Time) error

	// TakeSingleton, RenewSingleton and ReleaseSingleton keep the fenced leases that let one
	// replica at a time run a singleton connector. See store.Store.
	TakeSingleton(ctx context.Context, key, owner string, lease time.Duration) (store.SingletonLease, error)
	RenewSingleton(ctx context.Context, key string, token int64, lease time.Duration) error
	ReleaseSingleton(ctx context.Context, key string, token int64) error
}

// RunStore checks the promises the router relies on from every Store. open must return an
// empty store (Claim sees every lane, so subtests cannot share one) and close it on cleanup,
// with ReopenDesk configured to reopen closed tickets (store.Options.ReopenClosed).
// The store must take every time it records or compares from now, as the router and the store
// share one clock: the suite moves it to let leases lapse and retry and SLA times come due.
func RunStore(t *testing.T, open func(t *testing.T, now func() time.Time) Store) {
	tests := []struct {
		name string
		run  func(t *testing.T, f *storeFixture)
	}{
		{"IntakeDedups", storeIntakeDedups},
		{"ConversationPerChannelAddress", storeConversations},
		{"OutboundFindsConversation", storeOutboundRouting},
		{"OutboundUnknownIsPermanent", storeOutboundUnknown},
		{"InvalidMessageIsPermanent", storeInvalid},
		{"ConcurrentIntakeOneConversation", storeConcurrentIntake},
		{"ConcurrentDuplicates", storeConcurrentDuplicates},
		{"CancelledIntakeTellsTheTruth", storeCancelledIntake},
		{"LeaseExcludesUntilLapse", storeLease},
		{"LapsedWorkerCannotOverwriteOrDeadLetter", storeFencedLease},
		{"RenewKeepsTheLease", storeRenew},
		{"ClaimWhileEnqueuingKeepsOrder", storeClaimWhileEnqueuing},
		{"ClaimOldestDueFirst", storeClaimOldestDueFirst},
		{"CompleteMarksAndIdles", storeComplete},
		{"CompleteRecordsALargeBatch", storeCompleteLargeBatch},
		{"IntakeKeepsABatchInOrder", storeIntakeBatchOrder},
		{"IntakeOverConversations", storeIntakeOverConversations},
		{"IntakeOpensConversationsTogether", storeIntakeOpensTogether},
		{"IntakeHandsOverClaimableLanes", storeIntakeHandoff},
		{"IntakeHandoffWithinBudget", storeIntakeHandoffBudget},
		{"CompleteNextGoesOnWithTheLease", storeCompleteNext},
		{"CompleteClaimTakesTheLaneDueLongest", storeCompleteClaim},
		{"RetryAtDefersLane", storeRetryAt},
		{"DeadLetterThenReplay", storeDeadLetter},
		{"ReplayedAfterQueued", storeReplayOrder},
		{"EchoIsDuplicate", storeEcho},
		{"ReplyToInChannelTerms", storeReplyTo},
		{"StatusChangeFromHelpdesk", storeStatusChange},
		{"ClosedTicketFollowUp", storeClosedTicketFollowUp},
		{"AttemptCountsClaims", storeAttempts},
		{"OpeningMessageGoesAlone", storeOpeningAlone},
		{"ConversationAtChannelAddress", storeConversationAt},
		{"ThreadBothDirectionsOldestFirst", storeThread},
		{"MarkStateOnlyForward", storeMarkState},
		{"ConversationOfExternalIDs", storeConversationOfExternal},
		{"MarkFailedAfterSending", storeMarkFailed},
		{"SetStatus", storeSetStatus},
		{"MetadataUpdates", storeMetadataUpdates},
		{"SLAClock", storeSLAClock},
		{"SLAClockVIP", storeSLAClockVIP},
		{"Assignee", storeAssignee},
		{"RoutedAssignee", storeRoutedAssignee},
		{"Cursors", storeCursors},
		{"RecordsPutGetDelete", storeRecords},
		{"RecordsListByPrefixInPages", storeRecordsList},
		{"RecordsExpire", storeRecordsExpire},
		{"RecordsConcurrentPutsLoseNothing", storeRecordsConcurrent},
		{"RetentionPurgesClosedConversations", storeRetentionPurgesClosed},
		{"RetentionInBatches", storeRetentionInBatches},
		{"RetentionAttachmentReferences", storeRetentionAttachments},
		{"RetentionRecordsWhatHelpdesksForget", storeRetentionForgets},
		{"SingletonOneHolderAtATime", storeSingletonTake},
		{"SingletonRenewAndLapse", storeSingletonLapse},
		{"SingletonRelease", storeSingletonRelease},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Whole milliseconds, as a store may keep no finer times; any start does.
			clk := clock.NewFake(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
			tc.run(t, &storeFixture{t: t, st: open(t, clk.Now), ctx: testContext(t), clk: clk})
		})
	}
}

// Names the suite's conversations are routed with.
const (
	chanA  normalize.InstanceName = "chan-a"
	chanB  normalize.InstanceName = "chan-b"
	deskA  normalize.InstanceName = "desk-a"
	owner1                        = "worker-1"
	owner2                        = "worker-2"
)

// withTicket opens address's conversation on chanA and records its ticket, so that later
// inbound messages are handed out in batches: a ticketless conversation's opening message goes
// out alone, and tests of batching need a ticket first. The opening message comes first in
// Messages.
func (f *storeFixture) withTicket(address normalize.Address) normalize.ConversationID {
	f.t.Helper()
	acc := f.intake(inbound(chanA, address, unique("open"), "opening message"))[0]
	lane := f.claimOne(owner1, 10)
	require.Equal(f.t, []normalize.MessageID{acc.ID}, pendingIDs(lane))
	f.deliverAll(lane, owner1, deskA, normalize.Ref("T-"+string(address)))
	return acc.Conversation
}

// storeFixture holds one subtest's store, its clock and what its Assess callback saw.
type storeFixture struct {
	t   *testing.T
	st  Store
	ctx context.Context
	// clk is the store's clock; it moves only when a test advances it.
	clk *clock.Fake

	mu       sync.Mutex
	assessed []normalize.Message // messages the callback was called with
	// policy, when set, replaces the callback's fixed answer.
	policy func(m normalize.Message) store.Assessment
}

// assess is the Assess callback: it routes to deskA with high priority so the suite can see
// that the callback's decision is what the store recorded.
func (f *storeFixture) assess(m normalize.Message) store.Assessment {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.assessed = append(f.assessed, m)
	if f.policy != nil {
		return f.policy(m)
	}
	return store.Assessment{Helpdesk: deskA, Priority: normalize.PriorityHigh, Tags: []string{"conformance"}}
}

func (f *storeFixture) assessedCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.assessed)
}

func inbound(channel normalize.InstanceName, address normalize.Address, ext, text string) normalize.Message {
	return normalize.Message{
		Direction:   normalize.Inbound,
		Source:      channel,
		ExternalID:  normalize.ExternalID(ext),
		Channel:     channel,
		ChannelKind: normalize.KindLoopback,
		Address:     address,
		Author:      normalize.Author{Role: normalize.RolePlayer, DisplayName: "Ann", Language: "de"},
		Kind:        normalize.KindText,
		Text:        text,
		SentAt:      time.Now().UTC(),
	}
}

func outbound(helpdesk normalize.InstanceName, conv normalize.ConversationID, ticket normalize.Ref, ext, text string) normalize.Message {
	return normalize.Message{
		Direction:    normalize.Outbound,
		Source:       helpdesk,
		ExternalID:   normalize.ExternalID(ext),
		Conversation: conv,
		Ticket:       ticket,
		Author:       normalize.Author{Role: normalize.RoleAgent, DisplayName: "Bob"},
		Kind:         normalize.KindText,
		Text:         text,
		SentAt:       time.Now().UTC(),
	}
}

// intake stores msgs and requires success and one Accepted per message.
func (f *storeFixture) intake(msgs ...normalize.Message) []store.Accepted {
	f.t.Helper()
	acc, err := f.st.Intake(f.ctx, msgs, f.assess)
	require.NoError(f.t, err, "Intake()")
	require.Len(f.t, acc, len(msgs), "Intake() must report on every message")
	return acc
}

// claim claims with a long lease, as a router with healthy workers does.
func (f *storeFixture) claim(owner string, batch int) []store.Lane {
	f.t.Helper()
	return f.claimLease(owner, batch, time.Minute)
}

func (f *storeFixture) claimLease(owner string, batch int, lease time.Duration) []store.Lane {
	f.t.Helper()
	lanes, err := f.st.Claim(f.ctx, owner, store.Budget{Inbound: 100, Outbound: 100}, batch, lease)
	require.NoError(f.t, err, "Claim()")
	return lanes
}

// claimOne requires exactly one due lane and returns it.
func (f *storeFixture) claimOne(owner string, batch int) store.Lane {
	f.t.Helper()
	lanes := f.claim(owner, batch)
	require.Len(f.t, lanes, 1, "Claim() lanes")
	return lanes[0]
}

func (f *storeFixture) requireNothingDue(owner string) {
	f.t.Helper()
	require.Empty(f.t, f.claim(owner, 10), "Claim() must find nothing due")
}

func (f *storeFixture) complete(o store.Outcome) {
	f.t.Helper()
	require.NoError(f.t, f.st.Complete(f.ctx, o), "Complete()")
}

// deliverAll completes lane with every pending message delivered, with target IDs "<prefix>-<seq>".
func (f *storeFixture) deliverAll(lane store.Lane, owner string, target normalize.InstanceName, ticket normalize.Ref) store.Outcome {
	f.t.Helper()
	o := store.Outcome{Conversation: lane.Conversation.ID, Direction: lane.Direction, Owner: owner, Token: lane.Token, Target: target, Ticket: ticket}
	for _, p := range lane.Pending {
		o.Delivered = append(o.Delivered, store.Delivered{Seq: p.Seq, ID: p.Message.ID,
			TargetID: normalize.ExternalID(unique(string(target)))})
	}
	f.complete(o)
	return o
}

func (f *storeFixture) fail(lane store.Lane, owner string, fl store.Failure) {
	f.t.Helper()
	f.complete(store.Outcome{Conversation: lane.Conversation.ID, Direction: lane.Direction, Owner: owner, Token: lane.Token,
		Target: deskA, Failure: &fl})
}

func (f *storeFixture) messages(conv normalize.ConversationID) []store.StoredMessage {
	f.t.Helper()
	ms, err := f.st.Messages(f.ctx, conv, 0, 1000)
	require.NoError(f.t, err, "Messages()")
	return ms
}

func (f *storeFixture) deadLetters() []store.StoredMessage {
	f.t.Helper()
	ms, err := f.st.DeadLetters(f.ctx, 0, 1000)
	require.NoError(f.t, err, "DeadLetters()")
	return ms
}

func (f *storeFixture) stats() store.Stats {
	f.t.Helper()
	st, err := f.st.Stats(f.ctx)
	require.NoError(f.t, err, "Stats()")
	return st
}

func (f *storeFixture) nextDue() time.Time {
	f.t.Helper()
	next, err := f.st.NextDue(f.ctx)
	require.NoError(f.t, err, "NextDue()")
	return next
}

func pendingIDs(l store.Lane) []normalize.MessageID {
	out := make([]normalize.MessageID, len(l.Pending))
	for i, p := range l.Pending {
		out[i] = p.Message.ID
	}
	return out
}

func acceptedIDs(acc []store.Accepted) []normalize.MessageID {
	out := make([]normalize.MessageID, len(acc))
	for i, a := range acc {
		out[i] = a.ID
	}
	return out
}
