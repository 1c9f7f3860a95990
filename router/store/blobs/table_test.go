package blobs_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/router/store"
	"github.com/casino-support/gateway/router/store/blobs"
	"github.com/casino-support/gateway/router/store/pgtest"
)

// openTables migrates a PostgreSQL schema of t's own with the store and returns n blob
// tables on it, as n replicas have them, with opts and the clock now.
func openTables(t *testing.T, n int, opts blobs.Options) []*blobs.Table {
	t.Helper()
	dsn := pgtest.DSN(t)
	st, err := store.OpenPostgres(t.Context(), dsn, store.Options{})
	require.NoError(t, err)
	require.NoError(t, st.Close())
	var tables []*blobs.Table
	for range n {
		db, err := sql.Open("pgx", dsn)
		require.NoError(t, err)
		t.Cleanup(func() { db.Close() })
		tb, err := blobs.OpenTable(db, opts)
		require.NoError(t, err)
		tables = append(tables, tb)
	}
	return tables
}

func readAll(t *testing.T, b connectors.Blobs, ref string) []byte {
	t.Helper()
	rc, err := b.Open(t.Context(), ref)
	require.NoError(t, err)
	defer rc.Close()
	got, err := io.ReadAll(rc)
	require.NoError(t, err)
	return got
}

// TestTableAcrossReplicas: content one replica stored, in several chunks, is read whole by
// another; identical content is kept and counted once.
func TestTableAcrossReplicas(t *testing.T) {
	tables := openTables(t, 2, blobs.Options{MaxBytes: 8 << 20})
	a, b := tables[0], tables[1]
	content := make([]byte, 2<<20+12345) // three chunks, the last one short
	rand.Read(content)

	att, err := a.Put(t.Context(), bytes.NewReader(content), "scan.pdf", "application/pdf")
	require.NoError(t, err)
	require.Equal(t, int64(len(content)), att.Size)
	require.Equal(t, "sha256:"+att.SHA256, att.BlobRef)
	require.Equal(t, content, readAll(t, b, att.BlobRef), "read on the other replica")

	again, err := b.Put(t.Context(), bytes.NewReader(content), "copy.pdf", "application/pdf")
	require.NoError(t, err)
	require.Equal(t, att.BlobRef, again.BlobRef)
	used, err := a.Used(t.Context())
	require.NoError(t, err)
	require.Equal(t, int64(len(content)), used, "counted once")

	empty, err := a.Put(t.Context(), strings.NewReader(""), "empty.txt", "text/plain")
	require.NoError(t, err)
	require.Empty(t, readAll(t, b, empty.BlobRef))

	_, err = a.Open(t.Context(), "sha256:"+strings.Repeat("0", 64))
	require.ErrorIs(t, err, os.ErrNotExist)
	_, err = a.Open(t.Context(), "../etc/passwd")
	require.Error(t, err)
}

// TestTableLimits: the limits of the directory store, refusals counted in the same metrics.
func TestTableLimits(t *testing.T) {
	reg := prometheus.NewRegistry()
	tb := openTables(t, 1, blobs.Options{MaxBytes: 1000, Quota: 1500, Registerer: reg})[0]
	_, err := tb.Put(t.Context(), strings.NewReader(strings.Repeat("x", 1001)), "big.bin", "")
	require.ErrorIs(t, err, connectors.ErrTooLarge)

	first, err := tb.Put(t.Context(), strings.NewReader(strings.Repeat("a", 1000)), "a.bin", "")
	require.NoError(t, err)
	_, err = tb.Put(t.Context(), strings.NewReader(strings.Repeat("b", 600)), "b.bin", "")
	require.ErrorIs(t, err, connectors.ErrQuota)
	_, err = tb.Put(t.Context(), strings.NewReader(strings.Repeat("a", 1000)), "again.bin", "")
	require.NoError(t, err, "identical content takes no more room")
	used, err := tb.Used(t.Context())
	require.NoError(t, err)
	require.Equal(t, first.Size, used, "refused content leaves nothing behind")

	require.Equal(t, 1.0, metric(t, reg, "gateway_attachment_refusals_total", map[string]string{"reason": "quota"}))
	require.Equal(t, 1.0, metric(t, reg, "gateway_attachment_refusals_total", map[string]string{"reason": "too_large"}))
	require.Equal(t, 1000.0, metric(t, reg, "gateway_attachments_bytes", nil))
	require.Equal(t, 1500.0, metric(t, reg, "gateway_attachments_quota_bytes", nil))
}

// TestTableCollect: retention removes content no message references once it is older than
// before, and keeps what is referenced or was stored since.
func TestTableCollect(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	tb := openTables(t, 1, blobs.Options{MaxBytes: 4 << 20, Now: clock})[0]
	ctx := context.Background()
	put := func(content string) string {
		a, err := tb.Put(ctx, strings.NewReader(content), "f", "")
		require.NoError(t, err)
		return a.BlobRef
	}
	kept, dropped := put("referenced"), put(strings.Repeat("orphan", 300000)) // two chunks
	now = now.Add(time.Hour)
	recent := put("stored lately")

	referenced := func(_ context.Context, refs []string) (map[string]bool, error) {
		return map[string]bool{kept: true}, nil
	}
	got, err := tb.Collect(ctx, now.Add(-time.Minute), referenced)
	require.NoError(t, err)
	require.Equal(t, blobs.Collected{Files: 1, Bytes: int64(len("orphan") * 300000)}, got)
	_, err = tb.Open(ctx, dropped)
	require.ErrorIs(t, err, os.ErrNotExist)
	require.Equal(t, "referenced", string(readAll(t, tb, kept)))
	require.Equal(t, "stored lately", string(readAll(t, tb, recent)))

	// Stored again after it was dropped: whole again.
	require.Equal(t, dropped, put(strings.Repeat("orphan", 300000)))
	require.Equal(t, strings.Repeat("orphan", 300000), string(readAll(t, tb, dropped)))
}
