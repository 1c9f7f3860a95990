package router_test

import (
	"sync"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router"
)

// At a steady rate no message waits for a claim: intake hands its lane to a worker, and a
// worker finishing a batch takes the messages that came meanwhile in its record of the batch
// (issue 16). The claim loop never finds a lane, and every message arrives once, in order.
func TestLanesGoFromIntakeAndCompletionToWorkersWithoutAClaim(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, router.Options{})
		gate := make(chan struct{})
		var once sync.Once
		open := func() { once.Do(func() { close(gate) }) }
		defer open()
		synctest.Wait() // Run has started
		f.hd.mu.Lock()
		f.hd.gate = gate
		f.hd.mu.Unlock()
		taken := func(how string) float64 { return counterValue(t, f.reg, "gateway_lanes_taken_total", how) }

		require.NoError(t, f.r.Deliver(f.ctx, inbound("p", 1)))
		synctest.Wait() // the worker waits in Post with the opening message
		require.Equal(t, 1.0, taken("intake"), "intake hands the lane over")
		for i := 2; i <= 4; i++ {
			require.NoError(t, f.r.Deliver(f.ctx, inbound("p", i)))
		}
		open()
		synctest.Wait()

		conv, err := f.st.ConversationAt(f.ctx, "chat", "p")
		require.NoError(t, err)
		stored, err := f.st.Messages(f.ctx, conv.ID, 0, 10)
		require.NoError(t, err)
		var want []normalize.MessageID
		for _, m := range stored {
			want = append(want, m.Message.ID)
		}
		f.hd.mu.Lock()
		posted := f.hd.tickets[conv.ID]
		f.hd.mu.Unlock()
		require.Equal(t, want, posted, "each message once, in order")
		require.Equal(t, 1.0, taken("intake"))
		require.Equal(t, 1.0, taken("continue"), "the messages that came during the first post go on with the same worker, in one batch")
		require.Zero(t, taken("claim"), "no lane had to be claimed")
	})
}
