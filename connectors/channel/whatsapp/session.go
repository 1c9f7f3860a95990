package whatsapp

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/store/sqlstore"
	waLog "go.mau.fi/whatsmeow/util/log"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver (pure Go)

	"github.com/casino-support/gateway/normalize"
)

// Session is one instance's session database: whatsmeow's store of the linked device's keys
// (sqlstore, upgraded on open) and the channel's own two tables beside it (the ledger). A
// lock file next to it keeps a second process (a second gateway, or `gateway whatsapp pair`
// while the gateway runs) off the session: two processes on one session make WhatsApp drop
// both connections in turn (StreamReplaced).
type Session struct {
	path      string // where the session is, for messages: a file, or a PostgreSQL schema
	db        *sql.DB
	container *sqlstore.Container
	lock      *os.File // nil on PostgreSQL
	waLog     waLog.Logger
	ledger    *ledger
}

// ErrSessionInUse is returned by OpenSession when another process holds the session.
var ErrSessionInUse = errors.New("the session is in use by another process")

// OpenSession opens (creating it with mode 0600, and its directory) the session database at
// path and brings its tables up to date.
func OpenSession(ctx context.Context, path string, log *slog.Logger) (*Session, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("whatsapp session: create directory: %w", err)
	}
	lock, err := lockSession(path + ".lock")
	if err != nil {
		return nil, err
	}
	// The file holds the device's private keys: created 0600 before SQLite opens it, since
	// SQLite gives its -wal and -shm files the database's mode. An older file is narrowed.
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600)
	if err == nil {
		err = f.Close()
	}
	if err == nil {
		err = os.Chmod(path, 0o600)
	}
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("whatsapp session: create %s: %w", path, err)
	}
	// whatsmeow's SQLite schema needs foreign keys (Upgrade refuses without them); WAL and a
	// busy timeout let its concurrent writers (receipts, keys, the ledger) wait for each other.
	dsn := "file:" + path + "?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(FULL)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("whatsapp session: open %s: %w", path, err)
	}
	wl := newWALog(log)
	s, err := openSessionDB(ctx, path, db, "sqlite", wl)
	if err != nil {
		lock.Close()
		return nil, err
	}
	s.lock = lock
	return s, nil
}

// openSessionDB upgrades whatsmeow's tables and the ledger on db, of whatsmeow's dialect
// ("sqlite" or "postgres"), and closes db when that fails. where names the session in errors.
func openSessionDB(ctx context.Context, where string, db *sql.DB, dialect string, wl waLog.Logger) (*Session, error) {
	container := sqlstore.NewWithDB(db, dialect, wl.Sub("Store"))
	if err := container.Upgrade(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("whatsapp session: upgrade %s: %w", where, err)
	}
	led, err := openLedger(ctx, db)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("whatsapp session %s: %w", where, err)
	}
	return &Session{path: where, db: db, container: container, waLog: wl, ledger: led}, nil
}

// SessionSchema is the PostgreSQL schema that holds instance's session when the gateway's
// store is PostgreSQL: one per instance, since whatsmeow's table names are fixed.
func SessionSchema(instance string) string { return "whatsmeow_" + instance }

// OpenPostgresSession opens instance's session in the PostgreSQL database of dsn (the gateway
// store's connection string), in schema SessionSchema(instance), created if need be: any
// replica then finds the linked device, and one backup of the database holds it. whatsmeow's
// existence checks look at every schema, so its version table is created in the instance's
// own schema first; otherwise a second instance would take the first one's for its own.
//
// No lock keeps a second process off the session here, unlike the SQLite file's: run the
// instance on one replica at a time.
func OpenPostgresSession(ctx context.Context, dsn, instance string, log *slog.Logger) (*Session, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	schema := pgx.Identifier{SessionSchema(instance)}.Sanitize()
	where := "PostgreSQL schema " + schema
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("whatsapp session: store dsn: %w", err)
	}
	cfg.RuntimeParams["search_path"] = schema
	db := stdlib.OpenDB(*cfg)
	for _, stmt := range []string{
		"CREATE SCHEMA IF NOT EXISTS " + schema,
		"CREATE TABLE IF NOT EXISTS whatsmeow_version (version INTEGER, compat INTEGER)",
	} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			db.Close()
			return nil, fmt.Errorf("whatsapp session: %s: %w", where, err)
		}
	}
	return openSessionDB(ctx, where, db, "postgres", newWALog(log))
}

// openInstanceSession opens instance name's session: in the PostgreSQL database of postgres
// when that is set (the gateway's store is there), else in the SQLite file at path.
func openInstanceSession(ctx context.Context, name normalize.InstanceName, path, postgres string, log *slog.Logger) (*Session, error) {
	if postgres != "" {
		return OpenPostgresSession(ctx, postgres, string(name), log)
	}
	if path == "" {
		return nil, errors.New("database is required")
	}
	return OpenSession(ctx, path, log)
}

// lockSession takes the session's lock file, or fails naming the holder's kind of trouble.
func lockSession(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("whatsapp session: open lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("whatsapp session %s: %w (a running gateway, or a pairing command): %w", path, ErrSessionInUse, err)
	}
	return f, nil
}

// NewClient returns a client of the session's linked device, or of a new, unpaired one when
// the session holds none (never paired, or logged out: whatsmeow deletes the device then).
func (s *Session) NewClient(ctx context.Context) (Client, error) {
	dev, err := s.device(ctx)
	if err != nil {
		return nil, err
	}
	return newWAClient(dev, s.waLog), nil
}

func (s *Session) device(ctx context.Context) (*store.Device, error) {
	dev, err := s.container.GetFirstDevice(ctx)
	if err != nil {
		return nil, fmt.Errorf("whatsapp session %s: read device: %w", s.path, err)
	}
	return dev, nil
}

// Close closes the database and releases the lock.
func (s *Session) Close() error {
	err := s.container.Close()
	if s.lock == nil {
		return err
	}
	if lerr := s.lock.Close(); err == nil {
		err = lerr
	}
	return err
}

// ledger is what the channel keeps beside whatsmeow's tables: the numbers that wrote to the
// instance (the channel never writes first to anyone else) and the WhatsApp IDs of the
// replies it sent with the gateway's message ID of each (a receipt names the former, the
// router the latter).
type ledger struct {
	db  *sql.DB
	now func() time.Time
}

// openLedger creates the ledger's tables. Its queries number their placeholders ($1), which
// both modernc's SQLite and pgx take; BIGINT holds milliseconds on PostgreSQL too.
func openLedger(ctx context.Context, db *sql.DB) (*ledger, error) {
	_, err := db.ExecContext(ctx, `
CREATE TABLE IF NOT EXISTS gateway_players (
	address  TEXT PRIMARY KEY,
	first_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS gateway_sent (
	wa_id      TEXT PRIMARY KEY,
	message_id TEXT NOT NULL,
	sent_at    BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS gateway_sent_at ON gateway_sent (sent_at);`)
	if err != nil {
		return nil, fmt.Errorf("create the channel's tables: %w", err)
	}
	return &ledger{db: db, now: time.Now}, nil
}

// wrote records that the player at address wrote to the instance.
func (l *ledger) wrote(ctx context.Context, address normalize.Address) error {
	_, err := l.db.ExecContext(ctx, `INSERT INTO gateway_players (address, first_at) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
		string(address), l.now().UnixMilli())
	if err != nil {
		return fmt.Errorf("record that %s wrote: %w", address, err)
	}
	return nil
}

// hasWritten reports whether the player at address ever wrote to the instance.
func (l *ledger) hasWritten(ctx context.Context, address normalize.Address) (bool, error) {
	var n int
	err := l.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM gateway_players WHERE address = $1`, string(address)).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("look up %s: %w", address, err)
	}
	return n > 0, nil
}

// sentKeep is how long the ledger maps a sent reply's WhatsApp ID to the gateway's: receipts
// come within days, and a read receipt after weeks changes nothing an agent waits for.
const sentKeep = 30 * 24 * time.Hour

// sending records that waID carries the gateway's message id, before it is sent, so that a
// receipt racing the send's answer finds it.
func (l *ledger) sending(ctx context.Context, waID string, id normalize.MessageID) error {
	now := l.now()
	_, err := l.db.ExecContext(ctx, `INSERT INTO gateway_sent (wa_id, message_id, sent_at) VALUES ($1, $2, $3)
		ON CONFLICT (wa_id) DO UPDATE SET sent_at = excluded.sent_at`, waID, string(id), now.UnixMilli())
	if err != nil {
		return fmt.Errorf("record sent message %s: %w", waID, err)
	}
	return nil
}

// messageOf returns the gateway's message ID that waID carried; "" when the channel sent no
// such message (one sent from the phone itself, or one forgotten after sentKeep).
func (l *ledger) messageOf(ctx context.Context, waID string) (normalize.MessageID, error) {
	var id string
	err := l.db.QueryRowContext(ctx, `SELECT message_id FROM gateway_sent WHERE wa_id = $1`, waID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("look up sent message %s: %w", waID, err)
	}
	return normalize.MessageID(id), nil
}

// prune forgets sent messages older than sentKeep.
func (l *ledger) prune(ctx context.Context) error {
	_, err := l.db.ExecContext(ctx, `DELETE FROM gateway_sent WHERE sent_at < $1`, l.now().Add(-sentKeep).UnixMilli())
	if err != nil {
		return fmt.Errorf("prune sent messages: %w", err)
	}
	return nil
}
