package conformance

import (
	"testing"

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
