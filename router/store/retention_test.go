package store_test

import (
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/store"
)

// TestRetentionMigrationKnowsEarlierAttachments: retention removes attachment content that no
// message references, so the messages stored before the store kept references must have
// theirs recorded when it is upgraded, or their files would be removed as unreferenced.
func TestRetentionMigrationKnowsEarlierAttachments(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "gw.db")
	// The database as the version before retention left it.
	db, err := sql.Open("sqlite", "file:"+path)
	require.NoError(t, err)
	for i, f := range []string{"migrations/sqlite/0001_init.sql", "migrations/sqlite/0002_metadata.sql"} {
		body, err := os.ReadFile(f)
		require.NoError(t, err)
		_, err = db.ExecContext(ctx, string(body))
		require.NoError(t, err, f)
		if i == 0 {
			_, err = db.ExecContext(ctx, `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`)
			require.NoError(t, err)
		}
		_, err = db.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)`, i+1)
		require.NoError(t, err)
	}
	_, err = db.ExecContext(ctx, `INSERT INTO conversations (id, channel, channel_kind, address, helpdesk, status, priority, created_at, updated_at)
		VALUES ('c1', 'chat', 'loopback', 'p1', 'desk', 'closed', 'normal', 1, 1)`)
	require.NoError(t, err)
	messages := []normalize.Message{
		{ID: "m1", Kind: normalize.KindText, Text: "no file"},
		{ID: "m2", Kind: normalize.KindDocument, Attachments: []normalize.Attachment{{Name: "a.pdf", BlobRef: "sha256:a"}, {Name: "b.pdf", BlobRef: "sha256:b"}}},
		{ID: "m3", Kind: normalize.KindDocument, Attachments: []normalize.Attachment{{Name: "a.pdf", BlobRef: "sha256:a"}, {Name: "lost.pdf"}}},
	}
	for i, m := range messages {
		body, err := json.Marshal(m)
		require.NoError(t, err)
		// As the store writes it: the JSON as a blob.
		_, err = db.ExecContext(ctx, `INSERT INTO messages (id, conversation_id, direction, state, body, created_at) VALUES (?, 'c1', 'inbound', 'sent', ?, ?)`,
			m.ID, body, i+1)
		require.NoError(t, err)
	}
	require.NoError(t, db.Close())

	st, err := store.OpenSQLite(ctx, path, store.Options{})
	require.NoError(t, err, "OpenSQLite() upgrades the database")
	t.Cleanup(func() { st.Close() })
	got, err := st.ReferencedBlobs(ctx, []string{"sha256:a", "sha256:b", "sha256:c", ""})
	require.NoError(t, err)
	require.Equal(t, map[string]bool{"sha256:a": true, "sha256:b": true}, got)
}
