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
// When the store refuses the batch for good, one of them can never be accepted, and holding
// back the others forever would lose them too: the messages then go one at a time, and each
// one refused alone is handed to refused (to log it, or count it against a budget), which
// lets the rest go on by returning nil, or stops them by returning an error.
//
// It returns how many messages, from the first, are settled (stored, or refused for good and
// passed over) and the error that stopped it, nil when all are settled. The caller
// acknowledges its source for the settled ones only, never past the error.
func DeliverBatch(ctx context.Context, sink Sink, msgs []normalize.Message, refused func(normalize.Message, error) error) (settled int, err error) {
	if len(msgs) == 0 {
		return 0, nil
	}
	err = sink.Deliver(ctx, msgs...)
	switch {
	case err == nil:
		return len(msgs), nil
	case !IsPermanent(err):
		return 0, err
	case len(msgs) == 1:
		if err := refused(msgs[0], err); err != nil {
			return 0, err
		}
		return 1, nil
	}
	for i, m := range msgs {
		err := sink.Deliver(ctx, m)
		if err == nil {
			continue
		}
		if !IsPermanent(err) {
			return i, err
		}
		if err := refused(m, err); err != nil {
			return i, err
		}
	}
	return len(msgs), nil
}
