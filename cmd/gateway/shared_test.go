package main

import (
	"bytes"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/config"
	"github.com/casino-support/gateway/router/store"
	"github.com/casino-support/gateway/router/store/blobs"
	"github.com/casino-support/gateway/router/store/pgtest"
)

// TestInboxOnPostgres: with store.driver postgres the inbox keeps its agents in that database
// (gateway inbox-password writes there, and no SQLite file of the inbox appears), and a
// second inbox is refused, as both would share one set of tables.
func TestInboxOnPostgres(t *testing.T) {
	dsn := pgtest.DSN(t)
	dataDir := t.TempDir()
	config := func(inboxes ...string) string {
		path := filepath.Join(t.TempDir(), "gateway.yaml")
		var desks strings.Builder
		for _, name := range inboxes {
			fmt.Fprintf(&desks, "  - {name: %s, type: inbox, path: /%s}\n", name, name)
		}
		body := fmt.Sprintf("data_dir: %q\nstore:\n  driver: postgres\n  dsn: %q\nchannels:\n"+
			"  - {name: chat, type: loopback, send_url: \"http://127.0.0.1:9/send\"}\nhelpdesks:\n%sdefault_helpdesk: %s\n",
			dataDir, dsn, desks.String(), inboxes[0])
		require.NoError(t, os.WriteFile(path, []byte(body), 0o600))
		return path
	}
	setPassword := func(path string) (int, string) {
		var stdout, stderr bytes.Buffer
		code := run(t.Context(), []string{"inbox-password", "--config", path, "--user", "bob", "--helpdesk", "desk", "--password-stdin"},
			strings.NewReader("a long enough password\n"), &stdout, &stderr)
		return code, stderr.String()
	}

	code, stderr := setPassword(config("desk"))
	require.Equal(t, 0, code, stderr)
	db, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	defer db.Close()
	var hash string
	require.NoError(t, db.QueryRowContext(t.Context(), `SELECT password_hash FROM agents WHERE name = 'bob'`).Scan(&hash))
	require.True(t, strings.HasPrefix(hash, "$2"), hash)
	files, err := filepath.Glob(filepath.Join(dataDir, "*.db"))
	require.NoError(t, err)
	require.Empty(t, files, "no inbox file beside the shared database")

	path := config("desk", "other")
	code, stderr = setPassword(path)
	require.NotEqual(t, 0, code)
	require.Contains(t, stderr, "one inbox")
}

// TestAttachmentsOnPostgres: with store.driver postgres attachments go into the database, so
// that every replica serves them; on SQLite they stay in attachments.dir.
func TestAttachmentsOnPostgres(t *testing.T) {
	cfg := &config.Config{Attachments: config.Attachments{Dir: t.TempDir(), MaxBytes: 1 << 20}}
	onDisk, err := openBlobs(cfg, nil, prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	require.IsType(t, &blobs.Dir{}, onDisk)

	dsn := pgtest.DSN(t)
	st, err := store.OpenPostgres(t.Context(), dsn, store.Options{})
	require.NoError(t, err)
	defer st.Close()
	db, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	defer db.Close()
	inDB, err := openBlobs(cfg, db, prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	a, err := inDB.Put(t.Context(), strings.NewReader("kyc scan"), "scan.txt", "text/plain")
	require.NoError(t, err)
	var size int64
	require.NoError(t, db.QueryRowContext(t.Context(), `SELECT size FROM blobs WHERE sum = $1`, a.SHA256).Scan(&size))
	require.Equal(t, int64(len("kyc scan")), size)
}
