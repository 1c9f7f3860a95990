package connectors

import (
	"context"
	"time"

	"github.com/casino-support/gateway/normalize"
)

// Sleep waits d or until ctx ends, and reports whether d passed.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// DeliverBatch hands msgs to sink in one call, so the store commits them in one transaction.
// When the batch fails, the cause may be one message's own (one the store refuses for good,
// or one whose ticket it does not know yet), and holding back the others behind it would
// lose them too: the messages then go one at a time, and each failure of one alone is handed
// to failed with the message's index, which passes the message over (logged, or counted
// against a budget) by returning nil, or stops the delivery before it by returning an error.
// A caller that passes over only refusals for good (IsPermanent) returns err for any other.
// Once ctx has ended, nothing more is tried after the batch.
//
// It returns how many messages, from the first, are settled (stored, or passed over) and the
// error that stopped it, nil when all are settled. The caller acknowledges its source for the
// settled ones only, never past the error.
func DeliverBatch(ctx context.Context, sink Sink, msgs []normalize.Message, failed func(i int, err error) error) (settled int, err error) {
	if len(msgs) == 0 {
		return 0, nil
	}
	err = sink.Deliver(ctx, msgs...)
	switch {
	case err == nil:
		return len(msgs), nil
	case len(msgs) == 1:
		if err := failed(0, err); err != nil {
			return 0, err
		}
		return 1, nil
	case ctx.Err() != nil:
		return 0, err
	}
	for i, m := range msgs {
		if err := sink.Deliver(ctx, m); err != nil {
			if err := failed(i, err); err != nil {
				return i, err
			}
		}
	}
	return len(msgs), nil
}
