package main

import (
	"io"
	"io/fs"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/config"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/store/blobs"
)

// TestDataFilesArePrivate: everything the gateway keeps under data_dir (the store and its
// -wal and -shm, the inbox's database, the web chat's key, attachments) holds players' data
// or secrets, so no file is readable by other users and no directory is open to them,
// whatever the umask.
func TestDataFilesArePrivate(t *testing.T) {
	dir := t.TempDir()
	cfg, err := config.Parse([]byte("data_dir: "+dir+`
channels:
  - {name: web, type: webchat}
helpdesks:
  - {name: inbox, type: inbox}
default_helpdesk: inbox
`), dir, nil, catalog(connectorTypes()))
	require.NoError(t, err)
	g, err := assemble(t.Context(), cfg, "", io.Discard, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(g.close)
	// A message and a file, so that every database has written and the blob store holds one.
	require.NoError(t, g.router.Deliver(t.Context(), normalize.Message{Direction: normalize.Inbound, Source: "web", ExternalID: "m1",
		Channel: "web", ChannelKind: normalize.KindWebchat, Address: "p1", Author: normalize.Author{Role: normalize.RolePlayer}, Text: "hello"}))
	bl, err := blobs.New(cfg.Attachments.Dir, 1<<20)
	require.NoError(t, err)
	_, err = bl.Put(t.Context(), strings.NewReader("%PDF-1.4 passport"), "passport.pdf", "application/pdf")
	require.NoError(t, err)

	var files []string
	require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		info, err := d.Info()
		require.NoError(t, err)
		rel, _ := filepath.Rel(dir, path)
		if d.IsDir() {
			if path != dir {
				require.Zero(t, info.Mode().Perm()&0o007, "directory %s has mode %s", rel, info.Mode().Perm())
			}
			return nil
		}
		files = append(files, rel)
		require.Zero(t, info.Mode().Perm()&0o077, "%s has mode %s", rel, info.Mode().Perm())
		return nil
	}))
	require.Subset(t, files, []string{"gateway.db", "gateway.db-wal", "gateway.db-shm", "inbox.db", "inbox.db-wal", "inbox.db-shm"})
}
