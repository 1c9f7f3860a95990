package store

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// dialect is what differs between the databases the store runs on. The queries, the group
// commit and the types are shared; a query is written once, with ? placeholders and SQL both
// databases speak, and the dialect rewrites it for its driver.
type dialect struct {
	name string
	// migrations holds NNNN_what.sql files, applied in order of their number. Each dialect
	// numbers its own: a change may take one file in one dialect and two in the other.
	migrations fs.FS
	// numbered placeholders ($1, $2, ...) instead of ?.
	numbered bool
	// writers is how many group committers run at once (see newWriter).
	writers int
	// opAlone runs each write operation in a transaction of its own instead of sharing one
	// among the callers waiting at the time. PostgreSQL shares a WAL flush among the
	// transactions that commit at once by itself, and a shared transaction there takes the
	// lane locks of unrelated callers in no particular order: an intake and a batch of
	// completions then deadlock, and each deadlock costs deadlock_timeout (1 s) before
	// the server breaks it (issue 16: 49-90 messages/s on the load command's backlog).
	opAlone bool
	// prepare makes the writer prepare the queries it runs. SQLite spends a third of intake's
	// CPU time parsing SQL; pgx prepares and caches statements per connection on its own.
	prepare bool
	// lockRow ends a read of a row the transaction goes on to change, so that it locks the
	// row at once (as an update would) on a database with row locks.
	lockRow string
	// skipLocked ends Claim's query of due lanes, so that replicas claiming at once skip the
	// lanes another one is claiming instead of waiting for them (or claiming them twice).
	skipLocked string
	// lockMigrations, when set, runs in the migration's transaction before anything else:
	// replicas starting together must not apply the same migration twice.
	lockMigrations string
	// asyncCommit, run in a transaction before its commit, lets the commit return before the
	// database flushed it when nothing in it must survive a power loss (writer.doLazy).
	asyncCommit string
	// arrays makes a statement of many rows bind one array per column and unnest them, all
	// rows in one statement, instead of binding each value, a chunk of rows per statement
	// (see eachChunk).
	arrays bool
	// pipeline, when set, sends statements queued by wtx.execLater on c in one round trip,
	// in order, and returns the first error, a statement's own or its check's. A dialect that
	// pipelines runs each operation alone (opAlone): an operation's queued statements fail it
	// at its end, which a savepoint shared with others could not undo in time.
	pipeline func(ctx context.Context, c *sql.Conn, queued []later) error
	// mustChange, when set, turns an UPDATE into a statement the server refuses when the
	// update changes no row, with an error changedNothing recognises; with is more WITH
	// queries, run with it (each preceded by a comma).
	mustChange     func(update, with string) string
	changedNothing func(err error) bool
	// retryable reports whether a failed transaction may be run again as a whole: the
	// database aborted it to break a deadlock or a serialization conflict with another replica.
	retryable func(error) bool

	rewritten sync.Map // query -> the query in this dialect
}

// sql returns query in the dialect's terms.
func (d *dialect) sql(query string) string {
	if !d.numbered {
		return query
	}
	if q, ok := d.rewritten.Load(query); ok {
		return q.(string)
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	q := b.String()
	d.rewritten.Store(query, q)
	return q
}

// eachChunk calls fn with the rows of vals (len(types) values per row, types their SQL types)
// as a row source, a query whose columns are named column1, column2, ..., with its arguments:
// on a dialect with arrays, two rows or more as `SELECT * FROM unnest(CAST(? AS TEXT[]), ...)`
// in one call, and otherwise `VALUES` chunks of up to most rows (eachValues, unpadded). Each
// statement on PostgreSQL costs the server about 60 µs of CPU beyond its work, a wake-up and a
// round trip: 10,000 one-row updates took 0.70 s of its CPU, as 1,000 ten-row arrays 0.12 s
// (issue 16). SQLite has no round trip, and keeps one prepared statement per chunk size.
func (d *dialect) eachChunk(types []string, vals []any, most int, fn func(source string, args []any) error) error {
	cols := len(types)
	if !d.arrays || len(vals) <= cols {
		// One row binds its values: an array of one costs more to build and to send.
		return d.eachValues(types, vals, most, nil, fn)
	}
	args := make([]any, cols)
	cast := make([]string, cols)
	named := make([]string, cols)
	for c, typ := range types {
		col, err := arrayOf(typ, vals, c, cols)
		if err != nil {
			return err
		}
		args[c] = col
		cast[c] = "CAST(? AS " + typ + "[])"
		named[c] = "column" + strconv.Itoa(c+1)
	}
	return fn("SELECT * FROM unnest("+strings.Join(cast, ", ")+") AS v("+strings.Join(named, ", ")+")", args)
}

// eachValues calls fn with the rows of vals as `VALUES` chunks of up to most rows (a power of
// two). It serves a statement that joins its rows with a table that grows: PostgreSQL plans a
// join with an array of unknown length as one with 10 rows, and while the table is small a
// hash join over a scan of the whole table; the plan is cached per connection, and kept while
// the table grows (a 20,000-message burst on a fresh database spent more of the server's CPU
// than one statement per chunk). With pad, a row that matches nothing, each chunk is filled up
// to the next power of two: one statement instead of one per bit of the count, and still only
// one prepared statement per power of two. Without it, the chunks are powers of two.
func (d *dialect) eachValues(types []string, vals []any, most int, pad []any, fn func(source string, args []any) error) error {
	cols := len(types)
	ph := make([]string, cols)
	for i, typ := range types {
		ph[i] = "?"
		if d.numbered {
			// PostgreSQL infers no types for parameters in VALUES.
			ph[i] = "CAST(? AS " + typ + ")"
		}
	}
	row := "(" + strings.Join(ph, ", ") + ")"
	for len(vals) > 0 {
		rows := min(len(vals)/cols, most)
		n := chunkOf(rows, most)
		args := vals[:n*cols]
		switch {
		case n == rows:
		case pad != nil:
			n *= 2
			args = slices.Concat(vals[:rows*cols], slices.Repeat(pad, n-rows))
		default:
			rows = n
		}
		if err := fn("VALUES "+rowsOf(n, row), args); err != nil {
			return err
		}
		vals = vals[rows*cols:]
	}
	return nil
}

// arrayOf is column c of the rows in vals (cols values each) as an array of typ: TEXT takes
// strings and JSON bytes, BIGINT takes int64.
func arrayOf(typ string, vals []any, c, cols int) (any, error) {
	n := len(vals) / cols
	switch typ {
	case "TEXT":
		col := make([]string, n)
		for i := range col {
			switch v := vals[i*cols+c].(type) {
			case string:
				col[i] = v
			case []byte:
				col[i] = string(v)
			default:
				return nil, fmt.Errorf("store: %T in a TEXT column", v)
			}
		}
		return col, nil
	case "BIGINT":
		col := make([]int64, n)
		for i := range col {
			v, ok := vals[i*cols+c].(int64)
			if !ok {
				return nil, fmt.Errorf("store: %T in a BIGINT column", vals[i*cols+c])
			}
			col[i] = v
		}
		return col, nil
	}
	return nil, fmt.Errorf("store: no arrays of %s", typ)
}

// reader runs the store's reads on a pool of connections, in the dialect's terms.
type reader struct {
	db *sql.DB
	d  *dialect
	// stmts keeps the queries prepared; nil runs each one unprepared.
	stmts *readStmts
}

// newReader returns a reader on db that prepares its queries where the dialect does.
func newReader(db *sql.DB, d *dialect) reader {
	r := reader{db: db, d: d}
	if d.prepare {
		r.stmts = &readStmts{m: map[string]*sql.Stmt{}}
	}
	return r
}

func (r reader) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	query = r.d.sql(query)
	if st := r.stmts.get(r.db, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return r.db.QueryContext(ctx, query, args...)
}

func (r reader) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	query = r.d.sql(query)
	if st := r.stmts.get(r.db, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return r.db.QueryRowContext(ctx, query, args...)
}

// readStmts holds the reads prepared so far. Preparing is most of a short read's cost on
// SQLite: the claim loop's check for due lanes, before each claim, spent 1.3 % of the
// gateway's CPU in a burst parsing its SQL (issue 16). database/sql prepares a statement
// again on each connection of the pool that runs it.
type readStmts struct {
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

// maxReadStmts bounds the prepared reads; the store's queries are far fewer, and a query
// built at run time beyond it runs unprepared.
const maxReadStmts = 128

// get returns query prepared, or nil to run it unprepared (the cache is full, or preparing
// failed: running it unprepared reports the error, if any).
func (c *readStmts) get(db *sql.DB, query string) *sql.Stmt {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.m[query]; ok {
		return st
	}
	if len(c.m) >= maxReadStmts {
		return nil
	}
	// Not the caller's context: the statement outlives the call.
	st, err := db.PrepareContext(context.Background(), query)
	if err != nil {
		return nil
	}
	c.m[query] = st
	return st
}

func (c *readStmts) close() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, st := range c.m {
		st.Close()
		delete(c.m, q)
	}
}
