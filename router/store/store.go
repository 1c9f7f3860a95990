// Package store owns the gateway's durable state: conversations, messages, and the
// per-conversation outbox that is the delivery queue. It runs on SQLite through a pure-Go
// driver (the embedded default) or on PostgreSQL through pgx, which several replicas can
// share. The queries, the types and the group commit are one code; what differs between the
// two is a small dialect (dialect.go) and the migrations, embedded per dialect and applied at
// Open.
//
// All writes go through one group-commit writer, so concurrent callers share transactions
// (and fsyncs) while each still returns only after its own write is durable.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

// Drivers are the store.driver values Open knows.
var Drivers = []string{"sqlite", "postgres"}

// ErrNotFound is returned when a conversation or message does not exist. It is the
// connectors' sentinel, so connectors can recognise it without importing the store.
var ErrNotFound = connectors.ErrNotFound

// Options tune a store.
type Options struct {
	// MaxBatch caps how many write operations share one transaction.
	MaxBatch int
	// Now is the clock; tests replace it.
	Now func() time.Time
	// ReopenClosed names the helpdesks configured with closed_ticket: reopen, whose closed
	// tickets a player's new message reopens. For every other helpdesk it moves the closed
	// ticket to the conversation's FollowUpOf and opens a new one (issue 18).
	ReopenClosed []normalize.InstanceName
	// Log takes what the store's background work (SQLite's checkpoints) has to report;
	// slog.Default() when nil.
	Log *slog.Logger
	// LazyHold is how long the record of an inbound delivery that finds the writer idle waits
	// for the next write, to share its commit (SQLite; see writer.loop). The gateway sets the
	// constant LazyHold. Zero, as in tests whose clock stands still until they sleep
	// (testing/synctest), waits not at all.
	LazyHold time.Duration
}

func (o *Options) defaults() {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 512
	}
}

// Store is the SQL store, on either dialect.
type Store struct {
	d      *dialect
	read   reader
	write  *sql.DB
	writer *writer
	lock   *os.File
	// wal syncs SQLite's write-ahead log (sqlite.go); nil on PostgreSQL.
	wal *walSyncer
	now func() time.Time
	// reopeners lists Options.ReopenClosed as ",a,b,", the form the intake's one statement
	// reads it in on both dialects (see inboundConversation).
	reopeners string
}

// Open opens the store of driver ("sqlite" or "postgres") at dsn: a file path for SQLite, a
// connection string for PostgreSQL.
func Open(ctx context.Context, driver, dsn string, opts Options) (*Store, error) {
	switch driver {
	case "sqlite", "":
		return OpenSQLite(ctx, dsn, opts)
	case "postgres":
		return OpenPostgres(ctx, dsn, opts)
	}
	return nil, fmt.Errorf("store: unknown driver %q (want one of %s)", driver, strings.Join(Drivers, ", "))
}

// newStore assembles a store on open databases and applies the dialect's migrations.
func newStore(ctx context.Context, d *dialect, read, write *sql.DB, lock *os.File, opts Options) (*Store, error) {
	s := &Store{d: d, read: newReader(read, d), write: write, lock: lock, now: opts.Now, reopeners: commaList(opts.ReopenClosed)}
	if err := s.migrate(ctx); err != nil {
		s.closeDBs()
		return nil, err
	}
	s.writer = newWriter(write, d, opts.MaxBatch, opts.LazyHold)
	return s, nil
}

func (s *Store) migrate(ctx context.Context) error {
	files, err := fs.Glob(s.d.migrations, "*.sql")
	if err != nil {
		return fmt.Errorf("store: list migrations: %w", err)
	}
	sort.Strings(files)
	for _, f := range files {
		version, err := strconv.Atoi(strings.SplitN(f, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("store: migration %s: name must start with its version number", f)
		}
		if err := s.migrateOne(ctx, f, version); err != nil {
			return err
		}
	}
	return nil
}

// migrateOne applies migration file f unless the database has it, in one transaction.
func (s *Store) migrateOne(ctx context.Context, f string, version int) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: migration %d: %w", version, err)
	}
	defer tx.Rollback()
	if s.d.lockMigrations != "" {
		if _, err := tx.ExecContext(ctx, s.d.lockMigrations); err != nil {
			return fmt.Errorf("store: lock migrations: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("store: create schema_migrations: %w", err)
	}
	// Each version is looked up on its own rather than compared with the highest applied:
	// versions are handed out to pieces of work built side by side, so one may land after a
	// higher one already reached a database, and it must still be applied there.
	var applied int
	if err := tx.QueryRowContext(ctx, s.d.sql(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`), version).Scan(&applied); err != nil {
		return fmt.Errorf("store: read schema version: %w", err)
	}
	if applied > 0 {
		return nil
	}
	body, err := fs.ReadFile(s.d.migrations, f)
	if err != nil {
		return fmt.Errorf("store: read migration %s: %w", f, err)
	}
	if _, err := tx.ExecContext(ctx, string(body)); err != nil {
		return fmt.Errorf("store: apply migration %s/%s: %w", s.d.name, f, err)
	}
	if _, err := tx.ExecContext(ctx, s.d.sql(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`), version, s.now().UnixMilli()); err != nil {
		return fmt.Errorf("store: record migration %d: %w", version, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit migration %d: %w", version, err)
	}
	return nil
}

// Ping reports whether the database answers, and takes writes.
func (s *Store) Ping(ctx context.Context) error {
	if s.writer != nil {
		if err := s.writer.broken.Load(); err != nil {
			return *err
		}
	}
	var one int
	if err := s.read.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

// Close stops the writer (after pending writes) and closes the database.
func (s *Store) Close() error {
	if s.writer != nil {
		s.writer.close()
	}
	return s.closeDBs()
}

func (s *Store) closeDBs() error {
	s.read.stmts.close()
	err := s.write.Close()
	if s.read.db != s.write {
		err = errors.Join(err, s.read.db.Close())
	}
	if s.wal != nil {
		err = errors.Join(err, s.wal.close())
	}
	if s.lock != nil {
		err = errors.Join(err, s.lock.Close())
	}
	return err
}

func millis(t time.Time) int64 { return t.UnixMilli() }

func fromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// commaList is names as ",a,b,": a name is in it when ",name," is.
func commaList(names []normalize.InstanceName) string {
	var b strings.Builder
	b.WriteString(",")
	for _, n := range names {
		b.WriteString(string(n))
		b.WriteString(",")
	}
	return b.String()
}
