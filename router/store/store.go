// Package store owns the gateway's durable state: conversations, messages, and the
// per-conversation outbox that is the delivery queue. The embedded default is SQLite through
// a pure-Go driver; migrations are embedded and applied at Open.
//
// All writes go through one group-commit writer, so concurrent callers share transactions
// (and fsyncs) while each still returns only after its own write is durable.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/casino-support/gateway/connectors"
)

//go:embed migrations/sqlite/*.sql
var sqliteMigrations embed.FS

// ErrNotFound is returned when a conversation or message does not exist. It is the
// connectors' sentinel, so connectors can recognise it without importing the store.
var ErrNotFound = connectors.ErrNotFound

// Options tune a store.
type Options struct {
	// MaxBatch caps how many write operations share one transaction.
	MaxBatch int
	// Now is the clock; tests replace it.
	Now func() time.Time
}

// Store is the SQL store.
type Store struct {
	read   *sql.DB
	write  *sql.DB
	writer *writer
	lock   *os.File
	now    func() time.Time
}

// OpenSQLite opens (creating if needed) the SQLite database at path, applies migrations and
// takes an exclusive lock beside it: a SQLite database is served by one gateway process, so
// leases left by a killed process can be released at once instead of waiting for expiry.
func OpenSQLite(ctx context.Context, path string, opts Options) (*Store, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 512
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("store: create directory: %w", err)
		}
	}
	lock, err := lockFile(path + ".lock")
	if err != nil {
		return nil, err
	}
	if err := privateFiles(path); err != nil {
		lock.Close()
		return nil, err
	}
	// synchronous=FULL: a message is acknowledged to its source only once it survives a power
	// loss, not merely a process crash; group commit pays for the extra fsync.
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)" +
		"&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_txlock=immediate"
	write, err := sql.Open("sqlite", dsn)
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	read, err := sql.Open("sqlite", dsn+"&_pragma=query_only(1)")
	if err != nil {
		write.Close()
		lock.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	read.SetMaxOpenConns(4)
	s := &Store{read: read, write: write, lock: lock, now: opts.Now}
	if err := s.migrate(ctx); err != nil {
		s.closeDBs()
		return nil, err
	}
	// The lock proves no other process delivers from this database: earlier leases are stale.
	if _, err := write.ExecContext(ctx, `UPDATE lanes SET lease_owner = '', lease_until = 0 WHERE lease_until <> 0`); err != nil {
		s.closeDBs()
		return nil, fmt.Errorf("store: release stale leases: %w", err)
	}
	s.writer = newWriter(write, opts.MaxBatch)
	return s, nil
}

// OpenSQLiteShared opens a SQLite database that a running gateway may hold, for one-off
// commands (replay) that only need short writes; it applies no migrations and takes no lock.
func OpenSQLiteShared(ctx context.Context, path string) (*Store, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=synchronous(FULL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	s := &Store{read: db, write: db, now: time.Now}
	s.writer = newWriter(db, 64)
	return s, db.PingContext(ctx)
}

// privateFiles makes the database readable by the gateway's user only, like the rest of the
// data: it holds players' messages and identities. SQLite creates files with mode 0644 (less
// the umask) but gives its -wal and -shm files the mode of the database file, so the database
// is created 0600 before SQLite opens it. Files an earlier version created are narrowed too.
func privateFiles(path string) error {
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("store: create %s: %w", path, err)
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		info, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
		if mode := info.Mode().Perm(); mode&0o077 != 0 {
			if err := os.Chmod(p, mode&^0o077); err != nil {
				return fmt.Errorf("store: make %s private: %w", p, err)
			}
		}
	}
	return nil
}

func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: open lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("store: %s is in use by another gateway process: %w", path, err)
	}
	return f, nil
}

func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("store: create schema_migrations: %w", err)
	}
	var current int
	if err := s.write.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("store: read schema version: %w", err)
	}
	files, err := fs.Glob(sqliteMigrations, "migrations/sqlite/*.sql")
	if err != nil {
		return fmt.Errorf("store: list migrations: %w", err)
	}
	sort.Strings(files)
	for _, f := range files {
		version, err := strconv.Atoi(strings.SplitN(filepath.Base(f), "_", 2)[0])
		if err != nil {
			return fmt.Errorf("store: migration %s: name must start with its version number", f)
		}
		if version <= current {
			continue
		}
		body, err := sqliteMigrations.ReadFile(f)
		if err != nil {
			return fmt.Errorf("store: read migration %s: %w", f, err)
		}
		tx, err := s.write.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("store: migration %d: %w", version, err)
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("store: apply migration %s: %w", f, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, version, s.now().UnixMilli()); err != nil {
			tx.Rollback()
			return fmt.Errorf("store: record migration %d: %w", version, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("store: commit migration %d: %w", version, err)
		}
	}
	return nil
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
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
	err := s.write.Close()
	if s.read != s.write {
		err = errors.Join(err, s.read.Close())
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
