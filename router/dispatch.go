package router

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/store"
)

// How a worker came by its lane, the label of gateway_lanes_taken_total.
const (
	takenByClaim    = "claim"    // the claim loop found it due
	takenByIntake   = "intake"   // intake leased it as it stored the lane's messages
	takenByContinue = "continue" // the worker's own record of its last batch handed out the next
	takenByNext     = "next"     // lanes waited: the worker's record of its last batch took the one due longest
)

// nextStep is what a worker does once its batch is delivered, asked as it records the batch.
type nextStep int

const (
	// stepStop releases the lane (Run stopped).
	stepStop nextStep = iota
	// stepGoOn goes on with the lane's next batch, if any (store.CompleteNext).
	stepGoOn
	// stepTakeDue releases the lane and takes the lane due longest, its own included
	// (store.CompleteClaim): lanes wait for a worker, and are served in the order they came due.
	stepTakeDue
)

// dispatcher runs one worker per lane, within each direction's budget. Lanes reach it four
// ways: the claim loop, intake handing over the lanes it makes claimable (Deliver), a worker's
// completion handing out the lane's next batch, and, while lanes wait for a worker, a worker's
// completion taking the lane due longest. At a steady rate intake and completions carry nearly
// every message, and in a burst the workers' completions do; the claim loop picks up what
// they could not: retries, lanes of other replicas' intake, lanes due while workers were free
// (issue 16).
type dispatcher struct {
	r *Router
	// ctx is the deliveries': it outlives Run's context until the drain ends.
	ctx context.Context
	// running is set while Run claims; only then do lanes get workers. It changes under mu.
	running atomic.Bool
	// starved is set while due lanes may be waiting for a worker: a claim took all it had
	// room for, or intake had more messages than free workers. A worker then lets its lane go
	// after each batch instead of going on with it, so the lanes are served in the order they
	// came due, as the claim takes them: going on would keep a worker on one busy
	// conversation while others wait (issue 16: a burst's p99 on PostgreSQL doubled).
	starved atomic.Bool

	// claiming is held for writing by the claim loop from the moment it sets its workers
	// aside until its lanes are handed out, and the store's transaction in between is not
	// run under mu: intake's hand-overs and finishing workers once waited for it, and
	// a burst's intake spent a quarter of its time there (issue 16). A worker whose record
	// the store refused for a lost lease waits for it (lease.settled) before it looks for a
	// new token: the claim that took its lane over may not have handed that token yet.
	claiming sync.RWMutex

	mu sync.Mutex
	// busy holds the lanes a worker is on, with the lease it presents.
	busy map[laneKey]*lease
	// again holds the latest claim of a lane whose worker was still running; that worker
	// tells, once it recorded its outcome, whether the claim is stale or still to deliver.
	again map[laneKey]store.Lane
	// reserved counts the workers Deliver calls and the claim loop set aside for the lanes
	// their transaction may hand over, so that no one else promises them too.
	reserved store.Budget
	wg       sync.WaitGroup
	// done hears of workers that finished, for a claim loop waiting for a free worker.
	done chan struct{}
}

func newDispatcher(r *Router, ctx context.Context) *dispatcher {
	d := &dispatcher{r: r, ctx: ctx, busy: map[laneKey]*lease{}, again: map[laneKey]store.Lane{}, done: make(chan struct{}, 1)}
	d.running.Store(true)
	return d
}

// free returns how many more lanes of each direction the workers can take. The caller holds mu.
func (d *dispatcher) free() store.Budget {
	free := store.Budget{Inbound: d.r.opts.Workers - d.reserved.Inbound, Outbound: d.r.opts.OutboundWorkers - d.reserved.Outbound}
	for k := range d.busy {
		if k.dir == normalize.Inbound {
			free.Inbound--
		} else {
			free.Outbound--
		}
	}
	return free
}

// reserve sets every free worker aside for a claim and returns how many of each direction;
// claimed must follow. Between the two the claim loop holds claiming.
func (d *dispatcher) reserve() store.Budget {
	d.claiming.Lock()
	d.mu.Lock()
	defer d.mu.Unlock()
	free := d.free()
	free.Inbound, free.Outbound = max(free.Inbound, 0), max(free.Outbound, 0)
	d.reserved.Inbound += free.Inbound
	d.reserved.Outbound += free.Outbound
	return free
}

// claimed gives the lanes a claim took to workers and returns the claim's reservation.
func (d *dispatcher) claimed(reserved store.Budget, lanes []store.Lane) {
	d.mu.Lock()
	d.reserved.Inbound -= reserved.Inbound
	d.reserved.Outbound -= reserved.Outbound
	d.start(lanes, takenByClaim)
	d.mu.Unlock()
	d.claiming.Unlock()
}

// handoffMost is the most messages an intake call hands its lanes over for. A bigger call is a
// burst's (a getUpdates answer of up to 100 updates), whose caller holds its next batch back
// until the call is stored: the hand-over made that transaction longer (on PostgreSQL a round
// trip for the leases and one for the hand-out), and the workers it set aside sat idle until
// the commit. The claim loop, poked for the lanes left, takes them instead, a claim serving
// several lanes; at a steady rate calls hold a message or two and are handed over as before.
// PostgreSQL bursts carried 8 % more messages per second (issue 16); SQLite's did not change.
const handoffMost = 16

// handoff sets workers aside for the lanes storing msgs may make claimable, at most one per
// message of each direction, and returns what intake may lease to this router: nothing for a
// call of more than handoffMost messages.
func (d *dispatcher) handoff(msgs []normalize.Message) store.Handoff {
	var want store.Budget
	for _, m := range msgs {
		if m.Direction == normalize.Inbound {
			want.Inbound++
		} else {
			want.Outbound++
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.running.Load() {
		return store.Handoff{}
	}
	free := d.free()
	got := store.Budget{Inbound: max(min(want.Inbound, free.Inbound), 0), Outbound: max(min(want.Outbound, free.Outbound), 0)}
	if got != want {
		d.starved.Store(true)
	}
	if len(msgs) > handoffMost {
		return store.Handoff{}
	}
	d.reserved.Inbound += got.Inbound
	d.reserved.Outbound += got.Outbound
	return store.Handoff{Owner: d.r.owner, Max: got, Batch: d.r.opts.BatchSize, Lease: d.r.opts.Lease}
}

// handed gives the lanes intake leased under h to workers and returns h's reservation. Once
// Run stopped claiming they get none: their leases are let go, so the lanes are due again.
func (d *dispatcher) handed(h store.Handoff, lanes []store.Lane) {
	d.mu.Lock()
	d.reserved.Inbound -= h.Max.Inbound
	d.reserved.Outbound -= h.Max.Outbound
	running := d.running.Load()
	if running {
		d.start(lanes, takenByIntake)
	}
	d.mu.Unlock()
	if !running {
		for _, l := range lanes {
			d.r.letGo(l)
		}
	}
}

// start gives each lane a worker, or, when one is on it already, the new claim to that
// worker. The caller holds mu.
func (d *dispatcher) start(lanes []store.Lane, how string) {
	for _, lane := range lanes {
		d.r.m.lanesTaken.WithLabelValues(how).Inc()
		k := laneKey{lane.Conversation.ID, lane.Direction}
		if !d.passOn(k, lane) {
			d.spawn(k, lane)
		}
	}
}

// passOn gives lane, claimed again, to this router's worker still on it, if any: either its
// own lease lapsed during a slow delivery, or it recorded its outcome just before this claim
// and has not returned yet. The worker is this router's, so the new lease is its to present.
// The caller holds mu.
func (d *dispatcher) passOn(k laneKey, lane store.Lane) bool {
	held, ok := d.busy[k]
	if ok {
		held.token = lane.Token
		d.again[k] = lane
	}
	return ok
}

// newLease is a worker's hold on a lane claimed with token.
func (d *dispatcher) newLease(token int64) *lease {
	return &lease{mu: &d.mu, claims: &d.claiming, token: token}
}

// spawn starts a worker on lane. The caller holds mu.
func (d *dispatcher) spawn(k laneKey, lane store.Lane) {
	held := d.newLease(lane.Token)
	d.busy[k] = held
	d.wg.Add(1)
	go d.work(k, lane, held)
}

// work delivers lane, then whatever its completion or a later claim hands out of it, or the
// lane its completion took instead, until its completion has nothing more for this worker.
func (d *dispatcher) work(k laneKey, lane store.Lane, held *lease) {
	defer d.wg.Done()
	for {
		// Asked when the batch is recorded, not before it is delivered: a lane that came due
		// meanwhile is served before this one's next batch.
		step := stepStop
		o, next, more := d.r.deliverLane(d.ctx, lane, held, func() nextStep {
			switch {
			case !d.running.Load():
				step = stepStop
			case d.starved.Load():
				step = stepTakeDue
			default:
				step = stepGoOn
			}
			return step
		})
		if step == stepStop || (step == stepTakeDue && (!more || o.Failure != nil)) {
			// What is left of the lane waits for a claim, or for its retry at a time the claim
			// loop has not seen.
			d.r.poke()
		}
		d.mu.Lock()
		if more && (next.Conversation.ID != k.conv || next.Direction != k.dir) {
			// The record released this lane and took another (stepTakeDue).
			if held = d.moveTo(k, o, next); held == nil {
				running := d.running.Load()
				d.mu.Unlock()
				if !running {
					d.r.letGo(next)
				}
				break
			}
			d.mu.Unlock()
			d.r.m.lanesTaken.WithLabelValues(takenByNext).Inc()
			k, lane = laneKey{next.Conversation.ID, next.Direction}, next
			continue
		}
		if more {
			// A claim made during the delivery handed out what o delivered or what next holds:
			// next was read after o was recorded, under the lease next carries (a new one when
			// stepTakeDue took this lane again).
			held.token = next.Token
			delete(d.again, k)
			if d.running.Load() {
				d.mu.Unlock()
				d.r.m.lanesTaken.WithLabelValues(takenByContinue).Inc()
				lane = next
				continue
			}
			delete(d.busy, k)
			d.mu.Unlock()
			d.r.letGo(next)
			break
		}
		again, ok := d.again[k]
		delete(d.again, k)
		if !ok || claimedBefore(again, o) {
			delete(d.busy, k)
			d.mu.Unlock()
			if o.Failure != nil {
				// The lane is due again at a time the claim loop has not seen.
				d.r.poke()
			}
			break
		}
		d.mu.Unlock()
		lane = again
	}
	select {
	case d.done <- struct{}{}:
	default:
	}
}

// moveTo moves the worker on k, whose record of o released k and took next, to next, and
// returns the lease it holds next by; nil when it ends instead (Run stopped: the caller lets
// next go once it released mu). The caller holds mu.
func (d *dispatcher) moveTo(k laneKey, o store.Outcome, next store.Lane) *lease {
	again, claimed := d.again[k]
	delete(d.again, k)
	delete(d.busy, k)
	if claimed && !claimedBefore(again, o) {
		// A claim took k after the record released it, while this worker was still on it: k
		// needs a worker of its own now.
		d.spawn(k, again)
	}
	nk := laneKey{next.Conversation.ID, next.Direction}
	if !d.running.Load() || d.passOn(nk, next) {
		return nil
	}
	held := d.newLease(next.Token)
	d.busy[nk] = held
	return held
}

// stop ends the hand-outs: from now on no lane gets a worker, and workers finish the batch
// they have.
func (d *dispatcher) stop() {
	d.mu.Lock()
	d.running.Store(false)
	d.mu.Unlock()
}

// letGo releases a lane leased to this router that no worker will deliver (Run stopped): it
// is due again at once, for this process after a restart or another replica.
func (r *Router) letGo(l store.Lane) {
	o := store.Outcome{Conversation: l.Conversation.ID, Direction: l.Direction, Owner: r.owner, Token: l.Token}
	if err := r.store.Complete(context.Background(), o); err != nil {
		r.log.Warn("release a lane at shutdown; it is claimed again once its lease lapses", "conv", l.Conversation.ID, "err", err)
	}
}
