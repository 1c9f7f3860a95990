package hdkit

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/test/conformance"
)

// TestRun: while Run runs the slot holds the sink (for the webhook) and once polls; after
// ctx ends Run returns nil and the slot is empty. Interval 0 never polls.
func TestRun(t *testing.T) {
	for _, tt := range []struct {
		name     string
		interval time.Duration
		polls    bool
	}{
		{"polling", 10 * time.Millisecond, true},
		{"webhook only", 0, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var slot connectors.SinkSlot
			var polls atomic.Int32
			sink := &conformance.RecordingSink{}
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() {
				done <- Run(ctx, sink, &slot, "hd", tt.interval, "hd-poll", slog.New(slog.DiscardHandler), "test",
					func(context.Context, connectors.Sink) error { polls.Add(1); return nil })
			}()
			require.Eventually(t, func() bool { _, _, ok := slot.Held(); return ok }, 5*time.Second, time.Millisecond)
			if tt.polls {
				require.Eventually(t, func() bool { return polls.Load() >= 2 }, 5*time.Second, time.Millisecond)
			}
			cancel()
			require.NoError(t, <-done)
			_, _, held := slot.Held()
			require.False(t, held, "the slot is released when Run returns")
			if !tt.polls {
				require.Zero(t, polls.Load())
			}
		})
	}
}
