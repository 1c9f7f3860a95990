package conformance

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
)

// storeCancelledIntake: callers give up (a webhook's client disconnects) while their writes
// share a transaction with others. Whatever Intake answered must be true: nil means stored,
// an error means not stored, for the cancelled caller and for everyone else.
func storeCancelledIntake(t *testing.T, f *storeFixture) {
	const senders, each = 16, 40
	type result struct {
		ext     string
		err     error
		patient bool // its context never ended
	}
	results := make(chan result, senders*each)
	var wg sync.WaitGroup
	for g := range senders {
		wg.Go(func() {
			for i := range each {
				ext := fmt.Sprintf("g%02d-%03d", g, i)
				patient := i%3 == 0 // shares batches with the impatient ones
				ctx, cancel := context.WithCancel(f.ctx)
				if !patient {
					cancel()
					ctx, cancel = context.WithTimeout(f.ctx, time.Duration(rand.N(20000))*time.Microsecond)
				}
				_, err := f.st.Intake(ctx, []normalize.Message{inbound(chanA, normalize.Address(fmt.Sprintf("p%d", g%4)), ext, ext)}, f.assess)
				cancel()
				results <- result{ext, err, patient}
			}
		})
	}
	wg.Wait()
	close(results)

	stored := map[normalize.ExternalID]bool{}
	for _, a := range []normalize.Address{"p0", "p1", "p2", "p3"} {
		acc, err := f.st.Intake(f.ctx, []normalize.Message{inbound(chanA, a, "probe-"+string(a), "")}, f.assess)
		require.NoError(t, err)
		for _, m := range f.messages(acc[0].Conversation) {
			stored[m.Message.ExternalID] = true
		}
	}
	var ok, failed int
	var collateral []string
	for r := range results {
		if r.err == nil {
			ok++
			require.True(t, stored[normalize.ExternalID(r.ext)], "Intake(%s) returned nil but the message is not stored", r.ext)
			continue
		}
		failed++
		require.False(t, stored[normalize.ExternalID(r.ext)], "Intake(%s) returned %v but the message is stored", r.ext, r.err)
		if r.patient {
			collateral = append(collateral, fmt.Sprintf("%s: %v", r.ext, r.err))
		}
	}
	t.Logf("%d stored, %d refused", ok, failed)
	require.Empty(t, collateral, "callers whose context never ended must not fail because another caller gave up")
}
