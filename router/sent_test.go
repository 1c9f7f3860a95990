package router_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router"
	"github.com/casino-support/gateway/router/store"
)

// A channel whose remote reports on replies by the remote's own ID (a WhatsApp status names
// the wamid Send returned) finds the reply through SentSink, then passes the report on.
func TestSentReplyFindsTheReplyByTheChannelsID(t *testing.T) {
	f := newFixture(t, router.Options{})
	var sink connectors.Sink = f.r
	sent, ok := sink.(connectors.SentSink)
	require.True(t, ok, "the router offers channels the SentSink extension")

	conv, replyID := replySent(t, f, "your withdrawal is on its way")

	// memChannel's Send answers "ch-" and the message ID.
	got, err := sent.SentReply(f.ctx, "chat", normalize.ExternalID("ch-"+string(replyID)))
	require.NoError(t, err)
	require.Equal(t, replyID, got)

	for name, c := range map[string]struct {
		channel normalize.InstanceName
		ext     normalize.ExternalID
	}{
		"another channel's ID":              {"other", normalize.ExternalID("ch-" + string(replyID))},
		"an ID the channel never gave":      {"chat", "ch-unknown"},
		"the player's message, not a reply": {"chat", inbound("p", 1).ExternalID},
		"the helpdesk's ID of the reply":    {"chat", "r-1"},
	} {
		_, err := sent.SentReply(f.ctx, c.channel, c.ext)
		require.ErrorIs(t, err, connectors.ErrNotFound, name)
	}

	require.NoError(t, f.r.Receipt(f.ctx, got, normalize.StateRead), "what it finds is what Receipt takes")
	ms, err := f.st.Thread(f.ctx, conv.ID, 10)
	require.NoError(t, err)
	for _, m := range ms {
		if m.ID == replyID {
			require.Equal(t, normalize.StateRead, m.State)
		}
	}
}

// replySent has player p write and an agent answer through f, and returns the conversation
// and the reply once the channel has sent it.
func replySent(t *testing.T, f *fixture, text string) (normalize.Conversation, normalize.MessageID) {
	t.Helper()
	require.NoError(t, f.r.Deliver(f.ctx, inbound("p", 1)))
	var conv normalize.Conversation
	require.Eventually(t, func() bool {
		cs, err := f.st.Conversations(f.ctx, 10, store.ConversationsCursor{})
		if err != nil || len(cs) != 1 || cs[0].Ticket == "" {
			return false
		}
		conv = cs[0]
		return true
	}, 5*time.Second, 5*time.Millisecond)
	reply := normalize.Message{Direction: normalize.Outbound, Source: "desk", ExternalID: "r-1", Ticket: conv.Ticket,
		Author: normalize.Author{Role: normalize.RoleAgent}, Text: text}
	require.NoError(t, f.r.Deliver(f.ctx, reply))
	var replyID normalize.MessageID
	require.Eventually(t, func() bool {
		ms, _ := f.st.Thread(f.ctx, conv.ID, 10)
		for _, m := range ms {
			if m.Direction == normalize.Outbound && m.State == normalize.StateSent {
				replyID = m.ID
				return true
			}
		}
		return false
	}, 5*time.Second, 5*time.Millisecond)
	return conv, replyID
}
