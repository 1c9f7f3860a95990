package router_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router"
)

// A bounce reported by the channel after the reply was sent fails the reply and tells the
// helpdesk with a note, which is delivered at once like any player message.
func TestDeliveryFailedNotesTheHelpdesk(t *testing.T) {
	f := newFixture(t, router.Options{})
	var sink connectors.Sink = f.r
	failures, ok := sink.(connectors.FailureSink)
	require.True(t, ok, "the router offers channels the FailureSink extension")

	conv, replyID := replySent(t, f, "your documents are approved")

	require.ErrorIs(t, failures.DeliveryFailed(f.ctx, "other", replyID, "550 5.1.1"), connectors.ErrNotFound,
		"only the channel that sent the reply can fail it")
	require.NoError(t, failures.DeliveryFailed(f.ctx, "chat", replyID, "550 5.1.1 mailbox unavailable"))
	require.NoError(t, failures.DeliveryFailed(f.ctx, "chat", replyID, "550 5.1.1 mailbox unavailable"), "a repeated bounce")

	require.Eventually(t, func() bool {
		f.hd.mu.Lock()
		defer f.hd.mu.Unlock()
		return len(f.hd.tickets[conv.ID]) == 2
	}, 5*time.Second, 5*time.Millisecond, "the note reaches the helpdesk once")
	ms, err := f.st.Thread(f.ctx, conv.ID, 10)
	require.NoError(t, err)
	for _, m := range ms {
		if m.ID == replyID {
			require.Equal(t, normalize.StateFailed, m.State)
			require.Equal(t, "550 5.1.1 mailbox unavailable", m.FailReason)
		}
	}
}
