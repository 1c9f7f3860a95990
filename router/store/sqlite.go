package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

//go:embed migrations/sqlite/*.sql
var sqliteFiles embed.FS

// sqliteDialect is SQLite's: ? placeholders, and no row locks, as one connection writes.
func sqliteDialect() *dialect {
	migrations, err := fs.Sub(sqliteFiles, "migrations/sqlite")
	if err != nil {
		panic(err) // the embedded directory is there, or the package does not compile
	}
	return &dialect{name: "sqlite", migrations: migrations, writers: 1, prepare: true, retryable: func(error) bool { return false }}
}

// OpenSQLite opens (creating if needed) the SQLite database at path, applies migrations and
// takes an exclusive lock beside it: a SQLite database is served by one gateway process, so
// leases left by a killed process can be released at once instead of waiting for expiry.
func OpenSQLite(ctx context.Context, path string, opts Options) (*Store, error) {
	opts.defaults()
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
	// synchronous=NORMAL, and the writer syncs the write-ahead log itself after each commit
	// that holds a write which must survive a power loss (walSyncer): a message is acknowledged
	// to its source only once it survives a power loss, as with synchronous=FULL, while a
	// commit of nothing but completions the far end would recognise if repeated (inbound
	// deliveries, which carry idempotency keys) skips the sync (writer.doLazy, issue 16).
	//
	// temp_store=MEMORY keeps the statement journals of the group commit's multi-row
	// statements and savepoints in memory: on disk they were a pwrite per journalled page,
	// 11 % of the gateway's CPU in a burst. It costs about 2.5 MB of memory at the peak of a
	// burst and gave 10-16 % more messages per second (docs/performance.md, "Fifth round").
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)" +
		"&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=temp_store(MEMORY)&_txlock=immediate"
	// The writer checkpoints only when the background checkpointer falls far behind.
	write, err := sql.Open("sqlite", dsn+fmt.Sprintf("&_pragma=wal_autocheckpoint(%d)", writerCheckpointPages))
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
	ckpt, err := sql.Open("sqlite", dsn)
	if err != nil {
		write.Close()
		read.Close()
		lock.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	ckpt.SetMaxOpenConns(1)
	s, err := newStore(ctx, sqliteDialect(), read, write, lock, opts)
	if err != nil {
		ckpt.Close()
		return nil, err
	}
	wal := &walSyncer{path: path + "-wal", ckpt: newCheckpointer(ckpt, checkpointDelay, opts.Log)}
	s.writer.committed, s.wal = wal.ckpt.grew, wal
	s.writer.syncBy(wal.sync, opts.Log)
	// The lock proves no other process delivers from this database: whatever leases it holds
	// (lanes', singletons') were a killed process's, and are released now instead of at their
	// expiry. (PostgreSQL, which several live replicas share, never does this.)
	if _, err := write.ExecContext(ctx, `UPDATE lanes SET lease_owner = '', lease_until = 0 WHERE lease_until <> 0`); err != nil {
		s.Close()
		return nil, fmt.Errorf("store: release stale leases: %w", err)
	}
	if _, err := write.ExecContext(ctx, `UPDATE singletons SET lease_until = 0 WHERE lease_until <> 0`); err != nil {
		s.Close()
		return nil, fmt.Errorf("store: release stale singleton leases: %w", err)
	}
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
	// The writer keeps a connection of its own (writer.own); reads take the other.
	db.SetMaxOpenConns(2)
	d := sqliteDialect()
	s := &Store{d: d, read: reader{db: db, d: d}, write: db, now: time.Now}
	s.writer = newWriter(db, d, 64, 0)
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

// walSyncer syncs a SQLite database's write-ahead log file, as synchronous=FULL would at every
// commit: the log is only ever appended to between checkpoints (which sync it themselves
// under synchronous=NORMAL), so syncing it after a commit makes that commit and every one
// before it durable. It is used by the writer's one goroutine only. The file is opened on
// first use, once SQLite created it, and stays open: SQLite removes it only when its last
// connection closes, and its locks are on the database and -shm files, which are never
// opened here (closing another descriptor of a locked file would drop SQLite's locks).
type walSyncer struct {
	path string
	f    *os.File
	ckpt *checkpointer
}

func (w *walSyncer) sync() error {
	if w.f == nil {
		f, err := os.OpenFile(w.path, os.O_RDWR, 0)
		if err != nil {
			return err
		}
		w.f = f
	}
	return syscall.Fdatasync(int(w.f.Fd()))
}

func (w *walSyncer) close() error {
	err := w.ckpt.close()
	if w.f != nil {
		err = errors.Join(err, w.f.Close())
	}
	return err
}

// checkpointDelay is how long after a commit the checkpointer copies the log into the
// database: a burst's commits rewrite the same pages (lanes, index pages), which a checkpoint
// then copies once.
const checkpointDelay = 100 * time.Millisecond

// writerCheckpointPages is the log's size, in pages, at which the writer checkpoints itself,
// as SQLite does at 1,000 by default: only when the checkpointer fell that far behind (a
// reader holding an old snapshot keeps it from finishing).
const writerCheckpointPages = 8000

// checkpointer copies the write-ahead log into the database on a connection of its own, off
// the writer's path: SQLite's automatic checkpoint runs inside the commit that crossed its
// threshold, and every caller of that group commit waited for it (8 % of the gateway's CPU in
// a burst, all of it on the writer's one goroutine). A PASSIVE checkpoint runs beside the
// writer's commits and readers, and syncs what it copies under synchronous=NORMAL.
type checkpointer struct {
	db    *sql.DB
	delay time.Duration
	log   *slog.Logger
	armed atomic.Bool
	// mu serialises checkpoints with each other and with close.
	mu     sync.Mutex
	closed bool
	// runs counts the checkpoints run; framesLeft is how many of the log's frames the last
	// one could not copy (a reader still needed them). Both are read by tests.
	runs       int
	framesLeft int
}

func newCheckpointer(db *sql.DB, delay time.Duration, log *slog.Logger) *checkpointer {
	return &checkpointer{db: db, delay: delay, log: log}
}

// grew notes that a commit appended to the log: a checkpoint runs delay later, one for all
// the commits until then. An idle store arms no timer.
func (c *checkpointer) grew() {
	if c.armed.CompareAndSwap(false, true) {
		time.AfterFunc(c.delay, c.run)
	}
}

func (c *checkpointer) run() {
	c.armed.Store(false)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	// A failed checkpoint loses nothing: the log keeps the commits, the next one copies them.
	var busy, frames, copied int
	if err := c.db.QueryRow(`PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &copied); err != nil {
		c.log.Warn("store: checkpoint of the write-ahead log failed; the next commit retries it", "err", err)
		return
	}
	c.runs++
	c.framesLeft = frames - copied
}

func (c *checkpointer) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	return c.db.Close()
}
