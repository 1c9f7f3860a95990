package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// errClosed is returned for writes submitted after Close.
var errClosed = errors.New("store: closed")

// writeOp is one caller's share of a group commit.
type writeOp struct {
	ctx  context.Context
	fn   func(ctx context.Context, tx *wtx) error
	done chan error
	// lazy marks a write that need not survive a power loss unless it says otherwise
	// (wtx.mustSync): see doLazy.
	lazy bool
	// first marks a write that goes before the others waiting: see doFirst.
	first bool
}

// writer gathers concurrent write operations into shared transactions: one commit (and one
// fsync) per batch instead of per message is what lets SQLite take thousands of durable
// messages per second. Each operation runs inside its own savepoint, so one failing operation
// is rolled back alone and reported to its caller only.
type writer struct {
	db  *sql.DB
	d   *dialect
	ops chan *writeOp
	// firstOps are the writes of doFirst, taken before those of ops.
	firstOps chan *writeOp
	maxBatch int
	stopped  chan struct{}
	quit     chan struct{}
	// stmts and unprepared are used by the writer goroutine only (a dialect that prepares
	// has one).
	stmts      map[string]*sql.Stmt
	unprepared map[string]struct{}
	// own is the connection a dialect that does not pipeline (SQLite, one committer) keeps
	// from its first transaction on, and prepares stmts on. Its transactions begin and commit
	// with statements: database/sql's Tx started a goroutine for each transaction and for each
	// query read in it, to watch a context that never ends here, and wrapped each prepared
	// statement anew in each transaction: 8 % of the gateway's CPU at 500 messages/s
	// (issue 16). It holds the pool's one connection, so nothing else may use db after the
	// first write.
	own *sql.Conn
	// syncWAL, when set (syncBy), makes a commit durable: the connection commits without
	// syncing (SQLite's synchronous=NORMAL) and the syncer syncs the write-ahead log after a
	// commit that holds a write which must survive a power loss. Without it every commit is
	// durable by the connection's own settings.
	syncWAL func() error
	// toSync takes each group commit, in commit order, to the syncer, which answers its
	// callers; nil without syncWAL (the committer answers them).
	toSync chan committedOps
	// syncerDone is closed when the syncer has answered every commit it was given.
	syncerDone chan struct{}
	// log takes the syncer's failure.
	log *slog.Logger
	// broken holds the first failed sync's error, which every later commit and Ping report,
	// so that the gateway stops being ready and gets restarted.
	broken atomic.Pointer[error]
	// committed, when set, is called after each commit, on the writer's goroutine: SQLite's
	// checkpointer learns that the log grew.
	committed func()
	// lazyHold is how long a lazy write that finds the writer idle waits for another write to
	// share its commit (company); none when it is not positive.
	lazyHold time.Duration
}

// LazyHold is the Options.LazyHold a gateway runs with. At 500 messages a second an intake
// comes every 2 ms, about 1 ms after the completion of the message before it.
const LazyHold = 2 * time.Millisecond

// newWriter starts the dialect's committers on one queue. SQLite has one: a single
// connection writes. PostgreSQL has several, each running one operation per transaction
// (dialect.opAlone), so that the network round trips of one operation's statements do not
// hold back the next, and the server shares the WAL flushes of those that commit at once.
func newWriter(db *sql.DB, d *dialect, maxBatch int, lazyHold time.Duration) *writer {
	w := &writer{db: db, d: d, ops: make(chan *writeOp, maxBatch), firstOps: make(chan *writeOp, maxBatch), maxBatch: maxBatch,
		stopped: make(chan struct{}), quit: make(chan struct{}),
		stmts: map[string]*sql.Stmt{}, unprepared: map[string]struct{}{}, lazyHold: lazyHold}
	var loops sync.WaitGroup
	for range max(d.writers, 1) {
		loops.Go(w.loop)
	}
	go func() {
		loops.Wait()
		if w.toSync != nil {
			close(w.toSync)
			<-w.syncerDone
		}
		close(w.stopped)
	}()
	return w
}

// committedOps is one group commit's operations waiting for their answers: err when the
// transaction failed as a whole, else each one's result, once the commit is durable (sync).
type committedOps struct {
	batch   []*writeOp
	results []error
	err     error
	sync    bool
}

func (c committedOps) answer(syncErr error) {
	for i, op := range c.batch {
		switch {
		case c.err != nil:
			op.done <- c.err
		case syncErr != nil:
			// Committed, but not known to be durable: the callers hear an error and write
			// again, which the store recognises (dedup keys, lease tokens).
			op.done <- syncErr
		default:
			op.done <- c.results[i]
		}
	}
}

// syncBy makes commits durable with sync, run by a syncer goroutine beside the committer: the
// writer runs the next group commit while the log is synced, and one sync covers every commit
// made while the one before it ran. The writer was busy all of a burst, a seventh of it
// waiting for fdatasync (issue 16). Callers are answered in commit order, a lazy commit's
// too, only once every commit before theirs is durable: what they go on to do (post a message
// a claim handed out) may rest on an earlier commit. Call it before the first write.
func (w *writer) syncBy(sync func() error, log *slog.Logger) {
	w.syncWAL, w.log = sync, log
	w.toSync = make(chan committedOps, w.maxBatch)
	w.syncerDone = make(chan struct{})
	go w.syncer()
}

func (w *writer) syncer() {
	defer close(w.syncerDone)
	var round []committedOps
	for c := range w.toSync {
		round = append(round[:0], c)
	gather:
		for {
			select {
			case c, ok := <-w.toSync:
				if !ok {
					break gather
				}
				round = append(round, c)
			default:
				break gather
			}
		}
		// After the first failed sync every commit fails too: Linux may have dropped the pages
		// it could not write and report the next sync clean, and a later commit's frames
		// follow the lost ones in the log, where recovery stops at the first bad frame. Only a
		// restart (and SQLite's recovery of the log) makes the store trustworthy again; until
		// then no caller is told its write is durable.
		if w.broken.Load() == nil && slices.ContainsFunc(round, func(c committedOps) bool { return c.sync }) {
			// Every commit of the round was made before this sync started: it covers them all.
			if err := w.syncWAL(); err != nil {
				failed := fmt.Errorf("store: sync the write-ahead log: %w (no write is taken as durable until the gateway restarts)", err)
				w.broken.Store(&failed)
				w.log.Error("store: the write-ahead log could not be synced; every write fails until the gateway restarts", "err", err)
			}
		}
		var failed error
		if p := w.broken.Load(); p != nil {
			failed = *p
		}
		for _, c := range round {
			c.answer(failed)
		}
		clear(round)
	}
}

// do runs fn in a shared transaction and returns once that transaction committed durably.
func (w *writer) do(ctx context.Context, fn func(ctx context.Context, tx *wtx) error) error {
	return w.submit(&writeOp{ctx: ctx, fn: fn, done: make(chan error, 1)})
}

// doLazy is do for a write whose loss in a power cut (not a process crash: the operating
// system has it) costs a repeat that the far end recognises, nothing more: fn calls
// tx.mustSync when, as it turns out, it wrote something that must survive. A group commit of
// lazy writes only skips the sync, a millisecond of wall time and a share of the CPU per
// message at low rates (issue 16); their order is kept, and the next durable commit makes
// them durable too. A lazy write that finds the writer idle waits for company (see loop).
func (w *writer) doLazy(ctx context.Context, fn func(ctx context.Context, tx *wtx) error) error {
	return w.submit(&writeOp{ctx: ctx, fn: fn, done: make(chan error, 1), lazy: true})
}

// doFirst is do for a write whose caller holds back its source until it is stored: a
// channel's intake, whose acknowledgement the next batch of a chat app waits for. It goes
// before the writes waiting at the time, and shares its commit only with other such writes,
// and with the lazy write an idle writer was holding for company (see loop).
// In a burst intake bounds the rate (the backlog is taken in about as fast as it is
// delivered), and it waited behind the completions of every worker: in the writer's queue,
// and on SQLite also in the group commit it led, whose completions ran before its commit
// (issue 16).
func (w *writer) doFirst(ctx context.Context, fn func(ctx context.Context, tx *wtx) error) error {
	return w.submit(&writeOp{ctx: ctx, fn: fn, done: make(chan error, 1), first: true})
}

func (w *writer) submit(op *writeOp) error {
	ctx := op.ctx
	queue := w.ops
	if op.first {
		queue = w.firstOps
	}
	select {
	case queue <- op:
	case <-w.quit:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once queued, wait for the outcome even if ctx ends: the write may already be committed,
	// and the caller must not take "context canceled" for "not stored" and lose nothing either.
	select {
	case err := <-op.done:
		return err
	case <-w.stopped:
		// The queue has room after close, so op may have been queued once the loop had
		// drained it for the last time; the loop answers every op it took before it stops.
		select {
		case err := <-op.done:
			return err
		default:
			return errClosed
		}
	}
}

func (w *writer) close() {
	close(w.quit)
	<-w.stopped
	w.dropOwn()
}

// ownConn returns the writer's own connection (own), taken from db the first time.
func (w *writer) ownConn(ctx context.Context) (*sql.Conn, error) {
	if w.own == nil {
		c, err := w.db.Conn(ctx)
		if err != nil {
			return nil, err
		}
		w.own = c
	}
	return w.own, nil
}

// badConn reports whether err says the connection it came from is broken or given up.
func badConn(err error) bool {
	return errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone)
}

// dropOwn closes the statements prepared on the writer's own connection and gives the
// connection back to the pool.
func (w *writer) dropOwn() {
	for q, st := range w.stmts {
		st.Close()
		delete(w.stmts, q)
	}
	if w.own != nil {
		w.own.Close()
		w.own = nil
	}
}

func (w *writer) loop() {
	batch := make([]*writeOp, 0, w.maxBatch)
	for {
		op := w.waiting()
		idle := op == nil
		if op == nil {
			select {
			case op = <-w.firstOps:
			case op = <-w.ops:
			case <-w.quit:
				// Drain what was queued before close so no caller waits forever.
				for op := w.waiting(); op != nil; op = w.waiting() {
					w.commit([]*writeOp{op})
				}
				return
			}
		}
		batch = append(batch[:0], op)
		gather := w.waiting
		if op.first {
			gather = w.waitingFirst
		}
		// A lazy write (an inbound completion) that finds the writer idle waits a little for
		// the next write and shares its commit, an intake's going first: at a steady rate each
		// message was two transactions, and the completion's five pages are among the eight
		// the next intake writes. That was 6 % of the gateway's CPU at 500 messages a second
		// (issue 16). In a burst writes are waiting whenever a group ends, and none waits.
		if idle && op.lazy && !w.d.opAlone && w.lazyHold > 0 {
			if next := w.company(); next != nil {
				if next.first {
					batch[0], next, gather = next, op, w.waitingFirst
				}
				batch = append(batch, next)
			}
		}
		for len(batch) < w.maxBatch && !w.d.opAlone {
			op := gather()
			if op == nil {
				break
			}
			batch = append(batch, op)
		}
		w.commit(batch)
	}
}

// company returns the next write submitted within lazyHold, or nil.
func (w *writer) company() *writeOp {
	t := time.NewTimer(w.lazyHold)
	defer t.Stop()
	select {
	case op := <-w.firstOps:
		return op
	case op := <-w.ops:
		return op
	case <-t.C:
		return w.waiting()
	case <-w.quit:
		return nil
	}
}

// waiting returns a write waiting to run, a first one (doFirst) before the others, or nil.
func (w *writer) waiting() *writeOp {
	if op := w.waitingFirst(); op != nil {
		return op
	}
	select {
	case op := <-w.ops:
		return op
	default:
		return nil
	}
}

// waitingFirst returns a first write (doFirst) waiting to run, or nil.
func (w *writer) waitingFirst() *writeOp {
	select {
	case op := <-w.firstOps:
		return op
	default:
		return nil
	}
}

// maxRetries bounds how often a batch the database aborted to resolve a conflict with another
// committer or replica (a deadlock) is run again before its callers are told.
const maxRetries = 12

// retryPause is the longest pause before a batch's first retry; it doubles with each retry
// and a random share of it is taken. Batches that deadlocked with each other would otherwise
// start again at the same instant and take their locks in the same clashing order.
const retryPause = 2 * time.Millisecond

func (w *writer) commit(batch []*writeOp) {
	results := make([]error, len(batch))
	sync, err := w.run(batch, results)
	for try := 1; err != nil && try <= maxRetries && w.d.retryable(err); try++ {
		time.Sleep(rand.N(retryPause << min(try, 8)))
		// Nothing of the batch took effect; each operation starts over from its beginning.
		clear(results)
		sync, err = w.run(batch, results)
	}
	if w.d.pipeline == nil && badConn(err) {
		w.dropOwn() // the next transaction takes a connection of the pool's again
	}
	w.prepareSeen()
	c := committedOps{batch: batch, results: results, err: err, sync: sync}
	if w.toSync != nil {
		c.batch = slices.Clone(batch) // the loop reuses batch for the next group
		w.toSync <- c
		return
	}
	c.answer(nil)
}

// run executes the batch in one transaction; it returns an error only when the transaction as
// a whole failed, in which case no operation took effect. sync is set when the commit holds a
// write that must survive a power loss, and is not durable until syncWAL ran.
func (w *writer) run(batch []*writeOp, results []error) (sync bool, err error) {
	// The transaction is not bound to any one caller's context: a caller giving up must not
	// roll back the others' writes.
	ctx := context.Background()
	tx := &wtx{w: w}
	defer tx.close()
	if err := tx.begin(ctx, w.db); err != nil {
		return false, fmt.Errorf("store: begin: %w", err)
	}
	single := len(batch) == 1
	for i, op := range batch {
		if err := op.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		tx.sync = tx.sync || !op.lazy
		// Once started, an operation runs to its end: cancelling a statement interrupts SQLite,
		// which rolls back the whole shared transaction and every other caller's write with it.
		opCtx := context.WithoutCancel(op.ctx)
		if single {
			results[i] = op.fn(opCtx, tx)
			if results[i] == nil && !tx.sync && w.d.asyncCommit != "" {
				// Known now: it goes with the statements still queued, and the COMMIT.
				results[i] = tx.execLater(ctx, nil, w.d.asyncCommit)
			}
			if tx.failed != nil {
				results[i] = tx.failed // the operation may have seen only its consequences
			}
			if w.d.retryable(results[i]) {
				tx.rollback()
				return false, results[i]
			}
			continue
		}
		if _, err := tx.ExecContext(ctx, `SAVEPOINT op`); err != nil {
			tx.rollback()
			return false, fmt.Errorf("store: savepoint: %w", err)
		}
		// Nothing is queued here (a dialect that pipelines runs each operation alone): a
		// failure execLater recorded is this operation's, and the next starts clean.
		results[i], tx.failed = tx.settle(ctx, op.fn(opCtx, tx)), nil
		if w.d.retryable(results[i]) {
			// The database broke a deadlock with another transaction by failing this one's
			// statement: the locks the batch holds are what it waits for, so the batch as a
			// whole gives way and runs again.
			tx.rollback()
			return false, results[i]
		} else if results[i] != nil {
			if _, err := tx.ExecContext(ctx, `ROLLBACK TO op`); err != nil {
				tx.rollback()
				return false, fmt.Errorf("store: rollback to savepoint: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `RELEASE op`); err != nil {
			tx.rollback()
			return false, fmt.Errorf("store: release savepoint: %w", err)
		}
	}
	if single && results[0] != nil {
		tx.rollback()
		return false, nil
	}
	if single {
		// What the operation queued goes with the COMMIT: a failure there is the operation's.
		if err := tx.commit(ctx); err != nil {
			if w.d.retryable(err) {
				return false, err
			}
			results[0] = err
			return false, nil
		}
		return w.committedNow(tx), nil
	}
	if !tx.sync && w.d.asyncCommit != "" {
		if _, err := tx.ExecContext(ctx, w.d.asyncCommit); err != nil {
			tx.rollback()
			return false, fmt.Errorf("store: commit without waiting for the flush: %w", err)
		}
	}
	if err := tx.commit(ctx); err != nil {
		return false, err
	}
	return w.committedNow(tx), nil
}

// committedNow tells the checkpointer of tx's commit and returns whether the commit waits for
// a sync (see run).
func (w *writer) committedNow(tx *wtx) bool {
	if w.committed != nil {
		w.committed()
	}
	return tx.sync && w.syncWAL != nil
}
