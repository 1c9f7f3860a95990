package conformance

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/store"
)

// storeIntakeOverConversations: one Intake call (a getUpdates answer) spans several
// conversations, some more than once. A store may read them together, but each message must
// see what the call's earlier messages did to its conversation: a change the first message
// made is not announced again by the second, a closed conversation reopens once, and a
// conversation the call opened is found by its next message.
func storeIntakeOverConversations(t *testing.T, f *storeFixture) {
	f.policy = metadataPolicy(0)
	open := f.withTicket("bo-open")
	closed := f.withTicket("bo-closed")
	f.intake(statusChange(closed, normalize.StatusClosed))
	for _, l := range f.claim(owner1, 10) {
		f.deliverAll(l, owner1, chanA, "") // the status change, sent to nobody
	}

	en := inbound(chanA, "bo-open", unique("bo"), "hello")
	en.Author.Language = "en"
	enAgain := inbound(chanA, "bo-open", unique("bo"), "still English")
	enAgain.Author.Language = "en"
	vip := inbound(chanA, "bo-open", unique("bo"), "I am a VIP")
	vip.Author.PlayerID, vip.Author.VIPTier, vip.Author.Language = "P-bo", 2, "en"
	msgs := []normalize.Message{
		en,
		inbound(chanA, "bo-new", unique("bo"), "first words"),
		inbound(chanA, "bo-closed", unique("bo"), "me again"),
		enAgain,
		inbound(chanA, "bo-new", unique("bo"), "second words"),
		inbound(chanA, "bo-closed", unique("bo"), "me again, twice"),
		vip,
	}
	acc := f.intake(msgs...)
	require.Len(t, acc, len(msgs))
	for i, a := range acc {
		require.False(t, a.Duplicate, "message %d", i)
	}
	require.Equal(t, open, acc[0].Conversation)
	require.Equal(t, open, acc[3].Conversation)
	require.Equal(t, open, acc[6].Conversation)
	require.Equal(t, closed, acc[2].Conversation)
	require.Equal(t, closed, acc[5].Conversation)
	require.True(t, acc[1].Opened, "the first message of a new chat opens its conversation")
	require.False(t, acc[4].Opened, "the next finds the one the call opened")
	require.Equal(t, acc[1].Conversation, acc[4].Conversation)

	c := f.conversation(closed)
	require.Equal(t, normalize.StatusOpen, c.Status, "the closed conversation is reopened")
	require.Empty(t, c.Ticket)
	require.Equal(t, normalize.Ref("T-bo-closed"), c.FollowUpOf, "moved once: the second message must not move it again")

	c = f.conversation(open)
	require.Equal(t, "en", c.Language)
	require.Equal(t, "P-bo", c.Player.PlayerID)
	require.Equal(t, 2, c.Player.VIPTier)
	require.Equal(t, normalize.PriorityHigh, c.Priority)

	lanes := map[normalize.ConversationID]store.Lane{}
	for _, l := range f.claim(owner1, 20) {
		lanes[l.Conversation.ID] = l
	}
	var got []string
	for _, p := range lanes[open].Pending {
		if u := p.Message.Update; u != nil {
			for _, ch := range u.Changed {
				got = append(got, "update:"+string(ch))
			}
			continue
		}
		got = append(got, p.Message.Text)
	}
	require.Equal(t, []string{"update:language", "hello", "still English",
		"update:player_id", "update:vip_tier", "update:priority", "I am a VIP"}, got,
		"each change announced once, just before the message that made it")
}

// storeIntakeOpensTogether: conversations opened by one intake call, as a getUpdates answer
// opens them in a burst's first second, are each what opening them one call at a time makes:
// routing, priority, tags, player, response clock and near-breach time, a bot's hold, the
// complex flag, the player's link. Each message is assessed once and only a conversation's
// first message opens it.
func storeIntakeOpensTogether(t *testing.T, f *storeFixture) {
	f.policy = func(m normalize.Message) store.Assessment {
		a := store.Assessment{Helpdesk: deskA, Priority: normalize.PriorityNormal, FirstResponse: 5 * time.Minute}
		switch m.Address {
		case "held":
			a.Hold = "faq"
		case "complex":
			a.Complex, a.Tags = true, []string{"chargeback"}
		case "warn":
			a.Clock = func(since time.Time, _ bool, _ int) (time.Time, time.Time) {
				return since.Add(time.Minute), since.Add(5 * time.Minute)
			}
		case "vip":
			a.Priority, a.Tags = normalize.PriorityHigh, []string{"vip"}
		}
		return a
	}
	addresses := []normalize.Address{"held", "complex", "warn", "vip", "plain"}
	message := func(channel normalize.InstanceName, address normalize.Address, text string) normalize.Message {
		m := inbound(channel, address, unique("ot"), text)
		if address == "vip" {
			m.Author.PlayerID, m.Author.PlayerIDBy, m.Author.VIPTier = "P-ot", "crm", 3
		}
		return m
	}
	for _, address := range addresses {
		acc := f.intake(message(chanA, address, "alone"))
		require.True(t, acc[0].Opened, "%s: opened alone", address)
	}
	var together []normalize.Message
	for _, address := range addresses {
		together = append(together, message(chanB, address, "together"))
	}
	together = append(together, message(chanB, "plain", "again"))
	before := f.assessedCount()
	acc := f.intake(together...)
	require.Equal(t, len(together), f.assessedCount()-before, "each message is assessed once")
	for i, a := range acc[:len(addresses)] {
		require.True(t, a.Opened, "%s: the first message opens its conversation", addresses[i])
	}
	require.False(t, acc[len(addresses)].Opened, "the second message finds the conversation the call opened")
	require.Equal(t, acc[len(addresses)-1].Conversation, acc[len(addresses)].Conversation)

	comparable := func(c normalize.Conversation) normalize.Conversation {
		c.ID, c.Channel, c.Linked = "", "", nil
		return c
	}
	for _, address := range addresses {
		alone, err := f.st.ConversationAt(f.ctx, chanA, address)
		require.NoError(t, err)
		opened, err := f.st.ConversationAt(f.ctx, chanB, address)
		require.NoError(t, err)
		require.Equal(t, comparable(alone), comparable(opened), "%s: opened together as alone", address)
	}

	claimed := map[normalize.InstanceName][]normalize.Address{}
	for _, l := range f.claim(owner1, 10) {
		claimed[l.Conversation.Channel] = append(claimed[l.Conversation.Channel], l.Conversation.Address)
		if l.Conversation.Address == "vip" && l.Conversation.Channel == chanB {
			require.Len(t, l.Conversation.Linked, 1, "the player's link is recorded: the other VIP conversation is linked")
		}
	}
	slices.Sort(claimed[chanA])
	slices.Sort(claimed[chanB])
	require.Equal(t, []normalize.Address{"complex", "plain", "vip", "warn"}, claimed[chanA], "the bot holds its conversation's lane")
	require.Equal(t, claimed[chanA], claimed[chanB])

	escalated, err := f.st.MarkComplexEscalations(f.ctx, f.clk.Now().Add(time.Second), store.ComplexMark{}, 10)
	require.NoError(t, err)
	var flagged []normalize.InstanceName
	for _, c := range escalated {
		require.Equal(t, normalize.Address("complex"), c.Address, "only the complex conversation is flagged")
		flagged = append(flagged, c.Channel)
	}
	require.ElementsMatch(t, []normalize.InstanceName{chanA, chanB}, flagged)

	// An agent's message ahead of them in the call makes the store read conversations again:
	// the ones the call opened are still reported opened, each once.
	conv := f.withTicket("ticketed")
	acc = f.intake(outbound(deskA, conv, "T-ticketed", unique("ot"), "an answer"),
		message(chanB, "late", "one"), message(chanB, "later", "two"), message(chanB, "late", "three"))
	require.Equal(t, []bool{false, true, true, false}, []bool{acc[0].Opened, acc[1].Opened, acc[2].Opened, acc[3].Opened})
}
