package connectors

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
)

// batchSink stores what it is given in one transaction, as the router's store does: a call
// fails as a whole with the error of its first message in fail, and stores nothing then.
type batchSink struct {
	fail   map[normalize.ExternalID]error
	calls  [][]normalize.ExternalID
	stored []normalize.ExternalID
}

func (s *batchSink) Deliver(ctx context.Context, msgs ...normalize.Message) error {
	var ids []normalize.ExternalID
	for _, m := range msgs {
		ids = append(ids, m.ExternalID)
	}
	s.calls = append(s.calls, ids)
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, id := range ids {
		if err := s.fail[id]; err != nil {
			return fmt.Errorf("store %s: %w", id, err)
		}
	}
	s.stored = append(s.stored, ids...)
	return nil
}

func TestDeliverBatch(t *testing.T) {
	refused := Permanent(errors.New("unknown conversation"))
	notYet := fmt.Errorf("ticket being created: %w", ErrNotFound)
	stop := errors.New("stop")
	// The callbacks DeliverBatch's callers give it.
	passOverRefused := func(_ int, err error) error { // telegram: drop refusals, stop at any other
		if IsPermanent(err) {
			return nil
		}
		return err
	}
	stopAll := func(int, error) error { return stop }
	passAll := func(int, error) error { return nil } // e.g. a budget spent

	abc := []normalize.ExternalID{"a", "b", "c"}
	tests := []struct {
		name        string
		ids         []normalize.ExternalID
		fail        map[normalize.ExternalID]error
		failed      func(int, error) error
		endedCtx    bool
		wantSettled int
		wantErr     error
		wantStored  []normalize.ExternalID
		wantCalls   int
		wantFailed  []int // indexes handed to failed
	}{
		{name: "none", failed: stopAll},
		{name: "all stored in one call", ids: abc, failed: stopAll,
			wantSettled: 3, wantStored: abc, wantCalls: 1},
		{name: "a batch refused for good for one bad message goes one at a time", ids: abc,
			fail: map[normalize.ExternalID]error{"b": refused}, failed: passOverRefused,
			wantSettled: 3, wantStored: []normalize.ExternalID{"a", "c"}, wantCalls: 4, wantFailed: []int{1}},
		{name: "a callback that stops at the refused message", ids: abc,
			fail: map[normalize.ExternalID]error{"b": refused}, failed: stopAll,
			wantSettled: 1, wantErr: stop, wantStored: []normalize.ExternalID{"a"}, wantCalls: 3, wantFailed: []int{1}},
		{name: "a transient failure mid-way stops before it", ids: abc,
			fail: map[normalize.ExternalID]error{"b": notYet}, failed: passOverRefused,
			wantSettled: 1, wantErr: ErrNotFound, wantStored: []normalize.ExternalID{"a"}, wantCalls: 3, wantFailed: []int{1}},
		{name: "a transient failure the callback passes over", ids: abc,
			fail: map[normalize.ExternalID]error{"b": notYet}, failed: passAll,
			wantSettled: 3, wantStored: []normalize.ExternalID{"a", "c"}, wantCalls: 4, wantFailed: []int{1}},
		{name: "two refused, both passed over", ids: abc,
			fail: map[normalize.ExternalID]error{"a": refused, "c": refused}, failed: passOverRefused,
			wantSettled: 3, wantStored: []normalize.ExternalID{"b"}, wantCalls: 4, wantFailed: []int{0, 2}},
		{name: "one message refused is not tried again", ids: []normalize.ExternalID{"b"},
			fail: map[normalize.ExternalID]error{"b": refused}, failed: passOverRefused,
			wantSettled: 1, wantCalls: 1, wantFailed: []int{0}},
		{name: "one message failing for now", ids: []normalize.ExternalID{"b"},
			fail: map[normalize.ExternalID]error{"b": notYet}, failed: passOverRefused,
			wantErr: ErrNotFound, wantCalls: 1, wantFailed: []int{0}},
		{name: "nothing more after ctx ended", ids: abc, endedCtx: true, failed: passAll,
			wantErr: context.Canceled, wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if tt.endedCtx {
				cancel()
			}
			sink := &batchSink{fail: tt.fail}
			var msgs []normalize.Message
			for _, id := range tt.ids {
				msgs = append(msgs, normalize.Message{ExternalID: id})
			}
			var failedAt []int
			settled, err := DeliverBatch(ctx, sink, msgs, func(i int, err error) error {
				require.Error(t, err)
				failedAt = append(failedAt, i)
				return tt.failed(i, err)
			})
			if tt.wantErr == nil {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, tt.wantErr)
			}
			require.Equal(t, tt.wantSettled, settled, "settled")
			require.Equal(t, tt.wantStored, sink.stored, "stored")
			require.Len(t, sink.calls, tt.wantCalls, "Deliver calls: %v", sink.calls)
			require.Equal(t, tt.wantFailed, failedAt, "indexes handed to failed")
		})
	}
}
