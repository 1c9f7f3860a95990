package conformance

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/store"
)

// day is the unit retention is configured in.
const day = 24 * time.Hour

// settle delivers every due lane to its real target (the helpdesk for inbound lanes, the
// channel for outbound ones), so every message is delivered and its target's ID recorded
// under the instance that gave it; it returns the outcomes.
func settle(f *storeFixture) []store.Outcome {
	f.t.Helper()
	var out []store.Outcome
	for _, l := range f.claim(owner1, 100) {
		target := l.Conversation.Helpdesk
		if l.Direction == normalize.Outbound {
			target = l.Conversation.Channel
		}
		out = append(out, f.deliverAll(l, owner1, target, normalize.Ref("T-"+string(l.Conversation.Address))))
	}
	return out
}

// statusChange is the helpdesk setting conv's status, as an agent closing the ticket does.
func statusChange(conv normalize.ConversationID, status normalize.Status) normalize.Message {
	m := outbound(deskA, conv, "", unique("status"), "status set to "+string(status))
	m.Kind, m.Status = normalize.KindSystem, status
	return m
}

func (f *storeFixture) purge(olderThan time.Duration, limit int) store.Purged {
	f.t.Helper()
	p, err := f.st.PurgeConversations(f.ctx, olderThan, limit)
	require.NoError(f.t, err, "PurgeConversations()")
	return p
}

func (f *storeFixture) expire(olderThan time.Duration, limit int) store.Purged {
	f.t.Helper()
	p, err := f.st.ExpireAttachments(f.ctx, olderThan, limit)
	require.NoError(f.t, err, "ExpireAttachments()")
	return p
}

func (f *storeFixture) referenced(refs ...string) []string {
	f.t.Helper()
	got, err := f.st.ReferencedBlobs(f.ctx, refs)
	require.NoError(f.t, err, "ReferencedBlobs()")
	var out []string
	for _, r := range refs {
		if got[r] {
			out = append(out, r)
		}
	}
	return out
}

func (f *storeFixture) requireGone(conv normalize.ConversationID, address normalize.Address) {
	f.t.Helper()
	_, err := f.st.Conversation(f.ctx, conv)
	require.ErrorIs(f.t, err, connectors.ErrNotFound, "Conversation() of a purged conversation")
	_, err = f.st.ConversationAt(f.ctx, chanA, address)
	require.ErrorIs(f.t, err, connectors.ErrNotFound, "ConversationAt() of a purged conversation")
	require.Empty(f.t, f.messages(conv), "Messages() of a purged conversation")
	require.Empty(f.t, f.thread(conv, 10), "Thread() of a purged conversation")
}

func (f *storeFixture) requireKept(conv normalize.ConversationID, why string) {
	f.t.Helper()
	_, err := f.st.Conversation(f.ctx, conv)
	require.NoError(f.t, err, "%s: must be kept", why)
	require.NotEmpty(f.t, f.messages(conv), "%s: its messages must be kept", why)
}

// storeRetentionPurgesClosed: a closed conversation in which nothing happened for the
// retention period goes with its messages and the IDs remotes know them by (the source's and
// the target's), so nothing of it is found again; one that is open, closed lately, had a
// message lately, or holds anything undelivered (queued or a dead letter) is kept.
func storeRetentionPurgesClosed(t *testing.T, f *storeFixture) {
	const keep = 90 * day
	type conv struct {
		id      normalize.ConversationID
		address normalize.Address
		opening normalize.Message
	}
	open := func(address normalize.Address) conv {
		m := inbound(chanA, address, unique("open"), "hello")
		return conv{id: f.intake(m)[0].Conversation, address: address, opening: m}
	}

	closed, stillOpen, queued, dead, noted := open("closed"), open("open"), open("queued"), open("dead"), open("noted")
	// Each gets its ticket and an agent's answer, delivered; all but one are closed.
	outcomes := settle(f)
	for _, c := range []conv{closed, stillOpen, queued, dead, noted} {
		f.intake(outbound(deskA, c.id, "", unique("reply"), "how can we help?"))
	}
	for _, c := range []conv{closed, queued, dead, noted} {
		f.intake(statusChange(c.id, normalize.StatusClosed))
	}
	outcomes = append(outcomes, settle(f)...)
	// In closed conversations, a reply that waits out a long back-off, and one that becomes a
	// dead letter.
	f.intake(outbound(deskA, queued.id, "", unique("late"), "one more thing"))
	f.intake(outbound(deskA, dead.id, "", unique("late"), "one more thing"))
	for _, l := range f.claim(owner1, 10) {
		fl := store.Failure{Seq: l.Pending[0].Seq, Err: "channel down", RetryAt: f.clk.Now().Add(200 * day), CountsAsFailure: true}
		if l.Conversation.ID == dead.id {
			fl = store.Failure{Seq: l.Pending[0].Seq, Err: "blocked by the player", Dead: true, CountsAsFailure: true}
		}
		f.fail(l, owner1, fl)
	}
	f.clk.Advance(keep + day)
	// A note on a conversation closed long ago is activity: the conversation is not quiet.
	note := outbound(deskA, noted.id, "", unique("note"), "checked again")
	note.Kind = normalize.KindNote
	f.intake(note)
	settle(f)
	recent := open("recent")
	settle(f)
	f.intake(statusChange(recent.id, normalize.StatusClosed))
	settle(f)

	require.Equal(t, store.Purged{}, f.purge(0, 100), "a retention of 0 keeps everything")
	got := f.purge(keep, 100)
	require.Equal(t, store.Purged{Conversations: 1, Messages: 3}, got, "the opening message, the reply and the closing")
	f.requireGone(closed.id, closed.address)
	f.requireKept(stillOpen.id, "an open conversation")
	f.requireKept(queued.id, "a conversation with a queued message")
	f.requireKept(dead.id, "a conversation with a dead letter")
	f.requireKept(noted.id, "a conversation with a recent note")
	f.requireKept(recent.id, "a conversation closed lately")
	require.Equal(t, store.Purged{}, f.purge(keep, 100), "nothing more is due")

	// The IDs remotes knew its messages by are forgotten: the source's message is new again,
	// and the helpdesk's ID of it is no echo of anything any more.
	again := f.intake(closed.opening)[0]
	require.False(t, again.Duplicate, "a purged message's source ID must be forgotten")
	require.True(t, again.Opened, "the player starts a new conversation")
	require.NotEqual(t, closed.id, again.Conversation)
	echoes := 0
	for _, o := range outcomes {
		if o.Conversation != closed.id {
			continue
		}
		for _, d := range o.Delivered {
			if o.Direction == normalize.Inbound {
				echo := outbound(deskA, "", "T-"+normalize.Ref(closed.address), string(d.TargetID), "our own post, reported back")
				_, err := f.st.Intake(f.ctx, []normalize.Message{echo}, f.assess)
				require.ErrorIs(t, err, connectors.ErrNotFound, "the helpdesk's ID of a purged message must be forgotten, and its ticket with it")
			} else {
				echo := inbound(chanA, closed.address, string(d.TargetID), "our own reply, reported back")
				require.False(t, f.intake(echo)[0].Duplicate, "the channel's ID of a purged message must be forgotten")
			}
			echoes++
		}
	}
	require.Equal(t, 3, echoes, "every message of the purged conversation was delivered")

	// Delivered at last, replayed and delivered, and quiet for the period, the rest goes too,
	// except the conversations still open.
	f.clk.Advance(200 * day)
	settle(f)
	n, err := f.st.Replay(f.ctx, dead.id)
	require.NoError(t, err, "Replay()")
	require.Equal(t, 1, n)
	settle(f)
	got = f.purge(keep, 100)
	require.Equal(t, 4, got.Conversations, "queued, dead, noted and recent")
	for _, c := range []conv{queued, dead, noted, recent} {
		f.requireGone(c.id, c.address)
	}
	f.requireKept(stillOpen.id, "an open conversation")
	f.requireKept(again.Conversation, "an open conversation")
}

// storeRetentionInBatches: each call deletes at most limit conversations, oldest first, so
// retention runs in short transactions beside intake, and repeated calls finish the work.
func storeRetentionInBatches(t *testing.T, f *storeFixture) {
	var ids []normalize.ConversationID
	for _, address := range []normalize.Address{"p1", "p2", "p3", "p4", "p5"} {
		ids = append(ids, f.intake(inbound(chanA, address, unique("m"), "hi"))[0].Conversation)
		settle(f)
		f.intake(statusChange(ids[len(ids)-1], normalize.StatusClosed))
		settle(f)
		f.clk.Advance(time.Hour) // p1 went quiet first
	}
	f.clk.Advance(30 * day)
	for i, want := range []int{2, 2, 1, 0} {
		require.Equal(t, want, f.purge(30*day, 2).Conversations, "call %d", i)
		for j, id := range ids {
			_, err := f.st.Conversation(f.ctx, id)
			if j < min(2*(i+1), len(ids)) {
				require.ErrorIs(t, err, connectors.ErrNotFound, "call %d: conversation %d is among the oldest", i, j)
			} else {
				require.NoError(t, err, "call %d: conversation %d is not due in this batch", i, j)
			}
		}
	}
}

// storeRetentionAttachments: the store tells which attachment content a remaining message
// references. Content is stored once however many messages carry it, so deleting one
// message's reference leaves the content referenced while another message carries it.
// Expiring attachments drops the references of delivered messages older than the period and
// keeps the messages; undelivered messages keep theirs.
func storeRetentionAttachments(t *testing.T, f *storeFixture) {
	const keep = 90 * day
	const (
		shared      = "sha256:shared"
		onlyOld     = "sha256:only-old"
		onlyOpen    = "sha256:only-open"
		undelivered = "sha256:undelivered"
		never       = "sha256:never"
	)
	withFiles := func(address normalize.Address, refs ...string) normalize.Message {
		m := inbound(chanA, address, unique("file"), "")
		m.Kind = normalize.KindDocument
		for _, r := range refs {
			m.Attachments = append(m.Attachments, normalize.Attachment{Name: "passport.pdf", MediaType: "application/pdf", Size: 10, BlobRef: r})
		}
		return m
	}
	// A file that stays queued: its lane waits out a long back-off.
	waiting := f.intake(withFiles("waiting", undelivered))[0]
	lane := f.claimOne(owner1, 10)
	f.fail(lane, owner1, store.Failure{Seq: lane.Pending[0].Seq, Err: "helpdesk down", RetryAt: f.clk.Now().Add(365 * day), CountsAsFailure: true})
	// The same file twice in one message is one reference.
	old := f.intake(withFiles("old", shared, onlyOld, onlyOld))[0].Conversation
	settle(f)
	f.intake(statusChange(old, normalize.StatusClosed))
	oldOpen := f.intake(withFiles("open", onlyOpen))[0]
	settle(f)
	require.Equal(t, []string{shared, onlyOld, onlyOpen, undelivered}, f.referenced(shared, onlyOld, onlyOpen, undelivered, never))

	// The player sends the shared file again, in another conversation.
	f.clk.Advance(50 * day)
	f.intake(withFiles("open", shared))
	settle(f)
	f.clk.Advance(keep - 50*day + day)

	got := f.purge(keep, 100)
	require.Equal(t, store.Purged{Conversations: 1, Messages: 2, Attachments: 2}, got, "the file message and the closing")
	require.Equal(t, []string{shared, onlyOpen, undelivered}, f.referenced(shared, onlyOld, onlyOpen, undelivered),
		"only the purged conversation's own file is unreferenced")

	require.Equal(t, store.Purged{}, f.expire(0, 100), "a retention of 0 keeps every attachment")
	require.Equal(t, store.Purged{Attachments: 1}, f.expire(keep, 100), "the open conversation's old file; not the queued one")
	require.Equal(t, []string{shared, undelivered}, f.referenced(shared, onlyOpen, undelivered),
		"the newer message still carries the shared file")
	msgs := f.messages(oldOpen.Conversation)
	require.Equal(t, oldOpen.ID, msgs[0].Message.ID, "an expired attachment's message stays")
	require.Len(t, msgs[0].Message.Attachments, 1, "and says what was attached")
	require.Equal(t, store.Purged{}, f.expire(keep, 100), "nothing more is due")

	// Delivered at last, the queued file expires like the others, and the shared one once
	// the newer message is old enough.
	f.clk.Advance(365 * day)
	settle(f)
	require.Equal(t, normalize.StateSent, f.messages(waiting.Conversation)[0].Message.State)
	require.Equal(t, store.Purged{Attachments: 2}, f.expire(keep, 100))
	require.Empty(t, f.referenced(shared, onlyOpen, undelivered))
}

// forgets returns up to limit of the records due, as DueForgets returns them, in UTC.
func (f *storeFixture) forgets(limit int) []store.Forget {
	f.t.Helper()
	recs, err := f.st.DueForgets(f.ctx, limit)
	require.NoError(f.t, err, "DueForgets()")
	for i := range recs {
		recs[i].Due = recs[i].Due.UTC()
	}
	return recs
}

// storeRetentionForgets: the transaction that purges a conversation records that its
// helpdesk must forget it too (the inbox keeps the player's name and last line), due at
// once, so that a crash between the purge and the helpdesk's forgetting loses nothing. The
// records are handed out earliest due first, in batches; one the helpdesk failed to forget
// is due again later, and one it forgot is dropped. Dropping or delaying a record that is
// gone (another replica finished it) is no error.
func storeRetentionForgets(t *testing.T, f *storeFixture) {
	const keep = 90 * day
	const deskB normalize.InstanceName = "desk-b"
	f.policy = func(m normalize.Message) store.Assessment {
		if strings.HasPrefix(string(m.Address), "b-") {
			return store.Assessment{Helpdesk: deskB, Priority: normalize.PriorityNormal}
		}
		return store.Assessment{Helpdesk: deskA, Priority: normalize.PriorityNormal}
	}
	var ids []normalize.ConversationID
	for _, address := range []normalize.Address{"a-1", "a-2", "b-1", "a-open"} {
		ids = append(ids, f.intake(inbound(chanA, address, unique("m"), "my card ends in 4242"))[0].Conversation)
	}
	settle(f)
	a1, a2, b1, open := ids[0], ids[1], ids[2], ids[3]
	for _, id := range []normalize.ConversationID{a1, a2, b1} {
		closing := statusChange(id, normalize.StatusClosed)
		if id == b1 {
			closing.Source = deskB // a conversation's status is its own helpdesk's to set
		}
		f.intake(closing)
		settle(f)
		f.clk.Advance(time.Minute) // a-1 went quiet first
	}
	f.clk.Advance(keep)
	require.Empty(t, f.forgets(10), "nothing is owed before a purge")

	firstPurge := f.clk.Now()
	require.Equal(t, 2, f.purge(keep, 2).Conversations)
	require.ElementsMatch(t, []store.Forget{
		{Helpdesk: deskA, Conversation: a1, Due: firstPurge},
		{Helpdesk: deskA, Conversation: a2, Due: firstPurge},
	}, f.forgets(10), "one record per purged conversation, naming its helpdesk, due at once")
	f.clk.Advance(time.Minute)
	secondPurge := f.clk.Now()
	require.Equal(t, 1, f.purge(keep, 2).Conversations)
	require.Zero(t, f.purge(keep, 2).Conversations)
	due := f.forgets(10)
	require.Len(t, due, 3, "the open conversation is kept, and owes nothing")
	require.ElementsMatch(t, []normalize.ConversationID{a1, a2}, []normalize.ConversationID{due[0].Conversation, due[1].Conversation},
		"earliest due first")
	require.Equal(t, store.Forget{Helpdesk: deskB, Conversation: b1, Due: secondPurge}, due[2])
	require.Len(t, f.forgets(2), 2, "at most limit records")
	require.NotContains(t, []normalize.ConversationID{due[0].Conversation, due[1].Conversation, due[2].Conversation}, open)

	// desk-a failed to forget: its records wait for the next pass; desk-b's stay due.
	retry := f.clk.Now().Add(time.Hour)
	require.NoError(t, f.st.DelayForgets(f.ctx, due[:2], retry), "DelayForgets()")
	require.Equal(t, []store.Forget{due[2]}, f.forgets(10), "a delayed record is not due before its time")
	f.clk.Advance(time.Hour)
	again := f.forgets(10)
	require.Len(t, again, 3)
	require.Equal(t, due[2], again[0], "the record due earlier comes first")
	for _, r := range again[1:] {
		require.Equal(t, deskA, r.Helpdesk)
		require.Equal(t, retry, r.Due, "due when the delay said")
	}

	// desk-a forgot: its records go, and only those.
	require.NoError(t, f.st.DropForgets(f.ctx, again[1:]), "DropForgets()")
	require.Equal(t, []store.Forget{due[2]}, f.forgets(10))
	require.NoError(t, f.st.DropForgets(f.ctx, again[1:]), "DropForgets() of records dropped already")
	require.NoError(t, f.st.DelayForgets(f.ctx, again[1:], retry), "DelayForgets() of records dropped already")
	require.NoError(t, f.st.DropForgets(f.ctx, []store.Forget{{Helpdesk: deskA, Conversation: open}}), "DropForgets() of a record never made")
	require.NoError(t, f.st.DropForgets(f.ctx, nil), "DropForgets() of nothing")
	require.Equal(t, []store.Forget{due[2]}, f.forgets(10), "nothing dropped or delayed comes back")
	require.NoError(t, f.st.DropForgets(f.ctx, due[2:]))
	require.Empty(t, f.forgets(10))
	_, err := f.st.Conversation(f.ctx, open)
	require.NoError(t, err, "the open conversation is kept")
}
