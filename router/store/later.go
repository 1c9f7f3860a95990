package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
)

// later is a statement a write operation queued with wtx.execLater: nobody reads its result
// at once, so on a dialect that pipelines it waits for the transaction's next statement that
// is read, or its commit, and goes to the database with the others queued, in one round trip.
type later struct {
	query string // in the dialect's terms
	args  []any
	// check, when set, is given the rows the statement changed; an error it returns fails the
	// operation as the statement's own error would.
	check func(rows int64) error
	// refused, when set, makes the error of a statement the server refused (see
	// execChanging) what the operation fails with.
	refused func(err error) error
	// commit marks the COMMIT, which fails unless the server committed.
	commit bool
	// read, when set, makes the statement a query whose rows it is given (readLater).
	read func(rows rowReader) error
}

// rowReader is a query's rows as read goes through them.
type rowReader interface {
	Next() bool
	Scan(dest ...any) error
}

// read runs query and gives read its rows: on a dialect that pipelines, in one round trip with
// the statements queued before it (the BEGIN among them).
func (t *wtx) read(ctx context.Context, read func(rows rowReader) error, query string, args ...any) error {
	if t.conn != nil {
		t.readLater(ctx, read, query, args...)
		return t.flush(ctx)
	}
	rows, err := t.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	if err := read(rows); err != nil {
		return err
	}
	return rows.Err()
}

// readLater runs query now and gives read its rows, or, on a dialect that pipelines, queues it
// to go with the statements queued before it: read is then given its rows when they are sent
// (flush, or the next statement), and an error it returns fails the operation as a failed
// statement does.
func (t *wtx) readLater(ctx context.Context, read func(rows rowReader) error, query string, args ...any) error {
	if t.conn == nil {
		return t.read(ctx, read, query, args...)
	}
	t.later = append(t.later, later{query: t.w.d.sql(query), args: slices.Clone(args), read: read})
	return nil
}

// execLater runs query now, or, on a dialect that pipelines (dialect.pipeline), queues it to
// go with the transaction's next read or its commit. Its error, and check's, then reach the
// operation at that read (or at Exec and Query; a QueryRow's Scan fails with context.Canceled)
// and the writer in any case: the operation fails as a whole and nothing of it is committed,
// whatever it did with the errors it saw.
//
// A completion on PostgreSQL was 7 round trips (issue 16): the begin, the fence, the
// delivered update, the target IDs, the release, synchronous_commit and the commit each
// waited for the server. Now they go as one (with begin, commit and execChanging). The args
// are copied: a caller may go on to change them.
func (t *wtx) execLater(ctx context.Context, check func(rows int64) error, query string, args ...any) error {
	if t.conn == nil { // set only on a dialect that pipelines
		res, err := t.ExecContext(ctx, query, args...)
		if err == nil && check != nil {
			var n int64
			if n, err = res.RowsAffected(); err == nil {
				err = check(n)
			}
		}
		if err != nil && t.failed == nil {
			t.failed = err // as a queued statement's would, it fails the operation
		}
		return err
	}
	// A caller's rows may be a buffer it goes on to fill (intakeBatch).
	t.later = append(t.later, later{query: t.w.d.sql(query), args: slices.Clone(args), check: check})
	return nil
}

// execChanging is execLater for an update that must change a row: the operation fails with
// lost() when it changes none. On PostgreSQL the server refuses such an update itself
// (dialect.mustChange), so the COMMIT can go with it instead of waiting for its count: a
// completion at a steady rate is one round trip.
func (t *wtx) execChanging(ctx context.Context, lost func() error, query string, args ...any) error {
	return t.execChangingWith(ctx, lost, query, "", args...)
}

// execChangingWith is execChanging with more WITH queries after the update's (each preceded
// by a comma), which only a dialect with mustChange has; their arguments follow the update's.
func (t *wtx) execChangingWith(ctx context.Context, lost func() error, query, with string, args ...any) error {
	if t.conn == nil || t.w.d.mustChange == nil {
		if with != "" {
			return fmt.Errorf("store: WITH queries need a dialect that refuses an update itself")
		}
		return t.execLater(ctx, func(n int64) error {
			if n == 0 {
				return lost()
			}
			return nil
		}, query, args...)
	}
	refused := func(err error) error {
		if t.w.d.changedNothing(err) {
			return lost()
		}
		return err
	}
	t.later = append(t.later, later{query: t.w.d.sql(t.w.d.mustChange(query, with)), args: slices.Clone(args), refused: refused})
	return nil
}

// flush sends the queued statements, if any. After a failed flush the transaction is failed:
// every later flush returns the same error.
func (t *wtx) flush(ctx context.Context) error {
	if t.failed != nil || len(t.later) == 0 {
		return t.failed
	}
	queued := t.later
	t.later = nil
	t.begun = true // the BEGIN went with the first of them
	if err := t.w.d.pipeline(ctx, t.conn, queued); err != nil {
		t.failed = err
	}
	return t.failed
}

// begin starts the transaction: on a dialect that pipelines, its BEGIN is queued for the
// first flush.
func (t *wtx) begin(ctx context.Context, db *sql.DB) (err error) {
	if t.w.d.pipeline == nil {
		if t.own, err = t.w.ownConn(ctx); err != nil {
			return err
		}
		// SQLite, the dialect that does not pipeline: IMMEDIATE takes the write lock at once,
		// as the connection's _txlock=immediate did for BeginTx.
		err = t.ownExec(ctx, "BEGIN IMMEDIATE")
		if badConn(err) {
			// The kept connection broke while idle; nothing ran on it, so the transaction
			// begins on a fresh one instead of failing its callers.
			t.w.dropOwn()
			if t.own, err = t.w.ownConn(ctx); err != nil {
				return err
			}
			err = t.ownExec(ctx, "BEGIN IMMEDIATE")
		}
		return err
	}
	if t.conn, err = db.Conn(ctx); err != nil {
		return err
	}
	t.later = append(t.later, later{query: "BEGIN"})
	return nil
}

// commit commits the transaction. On a dialect that pipelines the COMMIT goes with the
// statements still queued, after those with a check have been sent on their own: a check
// that fails must stop the commit.
func (t *wtx) commit(ctx context.Context) error {
	if t.conn == nil {
		if err := t.ownExec(ctx, "COMMIT"); err != nil {
			// A COMMIT SQLite refused (SQLITE_BUSY, say) leaves the transaction open.
			t.rollback()
			return fmt.Errorf("store: commit: %w", err)
		}
		return nil
	}
	if slices.ContainsFunc(t.later, func(l later) bool { return l.check != nil }) {
		if err := t.flush(ctx); err != nil {
			t.rollback()
			return err
		}
	}
	t.later = append(t.later, later{query: "COMMIT", commit: true})
	if err := t.flush(ctx); err != nil {
		t.rollback()
		return err
	}
	return nil
}

// ownExec runs query, the BEGIN or COMMIT of a transaction on the writer's own connection,
// prepared once as the operations' queries are: parsing both anew was 1 % of the gateway's
// CPU at a steady rate (issue 16).
func (t *wtx) ownExec(ctx context.Context, query string) error {
	if st := t.stmt(ctx, query); st != nil {
		_, err := st.ExecContext(ctx)
		return err
	}
	_, err := t.own.ExecContext(ctx, query)
	return err
}

// rollback ends the transaction without committing it; nothing queued is sent.
func (t *wtx) rollback() {
	if t.conn == nil {
		// Fails harmlessly when nothing began or SQLite rolled back already.
		t.own.ExecContext(context.Background(), "ROLLBACK")
		return
	}
	t.later = nil
	if t.begun {
		// A failed ROLLBACK leaves the connection in its transaction, and the driver then
		// discards it rather than give it back to the pool.
		t.conn.ExecContext(context.Background(), "ROLLBACK")
	}
}

// close gives the connection back; the transaction is over.
func (t *wtx) close() {
	if t.conn != nil {
		t.conn.Close()
	}
}

// settle is the outcome of an operation that returned err in a shared transaction (SQLite's
// savepoints): a failed statement first (the operation may have seen only its consequences),
// then err, then the flush of anything still queued.
func (t *wtx) settle(ctx context.Context, err error) error {
	if t.failed != nil {
		return t.failed
	}
	if err != nil {
		return err
	}
	return t.flush(ctx)
}

// failedRow is what QueryRowContext returns after a failed flush: a row whose Scan fails (the
// transaction is not touched: an ended context stops database/sql before it takes the
// connection). The writer reports the flush's own error.
func (t *wtx) failedRow(query string) *sql.Row {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return t.q().QueryRowContext(ctx, query)
}
