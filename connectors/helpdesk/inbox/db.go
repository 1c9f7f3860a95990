package inbox

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrations embed.FS

// dialect is what differs between the inbox's two homes: its own SQLite file (one gateway
// process) and the gateway's PostgreSQL database (every replica). The queries are written
// once, with ? placeholders and GREATEST for the larger of two values; the dialect rewrites
// them for its driver.
type dialect struct {
	name string
	// dir holds the dialect's migrations, each NNNN_what.sql, applied in order of the number.
	dir string
	// versions is the table that records the migrations applied: schema_migrations in the
	// inbox's own file, as ever; inbox_migrations in PostgreSQL, where schema_migrations is
	// the gateway store's.
	versions string
	// lock runs first in each migration's transaction: replicas starting together must not
	// apply the same migration twice.
	lock string
	// numbered placeholders ($1, $2, ...) instead of ?.
	numbered bool
	// greatest is the function taking the larger of two values: SQLite's scalar MAX.
	greatest string

	rewritten sync.Map // query -> the query in this dialect
}

// inboxMigrationLock names the advisory lock PostgreSQL replicas take to migrate the inbox.
const inboxMigrationLock = 0x6761746577617902 // "gateway" and a 2

var (
	sqliteDialect   = &dialect{name: "sqlite", dir: "migrations/sqlite", versions: "schema_migrations", greatest: "MAX("}
	postgresDialect = &dialect{name: "postgres", dir: "migrations/postgres", versions: "inbox_migrations", numbered: true,
		greatest: "GREATEST(", lock: fmt.Sprintf("SELECT pg_advisory_xact_lock(%d)", inboxMigrationLock)}
)

// sql returns query in the dialect's terms.
func (d *dialect) sql(query string) string {
	if q, ok := d.rewritten.Load(query); ok {
		return q.(string)
	}
	q := strings.ReplaceAll(query, "GREATEST(", d.greatest)
	if d.numbered {
		var b strings.Builder
		n := 0
		for _, r := range q {
			if r == '?' {
				n++
				b.WriteString("$" + strconv.Itoa(n))
				continue
			}
			b.WriteRune(r)
		}
		q = b.String()
	}
	d.rewritten.Store(query, q)
	return q
}

// database is the inbox's database in its dialect. owned is false for the gateway's
// PostgreSQL database, which the gateway closes.
type database struct {
	*sql.DB
	d     *dialect
	owned bool
}

func (db *database) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return db.DB.ExecContext(ctx, db.d.sql(query), args...)
}

func (db *database) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return db.DB.QueryContext(ctx, db.d.sql(query), args...)
}

func (db *database) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return db.DB.QueryRowContext(ctx, db.d.sql(query), args...)
}

func (db *database) BeginTx(ctx context.Context, opts *sql.TxOptions) (*txn, error) {
	tx, err := db.DB.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &txn{Tx: tx, d: db.d}, nil
}

// Close closes the database if the inbox opened it.
func (db *database) Close() error {
	if !db.owned {
		return nil
	}
	return db.DB.Close()
}

// txn is a transaction of a database, in its dialect.
type txn struct {
	*sql.Tx
	d *dialect
}

func (tx *txn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return tx.Tx.ExecContext(ctx, tx.d.sql(query), args...)
}

func (tx *txn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return tx.Tx.QueryContext(ctx, tx.d.sql(query), args...)
}

func (tx *txn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return tx.Tx.QueryRowContext(ctx, tx.d.sql(query), args...)
}

// openDB opens (creating if needed) the inbox's own SQLite database and applies pending
// migrations.
//
// WAL lets the UI read while Post writes; busy_timeout makes concurrent writers wait rather
// than fail; BEGIN IMMEDIATE takes the write lock up front, so a read-then-write transaction
// never fails halfway with SQLITE_BUSY. synchronous=FULL because Post reports success to the
// router, which then never posts the message again.
func openDB(ctx context.Context, path string) (*database, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("create database directory: %w", err)
		}
	}
	// The file holds password hashes and session digests: readable by the gateway's user only.
	if f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600); err == nil {
		f.Close()
	} else {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)" +
		"&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_txlock=immediate"
	sqlDB, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	sqlDB.SetMaxOpenConns(4)
	db := &database{DB: sqlDB, d: sqliteDialect, owned: true}
	if err := migrate(ctx, db); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("migrate %s: %w", path, err)
	}
	return db, nil
}

// sharedDB brings the inbox's tables into the gateway's PostgreSQL database, which the
// gateway keeps open and closes.
func sharedDB(ctx context.Context, pg *sql.DB) (*database, error) {
	db := &database{DB: pg, d: postgresDialect}
	if err := migrate(ctx, db); err != nil {
		return nil, fmt.Errorf("migrate the inbox's tables in PostgreSQL: %w", err)
	}
	return db, nil
}

// migrate applies the dialect's embedded migrations not yet recorded, each in its own
// transaction, in the order of their numeric prefix.
func migrate(ctx context.Context, db *database) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+db.d.versions+` (
		version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return err
	}
	names, err := fs.Glob(migrations, db.d.dir+"/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		base := filepath.Base(name)
		version, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: want a numeric prefix", base)
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		if err := applyMigration(ctx, db, version, string(body)); err != nil {
			return fmt.Errorf("migration %s/%s: %w", db.d.name, base, err)
		}
	}
	return nil
}

func applyMigration(ctx context.Context, db *database, version int, body string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if db.d.lock != "" {
		if _, err := tx.ExecContext(ctx, db.d.lock); err != nil {
			return fmt.Errorf("lock migrations: %w", err)
		}
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+db.d.versions+` WHERE version = ?`, version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	// The body is a script of several statements: sent as is, not rewritten (it has no
	// placeholders), so pgx runs it with the simple protocol.
	if _, err := tx.Tx.ExecContext(ctx, body); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO `+db.d.versions+` (version, applied_at) VALUES (?, ?)`,
		version, time.Now().UnixMilli()); err != nil {
		return err
	}
	return tx.Commit()
}

// millis stores a time as Unix milliseconds, the unit of every time column.
func millis(t time.Time) int64 { return t.UnixMilli() }

// fromMillis reads a nullable time column; NULL is the zero time.
func fromMillis(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMilli(v.Int64).UTC()
}
