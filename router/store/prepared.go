package store

import (
	"context"
	"database/sql"
)

// wtx is a write transaction that runs known queries as prepared statements. Parsing SQL was
// a third of intake's CPU time; the writer prepares each query the first time it is seen,
// between transactions while its one connection is free, and reuses it from then on.
type wtx struct {
	// own is the writer's own connection (writer.own) on a dialect that does not pipeline,
	// in the transaction it began with a statement.
	own *sql.Conn
	w   *writer
	// sync is set when the transaction holds a write that must survive a power loss.
	sync bool
	// conn is the transaction's connection on a dialect that pipelines, which begins and
	// commits on it with statements of its own, so that they too go with others (see
	// execLater); later holds the statements queued, begun is set once BEGIN went, and failed
	// is the error of the flush that failed the transaction.
	conn   *sql.Conn
	later  []later
	begun  bool
	failed error
}

// queryer runs statements: the transaction, or the connection it runs on.
type queryer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (t *wtx) q() queryer {
	if t.conn != nil {
		return t.conn
	}
	return t.own
}

// mustSync makes the transaction's commit durable: a lazy write (writer.doLazy) wrote
// something after all that must survive a power loss.
func (t *wtx) mustSync() { t.sync = true }

func (t *wtx) stmt(ctx context.Context, query string) *sql.Stmt {
	if !t.w.d.prepare {
		return nil
	}
	if st, ok := t.w.stmts[query]; ok {
		return st // prepared on t.own
	}
	t.w.unprepared[query] = struct{}{}
	return nil
}

func (t *wtx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if err := t.flush(ctx); err != nil {
		return nil, err
	}
	query = t.w.d.sql(query)
	if st := t.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return t.q().ExecContext(ctx, query, args...)
}

func (t *wtx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if err := t.flush(ctx); err != nil {
		return nil, err
	}
	query = t.w.d.sql(query)
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return t.q().QueryContext(ctx, query, args...)
}

func (t *wtx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if err := t.flush(ctx); err != nil {
		return t.failedRow(query)
	}
	query = t.w.d.sql(query)
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.q().QueryRowContext(ctx, query, args...)
}

// prepareSeen prepares the queries the last transaction ran unprepared. Queries built at run
// time are few (replay's two variants); a failed prepare just leaves the query unprepared.
func (w *writer) prepareSeen() {
	if w.own == nil {
		return // no transaction began on a connection of the writer's own
	}
	for q := range w.unprepared {
		if st, err := w.own.PrepareContext(context.Background(), q); err == nil {
			w.stmts[q] = st
		}
		delete(w.unprepared, q)
	}
}
