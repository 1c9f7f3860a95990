package chatwoot

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/test/chatwootfake"
	"github.com/casino-support/gateway/test/conformance"
)

// TestReconcileFindsWhatTheWebhookLost: an agent replies while no replica runs, so Chatwoot's
// webhook finds no hook and (an old release) never retries; the reconciling poll of the next
// start hands the reply over once, leaves the note and the player's own message alone, and
// keeps its position in the store.
func TestReconcileFindsWhatTheWebhookLost(t *testing.T) {
	e := newEnv(t, false)
	cursors := &conformance.MemCursors{}
	e.hd.cursors = cursors
	conv := normalize.Conversation{ID: normalize.NewConversationID(), Channel: "tg", ChannelKind: normalize.KindTelegram, Address: "77"}
	ticket, _, err := e.hd.Post(t.Context(), conv, deliveries(conv, "hello?"))
	require.NoError(t, err)
	id := ticketID(t, ticket)
	agent := chatwootfake.Agent{ID: 7, Name: "Alice"}
	_, _, _ = e.fake.AgentReply(t.Context(), id, agent, "internal: VIP", true) // the hook passes it over: no sink needed
	reply, _, err := e.fake.AgentReply(t.Context(), id, agent, "Sorry for the wait", false)
	require.Error(t, err, "no Run: the hook refuses")

	sink := &conformance.RecordingSink{}
	require.NoError(t, e.hd.pollOnce(t.Context(), sink))
	got := sink.Messages()
	require.Len(t, got, 1, "the reply, not the note nor the player's message: %v", got)
	require.Equal(t, normalize.ExternalID(strconv.Itoa(reply.ID)), got[0].ExternalID, "the webhook's key, so the store drops whichever comes second")
	require.Equal(t, "Sorry for the wait", got[0].Text)

	require.NoError(t, e.hd.pollOnce(t.Context(), sink))
	require.Len(t, sink.Messages(), 1, "a second poll hands nothing over again")
	stored, _ := cursors.Cursor(t.Context(), e.hd.name, cursorKey)
	secs, err := strconv.ParseInt(stored, 10, 64)
	require.NoError(t, err, "the cursor is in the store")
	require.WithinDuration(t, reply.CreatedAt, time.Unix(secs, 0), 2*time.Second)
}

// TestPollFailureKeepsTheCursor: a sink that cannot store keeps the cursor where it was, so
// the next poll reads the same again.
func TestPollFailureKeepsTheCursor(t *testing.T) {
	e := newEnvMode(t, polled)
	cursors := &conformance.MemCursors{}
	e.hd.cursors = cursors
	conv := normalize.Conversation{ID: normalize.NewConversationID(), Channel: "tg", ChannelKind: normalize.KindTelegram, Address: "78"}
	ticket, _, err := e.hd.Post(t.Context(), conv, deliveries(conv, "hello?"))
	require.NoError(t, err)
	_, _, err = e.fake.AgentReply(t.Context(), ticketID(t, ticket), chatwootfake.Agent{ID: 7, Name: "Alice"}, "Here we are", false)
	require.NoError(t, err)

	sink := &conformance.RecordingSink{}
	sink.Fail(context.DeadlineExceeded)
	require.Error(t, e.hd.pollOnce(t.Context(), sink))
	stored, _ := cursors.Cursor(t.Context(), e.hd.name, cursorKey)
	require.Empty(t, stored, "the cursor must not move past what was not stored")
	sink.Fail(nil)
	require.NoError(t, e.hd.pollOnce(t.Context(), sink))
	require.Len(t, sink.Messages(), 1)
}
