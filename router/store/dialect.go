package store

import (
	"context"
	"database/sql"
	"io/fs"
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
