package blobs_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
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

// syncRecorder stands in for the directory sync. Besides the directory it notes what the
// directory held at that moment, which shows the sync came after the entry it must make
// durable (the renamed file, the new fan-out directory).
type syncRecorder struct {
	t      *testing.T
	root   string
	fail   string // a directory, relative to root, whose sync fails
	synced []string
	held   []map[string]bool
}

var errSync = errors.New("injected sync failure")

func (s *syncRecorder) sync(path string) error {
	rel, err := filepath.Rel(s.root, path)
	require.NoError(s.t, err)
	entries, err := os.ReadDir(path)
	require.NoError(s.t, err)
	names := map[string]bool{}
	for _, e := range entries {
		names[e.Name()] = true
	}
	s.synced = append(s.synced, rel)
	s.held = append(s.held, names)
	if rel == s.fail {
		return fmt.Errorf("sync %s: %w", path, errSync)
	}
	return nil
}

func TestPutSyncsDirectories(t *testing.T) {
	// "root" and "fan" in want stand for the root and for the fan-out directory of the step's
	// content; a and b are chosen to land in different fan-out directories.
	const a, b = "passport scan", "utility bill"
	type step struct {
		content string
		restart bool   // open a new Dir over the same root first, as a restarted gateway does
		fail    string // "root" or "fan": that sync fails
		wantErr bool
		want    []string
	}
	sa, sb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	require.NotEqual(t, sa[0], sb[0], "a and b must use different fan-out directories")
	tests := []struct {
		name  string
		steps []step
	}{
		{"a new fan-out directory is synced into root, the file into it", []step{
			{content: a, want: []string{"root", "fan"}},
		}},
		{"identical content syncs its directory again but not root", []step{
			{content: a, want: []string{"root", "fan"}},
			{content: a, want: []string{"fan"}},
		}},
		{"each new fan-out directory is synced into root", []step{
			{content: a, want: []string{"root", "fan"}},
			{content: b, want: []string{"root", "fan"}},
		}},
		{"a fan-out directory from before a restart is synced into root once more", []step{
			{content: a, want: []string{"root", "fan"}},
			{content: a, restart: true, want: []string{"root", "fan"}},
			{content: a, want: []string{"fan"}},
		}},
		{"a failed sync after the rename fails the Put and the retry syncs again", []step{
			{content: a, fail: "fan", wantErr: true, want: []string{"root", "fan"}},
			{content: a, want: []string{"fan"}},
		}},
		{"a failed sync of root fails the Put before the rename and the retry syncs root", []step{
			{content: a, fail: "root", wantErr: true, want: []string{"root"}},
			{content: a, want: []string{"root", "fan"}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			root := t.TempDir()
			rec := &syncRecorder{t: t, root: root}
			d, err := blobs.NewWithSync(root, 1024, rec.sync)
			require.NoError(t, err)
			for i, st := range tt.steps {
				if st.restart {
					d, err = blobs.NewWithSync(root, 1024, rec.sync)
					require.NoError(t, err)
				}
				sum := sha256.Sum256([]byte(st.content))
				hexSum := hex.EncodeToString(sum[:])
				fan := hexSum[:2]
				rels := map[string]string{"root": ".", "fan": fan, "": ""}
				rec.fail, rec.synced, rec.held = rels[st.fail], nil, nil

				att, err := d.Put(ctx, strings.NewReader(st.content), "doc.pdf", "application/pdf")

				want := make([]string, len(st.want))
				for j, w := range st.want {
					want[j] = rels[w]
				}
				require.Equal(t, want, rec.synced, "step %d", i)
				for j, dir := range rec.synced {
					entry := fan // root's entry for the fan-out directory
					if dir == fan {
						entry = hexSum
					}
					require.True(t, rec.held[j][entry], "step %d: %s synced before %s was in it", i, dir, entry)
				}
				tmp, rerr := os.ReadDir(filepath.Join(root, "tmp"))
				require.NoError(t, rerr)
				require.Empty(t, tmp, "step %d: temporary files left behind", i)
				if st.wantErr {
					require.ErrorIs(t, err, errSync, "step %d", i)
					require.ErrorContains(t, err, "doc.pdf", "step %d", i)
					_, serr := os.Stat(filepath.Join(root, fan, hexSum))
					if st.fail == "root" {
						require.ErrorIs(t, serr, os.ErrNotExist, "step %d: renamed before root was synced", i)
					} else {
						// Kept on purpose: it may be the copy an earlier Put reported durable.
						require.NoError(t, serr, "step %d", i)
					}
					continue
				}
				require.NoError(t, err, "step %d", i)
				require.Equal(t, "sha256:"+hexSum, att.BlobRef)
				r, err := d.Open(ctx, att.BlobRef)
				require.NoError(t, err)
				got, err := io.ReadAll(r)
				require.NoError(t, err)
				require.NoError(t, r.Close())
				require.Equal(t, st.content, string(got))
			}
		})
	}
}

func TestNewSyncsTheDirectoriesItCreates(t *testing.T) {
	tests := []struct {
		name    string
		root    string // relative to a temporary directory
		fail    string // a directory, relative to the temporary one, whose sync fails
		wantErr bool
		want    []string
	}{
		{name: "an existing root needs no sync", root: ".", want: nil},
		{name: "a new root is synced into its parent", root: "blobs", want: []string{"."}},
		{name: "new parents are synced into theirs", root: "a/b/blobs", want: []string{"a/b", "a", "."}},
		{name: "a failed sync fails New", root: "a/blobs", fail: "a", wantErr: true, want: []string{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := t.TempDir()
			rec := &syncRecorder{t: t, root: base, fail: tt.fail}
			_, err := blobs.NewWithSync(filepath.Join(base, tt.root), 1024, rec.sync)
			require.Equal(t, tt.want, rec.synced)
			for j, dir := range rec.synced {
				child, err := filepath.Rel(dir, tt.root)
				require.NoError(t, err)
				first := strings.Split(child, string(filepath.Separator))[0]
				require.True(t, rec.held[j][first], "%s synced before %s was in it", dir, first)
			}
			if tt.wantErr {
				require.ErrorIs(t, err, errSync)
				return
			}
			require.NoError(t, err)
		})
	}
}

func TestSyncDir(t *testing.T) {
	tests := []struct {
		name    string
		path    func(dir string) string
		wantErr error
	}{
		{"a real directory", func(dir string) string { return dir }, nil},
		{"a missing directory", func(dir string) string { return filepath.Join(dir, "missing") }, os.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.path(t.TempDir())
			err := blobs.SyncDir(path)
			if tt.wantErr == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.wantErr)
			require.ErrorContains(t, err, path)
		})
	}
}
