package conformance

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/store"
)

// ReopenDesk is the helpdesk RunStore's open must configure to reopen closed tickets
// (store.Options.ReopenClosed, closed_ticket: reopen); every other helpdesk follows them up.
const ReopenDesk normalize.InstanceName = "desk-reopen"

// storeClosedTicketFollowUp: a player writing after the helpdesk closed the conversation's
// ticket reopens the conversation, and by default the closed ticket moves to FollowUpOf so
// that the next post opens a new ticket the helpdesk can link to it (issue 18). Late events on
// the closed ticket still find the conversation. A helpdesk configured to reopen keeps the
// ticket; nothing moves without a closed ticket.
func storeClosedTicketFollowUp(t *testing.T, f *storeFixture) {
	conv := f.withTicket("fu")
	f.intake(statusChange(conv, normalize.StatusClosed))
	f.intake(inbound(chanA, "fu", unique("again"), "me again, a new problem"))
	c := f.conversation(conv)
	require.Equal(t, normalize.StatusOpen, c.Status, "the player writing again reopens the conversation")
	require.Empty(t, c.Ticket, "after the helpdesk closed the ticket, the player's next message must open a new one")
	require.Equal(t, normalize.Ref("T-fu"), c.FollowUpOf, "the closed ticket must be kept as the one the new ticket follows up")

	var lane store.Lane
	for _, l := range f.claim(owner1, 10) {
		if l.Direction == normalize.Inbound {
			lane = l
			continue
		}
		f.deliverAll(l, owner1, chanA, "") // the status change, sent to nobody
	}
	require.Len(t, lane.Pending, 1, "without a ticket the opening message goes alone")
	require.Empty(t, lane.Conversation.Ticket)
	require.Equal(t, normalize.Ref("T-fu"), lane.Conversation.FollowUpOf, "the helpdesk must learn which ticket the new one follows up")
	f.deliverAll(lane, owner1, deskA, "T-fu-2")
	c = f.conversation(conv)
	require.Equal(t, normalize.Ref("T-fu-2"), c.Ticket)
	require.Equal(t, normalize.Ref("T-fu"), c.FollowUpOf)

	// Replies on either ticket find the conversation: an agent's last word on the closed one
	// may come after the player wrote again.
	for _, ticket := range []normalize.Ref{"T-fu", "T-fu-2"} {
		acc := f.intake(outbound(deskA, "", ticket, unique("reply"), "answer on "+string(ticket)))
		require.Equal(t, conv, acc[0].Conversation, "a reply on ticket %s", ticket)
	}

	// Pending is no close: the ticket stays.
	f.intake(statusChange(conv, normalize.StatusPending))
	f.intake(inbound(chanA, "fu", unique("again"), "any news?"))
	require.Equal(t, normalize.Ref("T-fu-2"), f.conversation(conv).Ticket, "a pending ticket is no closed one")

	// Closed before any ticket existed: there is nothing to follow up.
	acc := f.intake(inbound(chanA, "fu-none", unique("open"), "hello"))
	f.intake(statusChange(acc[0].Conversation, normalize.StatusClosed))
	f.intake(inbound(chanA, "fu-none", unique("again"), "hello?"))
	c = f.conversation(acc[0].Conversation)
	require.Empty(t, c.FollowUpOf)
	require.Equal(t, normalize.StatusOpen, c.Status)

	// A helpdesk that reopens closed tickets keeps the ticket.
	f.mu.Lock()
	f.policy = func(normalize.Message) store.Assessment { return store.Assessment{Helpdesk: ReopenDesk} }
	f.mu.Unlock()
	open := f.intake(inbound(chanA, "ro", unique("open"), "hi"))[0]
	for _, l := range f.claim(owner1, 10) {
		if l.Conversation.ID == open.Conversation {
			f.deliverAll(l, owner1, ReopenDesk, "T-ro")
		} else {
			f.complete(store.Outcome{Conversation: l.Conversation.ID, Direction: l.Direction, Token: l.Token})
		}
	}
	closed := statusChange(open.Conversation, normalize.StatusClosed)
	closed.Source = ReopenDesk
	f.intake(closed)
	f.intake(inbound(chanA, "ro", unique("again"), "it broke again"))
	c = f.conversation(open.Conversation)
	require.Equal(t, normalize.Ref("T-ro"), c.Ticket, "closed_ticket: reopen keeps the closed ticket, which the next post reopens")
	require.Empty(t, c.FollowUpOf)
}
