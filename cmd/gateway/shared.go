package main

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/prometheus/client_golang/prometheus"

	"github.com/casino-support/gateway/config"
	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/helpdesk/inbox"
	"github.com/casino-support/gateway/router"
	"github.com/casino-support/gateway/router/store/blobs"
)

// openShared connects to the store's PostgreSQL database for what connectors keep beside the
// store (the inbox's agents, sessions and tickets), so that every replica shares it. On
// SQLite it returns nil: one process serves the store, and the inbox keeps its own file.
func openShared(ctx context.Context, cfg *config.Config) (*sql.DB, error) {
	if cfg.Store.Driver != "postgres" {
		return nil, nil
	}
	if n := countInboxes(cfg); n > 1 {
		// Their tables would be one set in the shared database.
		return nil, fmt.Errorf("helpdesks: %d inboxes configured; on store.driver postgres the gateway runs one inbox", n)
	}
	db, err := sql.Open("pgx", cfg.Store.DSN.Value())
	if err != nil {
		return nil, fmt.Errorf("store: postgres: %w", err)
	}
	db.SetMaxOpenConns(8)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: postgres: connect: %w", err)
	}
	return db, nil
}

func countInboxes(cfg *config.Config) int {
	n := 0
	for _, h := range cfg.Helpdesks {
		if _, ok := h.Settings.(*inbox.Config); ok {
			n++
		}
	}
	return n
}

// setInboxPassword sets an agent's password where the gateway keeps box's agents: the shared
// PostgreSQL database, or the inbox's own SQLite file.
func setInboxPassword(ctx context.Context, cfg *config.Config, box *inbox.Config, user, password string) error {
	pg, err := openShared(ctx, cfg)
	if err != nil {
		return err
	}
	if pg == nil {
		return inbox.SetPassword(ctx, box.Database, user, password)
	}
	defer pg.Close()
	return inbox.SetPasswordShared(ctx, pg, user, password)
}

// blobStore is what the gateway needs of the attachment store: connectors put and open
// content, retention collects what no message references.
type blobStore interface {
	connectors.Blobs
	router.BlobCollector
}

// openBlobs returns the attachment store: in the shared PostgreSQL database when there is one,
// so any replica serves any file; else the directory attachments.dir.
func openBlobs(cfg *config.Config, shared *sql.DB, reg prometheus.Registerer, log *slog.Logger) (blobStore, error) {
	opts := blobs.Options{MaxBytes: cfg.Attachments.MaxBytes, Quota: cfg.Attachments.QuotaBytes, Registerer: reg, Log: log}
	if shared != nil {
		return blobs.OpenTable(shared, opts)
	}
	return blobs.Open(cfg.Attachments.Dir, opts)
}
