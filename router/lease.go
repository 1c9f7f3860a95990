package router

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/store"
)

// lease is a worker's hold on the lane it delivers: the fencing token it presents to the
// store. The claim loop may claim the lane again while the worker still runs (its lease
// lapsed during a slow delivery); the worker is this router's, so the new token passes to it,
// under the dispatcher's mutex, and its record is not refused.
type lease struct {
	mu *sync.Mutex
	// claims is held for writing while a claim is between its transaction and handing its
	// lanes out (dispatcher.claiming).
	claims *sync.RWMutex
	token  int64
}

func (l *lease) current() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.token
}

// settled is current once no claim is in flight. A worker asks it after the store refused
// its token: a claim of this router that took the lane over committed, and hands the new
// token over only once it has given out its lanes.
func (l *lease) settled() int64 {
	l.claims.RLock()
	defer l.claims.RUnlock()
	return l.current()
}

// errLeaseLapsing cuts a delivery short whose lease is about to lapse without a renewal
// getting through: past it, another worker may take the lane.
var errLeaseLapsing = errors.New("router: the lease is about to lapse and cannot be renewed")

// complete records o with the worker's lease and, with batch > 0, takes up to batch of the
// lane's next messages under it (store.CompleteNext), or with takeDue releases the lane and
// takes the lane due longest (store.CompleteClaim). When the store refuses it because the
// lane was claimed again, and that claim was this router's own (handed to held meanwhile), it
// is recorded with the new token; otherwise the refusal is counted and returned.
func (r *Router) complete(ctx context.Context, o store.Outcome, held *lease, batch int, takeDue bool) (next store.Lane, more bool, err error) {
	record := r.store.CompleteNext
	if takeDue {
		record = r.store.CompleteClaim
	}
	o.Token = held.current()
	next, more, err = record(ctx, o, batch, r.opts.Lease)
	if errors.Is(err, store.ErrLeaseLost) {
		if now := held.settled(); now != o.Token {
			o.Token = now
			next, more, err = record(ctx, o, batch, r.opts.Lease)
		}
	}
	if errors.Is(err, store.ErrLeaseLost) {
		r.m.leaseLost.WithLabelValues("complete").Inc()
		r.log.Warn("delivery not recorded: another worker claimed the lane after this one's lease lapsed",
			"conv", o.Conversation, "direction", o.Direction, "err", err)
	}
	return next, more, err
}

// renewWhileDelivering keeps the lease of the lane (conv, dir) while it is delivered: every
// third of the lease it extends it by a whole lease. It gives up the delivery, through
// giveUp, when the lane passed to another worker (cause store.ErrLeaseLost) or when the lease
// is about to lapse with no renewal getting through (errLeaseLapsing). The returned stop ends
// the renewals and returns once they ended.
func (r *Router) renewWhileDelivering(ctx context.Context, conv normalize.ConversationID, dir normalize.Direction, held *lease, giveUp context.CancelCauseFunc) (stop func()) {
	quit, stopped := make(chan struct{}), make(chan struct{})
	every := r.opts.Lease / 3
	go func() {
		defer close(stopped)
		until := r.clock.Now().Add(r.opts.Lease)
		for {
			t := r.clock.NewTimer(every)
			select {
			case <-quit:
				t.Stop()
				return
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C():
			}
			token := held.current()
			err := r.store.Renew(ctx, conv, dir, token, r.opts.Lease)
			switch {
			case err == nil:
				until = r.clock.Now().Add(r.opts.Lease)
			case errors.Is(err, store.ErrLeaseLost) && held.settled() != token:
				// This router claimed the lane again; the next round renews the new lease.
			case errors.Is(err, store.ErrLeaseLost):
				r.m.leaseLost.WithLabelValues("renew").Inc()
				r.log.Warn("giving up a delivery: another worker claimed the lane after this one's lease lapsed",
					"conv", conv, "direction", dir)
				giveUp(err)
				return
			case ctx.Err() != nil:
				return
			default:
				r.log.Warn("renew the lease of a delivery", "conv", conv, "err", err)
				if !r.clock.Now().Add(every).Before(until) {
					giveUp(fmt.Errorf("%w: %w", errLeaseLapsing, err))
					return
				}
			}
		}
	}()
	return func() {
		close(quit)
		<-stopped
	}
}
