package health

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/casino-support/gateway/normalize"
)

// Backoff bounds the waits between restarts of a failed Run.
type Backoff struct {
	// Min is the first wait; each failure in a row doubles it up to Max.
	Min, Max time.Duration
}

// DefaultBackoff restarts a failed Run after 1 s, then 2 s, 4 s … up to a minute: quick for a
// blip, and gentle on a remote that refuses the gateway for longer.
var DefaultBackoff = Backoff{Min: time.Second, Max: time.Minute}

// errEarly stands for a Run that returned nil before its context ended, which the contract
// does not allow: the connector would stop receiving without anyone knowing.
var errEarly = errors.New("Run returned before the gateway stopped")

// Supervise runs run (a connector's Run) until ctx ends. When run fails (returns an error, or
// returns at all before ctx ends), name is reported not ready with the error and run starts
// again after a back-off. The failure is cleared once the restarted run has kept running for
// as long as it waited, or when the connector reports itself healthy (ReportHealth with no
// problem), so a Run that fails again at once does not flap between ready and not. A panic in
// run is not caught: it is a bug that must not be hidden behind restarts.
func (b *Board) Supervise(ctx context.Context, name normalize.InstanceName, bo Backoff, run func(context.Context) error) {
	wait, failed := bo.Min, false
	for {
		done := make(chan error, 1)
		go func() { done <- run(ctx) }()
		var err error
		if failed {
			// The last failure stands until this run has lasted as long as the wait before it.
			t := time.NewTimer(wait)
			select {
			case err = <-done:
				t.Stop()
			case <-t.C:
				b.Report(name, SourceRun, nil)
				wait, failed = bo.Min, false
				err = <-done
			}
		} else {
			err = <-done
		}
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			err = errEarly
		}
		if failed {
			wait = min(2*wait, bo.Max)
		}
		failed = true
		b.Report(name, SourceRun, fmt.Errorf("%w (restarting in %s)", err, wait))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}
