package main

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"

	_ "github.com/jackc/pgx/v5/stdlib" // the store's PostgreSQL driver, to read what it recorded
	_ "modernc.org/sqlite"             // the store's SQLite driver
)

// recordedSends returns the Telegram messages the gateway recorded as sent (the external IDs
// of channel tg, "chat:message" as the channel names them) once it stopped. A reply sent
// twice whose first copy was never recorded is one a SIGKILL caught between Telegram taking
// it and the gateway's record: what Telegram's API leaves possible (see Direction.AtKill).
// A copy that was recorded and sent again anyway is a real duplicate.
func recordedSends(ctx context.Context, dataDir, postgresDSN string) (map[string]bool, error) {
	driver, dsn := "sqlite", "file:"+filepath.Join(dataDir, "gateway.db")+"?mode=ro"
	if postgresDSN != "" {
		driver, dsn = "pgx", postgresDSN
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("open the store to read recorded sends: %w", err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT external_id FROM external_ids WHERE instance = 'tg'`)
	if err != nil {
		return nil, fmt.Errorf("read recorded sends: %w", err)
	}
	defer rows.Close()
	recorded := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("read recorded sends: %w", err)
		}
		recorded[id] = true
	}
	return recorded, rows.Err()
}
