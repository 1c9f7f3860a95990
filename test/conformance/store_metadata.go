package conformance

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/store"
)

// metadataPolicy is a routing policy like the router's: VIP players get high priority and
// the "vip" tag, and every conversation a first-response target.
func metadataPolicy(target time.Duration) func(m normalize.Message) store.Assessment {
	return func(m normalize.Message) store.Assessment {
		a := store.Assessment{Helpdesk: deskA, Priority: normalize.PriorityNormal, FirstResponse: target}
		if m.Author.VIPTier > 0 {
			a.Priority, a.Tags = normalize.PriorityHigh, []string{"vip"}
		}
		return a
	}
}

// storeMetadataUpdates: a message that changes what the helpdesk should know about the
// conversation is preceded in the helpdesk lane by an Update saying what changed; one that
// changes nothing, an anonymous one, or a duplicate, is not.
func storeMetadataUpdates(t *testing.T, f *storeFixture) {
	f.policy = metadataPolicy(0)
	conv := f.withTicket("p1")

	type step struct {
		name    string
		author  normalize.Author
		changed []normalize.Field
	}
	steps := []step{
		{"same language", normalize.Author{Role: normalize.RolePlayer, Language: "de"}, nil},
		{"new language", normalize.Author{Role: normalize.RolePlayer, Language: "en"}, []normalize.Field{normalize.FieldLanguage}},
		{"identified VIP", normalize.Author{Role: normalize.RolePlayer, PlayerID: "P-1", VIPTier: 2},
			[]normalize.Field{normalize.FieldPlayerID, normalize.FieldVIPTier, normalize.FieldPriority}},
		{"anonymous cannot lower the tier", normalize.Author{Role: normalize.RolePlayer}, nil},
		{"identified lower tier", normalize.Author{Role: normalize.RolePlayer, PlayerID: "P-1", VIPTier: 1},
			[]normalize.Field{normalize.FieldVIPTier}}, // the priority is never lowered
	}
	for i, s := range steps {
		m := inbound(chanA, "p1", unique("meta"), s.name)
		m.Author = s.author
		acc := f.intake(m)[0]
		lane := f.claimOne(owner1, 10)
		if s.changed == nil {
			require.Equal(t, []normalize.MessageID{acc.ID}, pendingIDs(lane), "step %d %s: no update", i, s.name)
		} else {
			require.Len(t, lane.Pending, 2, "step %d %s: the update, then the message", i, s.name)
			u := lane.Pending[0].Message
			require.Equal(t, normalize.KindSystem, u.Kind, s.name)
			require.Equal(t, normalize.Inbound, u.Direction, s.name)
			require.Equal(t, normalize.RoleSystem, u.Author.Role, s.name)
			require.NotNil(t, u.Update, s.name)
			require.Equal(t, s.changed, u.Update.Changed, s.name)
			require.NotEmpty(t, u.Text, "%s: the update in words", s.name)
			require.Equal(t, acc.ID, lane.Pending[1].Message.ID, s.name)
		}
		f.deliverAll(lane, owner1, deskA, "")
		// A redelivery of the same message changes nothing and enqueues nothing.
		require.True(t, f.intake(m)[0].Duplicate, s.name)
		f.requireNothingDue(owner1)
	}

	c, err := f.st.Conversation(f.ctx, conv)
	require.NoError(t, err)
	require.Equal(t, "en", c.Language)
	require.Equal(t, "P-1", c.Player.PlayerID)
	require.Equal(t, 1, c.Player.VIPTier, "an identified author is the truth about the tier")
	require.Equal(t, normalize.PriorityHigh, c.Priority, "raised by the VIP tier, never lowered")
	require.Contains(t, c.Tags, "vip")
	require.Equal(t, "Ann", c.Player.DisplayName, "a message without a name keeps the known one")

	u := f.messages(conv)
	var updates int
	for _, m := range u {
		if m.Message.Update != nil {
			updates++
			require.Equal(t, normalize.StateSent, m.Message.State, "updates are delivered like messages")
		}
	}
	require.Equal(t, 3, updates)
}

// storeSLAClock: a player's message starts the first-response clock, an agent's answer or
// closing stops it, a note does not; a clock that ran out is marked once and reported to the
// helpdesk as an Update.
func storeSLAClock(t *testing.T, f *storeFixture) {
	const target = 30 * time.Millisecond
	f.policy = metadataPolicy(target)
	conv := f.withTicket("p1")
	c := f.conversation(conv)
	require.Equal(t, normalize.SLAWaiting, c.SLA.State(), "the opening message starts the clock")
	require.Equal(t, target, c.SLA.DueAt.Sub(c.SLA.AwaitingSince))
	started := c.SLA.AwaitingSince

	f.intake(inbound(chanA, "p1", unique("more"), "anyone?"))
	require.Equal(t, started, f.conversation(conv).SLA.AwaitingSince, "the clock runs from the oldest unanswered message")

	note := outbound(deskA, conv, "", unique("note"), "checking")
	note.Kind = normalize.KindNote
	f.intake(note)
	require.Equal(t, normalize.SLAWaiting, f.conversation(conv).SLA.State(), "a note is no answer")

	f.intake(outbound(deskA, conv, "", unique("reply"), "hello"))
	require.Equal(t, normalize.SLA{}, f.conversation(conv).SLA, "an agent's answer stops the clock")
	require.True(t, f.nextSLADue().IsZero())

	for _, k := range []normalize.MessageKind{normalize.KindEdit, normalize.KindReaction, normalize.KindDeletion} {
		m := inbound(chanA, "p1", unique(string(k)), "")
		m.Kind = k
		f.intake(m)
		require.Equal(t, normalize.SLANone, f.conversation(conv).SLA.State(), "%s of something said is nothing new to answer", k)
	}

	drain(f)
	again := inbound(chanA, "p1", unique("again"), "one more thing")
	again.Author.Language = "fr"
	f.intake(again)
	require.Equal(t, normalize.SLAWaiting, f.conversation(conv).SLA.State())
	lane := f.claimOne(owner1, 10)
	require.NotNil(t, lane.Pending[0].Message.Update, "the language changed")
	require.Equal(t, f.conversation(conv).SLA, lane.Pending[0].Message.Update.SLA, "an update carries the clock as of the change")
	f.deliverAll(lane, owner1, deskA, "")
	require.False(t, f.nextSLADue().IsZero())

	f.clk.Advance(2 * target)
	breached, err := f.st.MarkSLABreaches(f.ctx, 10)
	require.NoError(t, err)
	require.Len(t, breached, 1)
	require.Equal(t, conv, breached[0].ID)
	require.Equal(t, normalize.SLABreached, breached[0].SLA.State())
	second, err := f.st.MarkSLABreaches(f.ctx, 10)
	require.NoError(t, err)
	require.Empty(t, second, "a breach is marked once")
	require.True(t, f.nextSLADue().IsZero(), "a breached clock is not due again")

	lane = f.claimOne(owner1, 10)
	require.Len(t, lane.Pending, 1)
	u := lane.Pending[0].Message
	require.Equal(t, normalize.KindSystem, u.Kind)
	require.NotNil(t, u.Update)
	require.Equal(t, []normalize.Field{normalize.FieldSLA}, u.Update.Changed)
	require.Equal(t, normalize.SLABreached, u.Update.SLA.State())
	require.Equal(t, f.conversation(conv).SLA, u.Update.SLA)
	f.deliverAll(lane, owner1, deskA, "")

	closed := outbound(deskA, conv, "", unique("close"), "")
	closed.Kind, closed.Status = normalize.KindSystem, normalize.StatusClosed
	f.intake(closed)
	require.Equal(t, normalize.SLANone, f.conversation(conv).SLA.State(), "closing stops the clock")

	// Closing again after the player wrote again stops the new clock too.
	f.intake(inbound(chanA, "p1", unique("reopen"), "me again"))
	require.Equal(t, normalize.SLAWaiting, f.conversation(conv).SLA.State())
	closed = outbound(deskA, conv, "", unique("close"), "")
	closed.Kind, closed.Status = normalize.KindSystem, normalize.StatusClosed
	f.intake(closed)
	require.Equal(t, normalize.SLANone, f.conversation(conv).SLA.State(), "closing again stops the clock again")
	f.clk.Advance(2 * target)
	none, err := f.st.MarkSLABreaches(f.ctx, 10)
	require.NoError(t, err)
	require.Empty(t, none, "a closed conversation does not breach")

	// Without a target the clock still shows the wait, but never breaches.
	f.policy = metadataPolicy(0)
	acc := f.intake(inbound(chanA, "p2", unique("open"), "hi"))[0]
	c = f.conversation(acc.Conversation)
	require.Equal(t, normalize.SLAWaiting, c.SLA.State())
	require.True(t, c.SLA.DueAt.IsZero())
}

// storeAssignee: a helpdesk's assignment arrives as an outbound system message; the store
// records the assignee, and an empty one unassigns. Updates and assignments in the wrong
// direction are refused.
func storeAssignee(t *testing.T, f *storeFixture) {
	conv := f.withTicket("p1")
	assign := func(ext string, a normalize.Agent) {
		m := outbound(deskA, "", "T-p1", ext, "")
		m.Kind, m.Assignee = normalize.KindSystem, &a
		f.intake(m)
	}
	assign("assign-1", normalize.Agent{ID: "anna", Name: "Anna"})
	require.Equal(t, &normalize.Agent{ID: "anna", Name: "Anna"}, f.conversation(conv).Assignee)
	assign("assign-2", normalize.Agent{})
	require.Nil(t, f.conversation(conv).Assignee, "an empty agent unassigns")

	for name, bad := range map[string]normalize.Message{
		"assignee on a player message": func() normalize.Message {
			m := inbound(chanA, "p1", "a-3", "")
			m.Kind, m.Assignee = normalize.KindSystem, &normalize.Agent{ID: "x"}
			return m
		}(),
		"assignee on an agent's words": func() normalize.Message {
			m := outbound(deskA, conv, "", "a-4", "hi")
			m.Assignee = &normalize.Agent{ID: "x"}
			return m
		}(),
		"an update from a connector": func() normalize.Message {
			m := inbound(chanA, "p1", "a-5", "")
			m.Kind, m.Update = normalize.KindSystem, &normalize.Update{Changed: []normalize.Field{normalize.FieldLanguage}}
			return m
		}(),
	} {
		_, err := f.st.Intake(f.ctx, []normalize.Message{bad}, f.assess)
		require.ErrorIs(t, err, connectors.ErrPermanent, name)
	}
}

// storeRoutedAssignee: a conversation opens with the assignee the policy names (a rule's
// personal manager); later messages' assessments leave the assignee alone, whether the
// helpdesk changed it or not, and a conversation opened without one stays unassigned.
func storeRoutedAssignee(t *testing.T, f *storeFixture) {
	manager := "mgr-1"
	f.policy = func(normalize.Message) store.Assessment {
		a := store.Assessment{Helpdesk: deskA}
		if manager != "" {
			a.Assignee = &normalize.Agent{ID: manager}
		}
		return a
	}
	conv := f.withTicket("p1")
	require.Equal(t, &normalize.Agent{ID: "mgr-1"}, f.conversation(conv).Assignee, "opens assigned")

	manager = "mgr-2"
	f.intake(inbound(chanA, "p1", "ra-2", "again"))
	require.Equal(t, &normalize.Agent{ID: "mgr-1"}, f.conversation(conv).Assignee, "an open conversation keeps its assignee")

	m := outbound(deskA, "", "T-p1", "ra-3", "")
	m.Kind, m.Assignee = normalize.KindSystem, &normalize.Agent{ID: "anna", Name: "Anna"}
	f.intake(m)
	f.intake(inbound(chanA, "p1", "ra-4", "and again"))
	require.Equal(t, &normalize.Agent{ID: "anna", Name: "Anna"}, f.conversation(conv).Assignee, "the helpdesk's assignment stands")

	manager = ""
	other := f.intake(inbound(chanA, "p2", "ra-5", "hello"))[0].Conversation
	require.Nil(t, f.conversation(other).Assignee, "no assignee named, none recorded")
}

// storeCursors: connectors' cursors are kept per instance and key, and overwritten.
func storeCursors(t *testing.T, f *storeFixture) {
	get := func(inst normalize.InstanceName, key string) string {
		v, err := f.st.Cursor(f.ctx, inst, key)
		require.NoError(t, err)
		return v
	}
	require.Empty(t, get(deskA, "ticket/1"), "an unknown cursor is empty")
	require.NoError(t, f.st.SetCursor(f.ctx, deskA, "ticket/1", "17"))
	require.NoError(t, f.st.SetCursor(f.ctx, deskA, "ticket/2", "4"))
	require.NoError(t, f.st.SetCursor(f.ctx, chanA, "ticket/1", "x"))
	require.NoError(t, f.st.SetCursor(f.ctx, deskA, "ticket/1", "18"))
	require.Equal(t, "18", get(deskA, "ticket/1"))
	require.Equal(t, "4", get(deskA, "ticket/2"))
	require.Equal(t, "x", get(chanA, "ticket/1"), "cursors are scoped to their instance")
}

func (f *storeFixture) conversation(id normalize.ConversationID) normalize.Conversation {
	f.t.Helper()
	c, err := f.st.Conversation(f.ctx, id)
	require.NoError(f.t, err, "Conversation()")
	return c
}

func (f *storeFixture) nextSLADue() time.Time {
	f.t.Helper()
	next, err := f.st.NextSLADue(f.ctx)
	require.NoError(f.t, err, "NextSLADue()")
	return next
}

// drain delivers every due lane, so the next Claim sees only what comes after.
func drain(f *storeFixture) {
	f.t.Helper()
	for _, l := range f.claim(owner1, 100) {
		f.deliverAll(l, owner1, deskA, "")
	}
}

// storeSLAClockVIP: a VIP player's clock runs on the VIP target even when the message that
// starts it does not show the tier (a channel that stamps it only on some messages).
func storeSLAClockVIP(t *testing.T, f *storeFixture) {
	f.policy = func(m normalize.Message) store.Assessment {
		return store.Assessment{Helpdesk: deskA, FirstResponse: time.Hour, VIPFirstResponse: time.Minute}
	}
	first := inbound(chanA, "vip", unique("open"), "hi")
	first.Author.PlayerID, first.Author.VIPTier = "P-9", 2
	conv := f.intake(first)[0].Conversation
	c := f.conversation(conv)
	require.Equal(t, time.Minute, c.SLA.DueAt.Sub(c.SLA.AwaitingSince), "a VIP's message starts the VIP target")

	f.intake(outbound(deskA, conv, "", unique("reply"), "hello"))
	f.intake(inbound(chanA, "vip", unique("anon"), "still me")) // no tier on this one
	c = f.conversation(conv)
	require.Equal(t, time.Minute, c.SLA.DueAt.Sub(c.SLA.AwaitingSince), "the conversation knows the player is a VIP")

	other := f.intake(inbound(chanA, "regular", unique("open"), "hi"))[0].Conversation
	c = f.conversation(other)
	require.Equal(t, time.Hour, c.SLA.DueAt.Sub(c.SLA.AwaitingSince))
}
