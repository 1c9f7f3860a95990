package gatewayproc

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"

	_ "modernc.org/sqlite" // the store's SQLite driver; gatewayproc.go registers pgx
)

// RecordedSends returns the external IDs the gateway's store recorded for instance (for the
// Telegram channel tg: "chat:message", the IDs its sends returned), read from the SQLite file
// under dataDir or, when postgresDSN is set, from that database. A reply sent twice whose
// earlier copy was never recorded is one a SIGKILL caught between Telegram taking it and the
// gateway's record: what Telegram's API, which takes no idempotency key, leaves possible. A
// copy that was recorded and sent again anyway is a real duplicate.
func RecordedSends(ctx context.Context, dataDir, postgresDSN, instance string) (map[string]bool, error) {
	driver, dsn := "sqlite", "file:"+filepath.Join(dataDir, "gateway.db")+"?mode=ro"
	if postgresDSN != "" {
		driver, dsn = "pgx", postgresDSN
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("open the store to read recorded sends: %w", err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT external_id FROM external_ids WHERE instance = $1`, instance)
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
