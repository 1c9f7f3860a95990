package store

import (
	"context"
	"database/sql"
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
}

// execLater runs query now, or, on a dialect that pipelines (dialect.pipeline), queues it to
// go with the transaction's next read or its commit. Its error, and check's, then reach the
// operation at that read (or at Exec and Query; a QueryRow's Scan fails with context.Canceled)
// and the writer in any case: the operation fails as a whole and nothing of it is committed,
// whatever it did with the errors it saw.
//
// A completion on PostgreSQL was 7 round trips (issue 16): the begin, the fence, the
// delivered update, the target IDs, the release, synchronous_commit and the commit each
// waited for the server. Now the five in between go as one; the args must not change until
// then (they are copied).
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

// flush sends the queued statements, if any. After a failed flush the transaction is failed:
// every later flush returns the same error.
func (t *wtx) flush(ctx context.Context) error {
	if t.failed != nil || len(t.later) == 0 {
		return t.failed
	}
	queued := t.later
	t.later = nil
	if err := t.w.d.pipeline(ctx, t.conn, queued); err != nil {
		t.failed = err
	}
	return t.failed
}

// settle is the outcome of an operation that returned err: a failed flush first (the operation
// may have seen only its consequences), then err, then the flush of what is still queued.
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
	return t.Tx.QueryRowContext(ctx, query)
}
