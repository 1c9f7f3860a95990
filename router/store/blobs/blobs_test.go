package blobs_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/router/store/blobs"
)

func TestPutOpenRoundTripAndDedup(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	d, err := blobs.New(root, 1024)
	require.NoError(t, err)
	content := "%PDF-1.4 passport scan"
	a, err := d.Put(ctx, strings.NewReader(content), "passport.pdf", "application/pdf")
	require.NoError(t, err)
	sum := sha256.Sum256([]byte(content))
	require.Equal(t, hex.EncodeToString(sum[:]), a.SHA256)
	require.Equal(t, "sha256:"+a.SHA256, a.BlobRef)
	require.Equal(t, int64(len(content)), a.Size)
	require.Equal(t, "passport.pdf", a.Name)

	again, err := d.Put(ctx, strings.NewReader(content), "copy.pdf", "application/pdf")
	require.NoError(t, err)
	require.Equal(t, a.BlobRef, again.BlobRef)

	r, err := d.Open(ctx, a.BlobRef)
	require.NoError(t, err)
	defer r.Close()
	got, err := io.ReadAll(r)
	require.NoError(t, err)
	require.Equal(t, content, string(got))
	tmp, err := os.ReadDir(filepath.Join(root, "tmp"))
	require.NoError(t, err)
	require.Empty(t, tmp, "temporary files left behind")
}

func TestLimitsAndHostileReferences(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	d, err := blobs.New(root, 10)
	require.NoError(t, err)
	require.Equal(t, int64(10), d.MaxBytes())

	_, err = d.Put(ctx, strings.NewReader("exactly 10"), "ok.txt", "text/plain")
	require.NoError(t, err)
	_, err = d.Put(ctx, strings.NewReader("eleven byte"), "big.txt", "text/plain")
	require.ErrorIs(t, err, connectors.ErrTooLarge)
	tmp, err := os.ReadDir(filepath.Join(root, "tmp"))
	require.NoError(t, err)
	require.Empty(t, tmp, "an oversized upload must not be kept")

	for _, ref := range []string{"", "sha256:../../etc/passwd", "sha256:" + strings.Repeat("A", 64), "md5:abc", "sha256:" + strings.Repeat("0", 63)} {
		_, err := d.Open(ctx, ref)
		require.Error(t, err, "ref %q", ref)
	}
	_, err = d.Open(ctx, "sha256:"+strings.Repeat("0", 64))
	require.ErrorIs(t, err, os.ErrNotExist)
}
