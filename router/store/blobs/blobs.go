// Package blobs stores attachment content on local disk, addressed by its SHA-256: the same
// KYC document sent twice is kept once, and a reference can be checked against its content.
package blobs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sync"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

// Dir is a content-addressed blob store in a directory.
//
// A Put returns only once the content and the directory entries leading to it are on disk:
// the caller commits a message that points at the blob (SQLite with synchronous=FULL), and
// that message must not outlive the file across a power failure. A renamed file is durable
// only once its directory is fsynced, and a new directory only once its parent is.
type Dir struct {
	root     string
	maxBytes int64
	// syncDir makes a directory's entries durable; tests replace it to see that Put calls it
	// and to make it fail.
	syncDir func(path string) error

	mu sync.Mutex
	// rooted holds the fan-out directories whose entry in root this Dir has synced. It starts
	// empty, so a directory an earlier process made (perhaps crashing before its sync) is
	// synced into root once more before the first file goes into it.
	rooted map[string]bool
}

var _ connectors.Blobs = (*Dir)(nil)

// refPattern is what a reference looks like: the digest and nothing that could leave root.
var refPattern = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// New returns a store in root that refuses content over maxBytes.
func New(root string, maxBytes int64) (*Dir, error) {
	return newDir(root, maxBytes, syncDir)
}

func newDir(root string, maxBytes int64, sync func(path string) error) (*Dir, error) {
	root = filepath.Clean(root)
	// A root made here would vanish with every blob in it if its own entry were lost, so the
	// directories that gain a new entry, from root's parent up to the first that already
	// existed, are synced.
	existing := root
	for {
		if _, err := os.Stat(existing); !errors.Is(err, os.ErrNotExist) {
			break
		}
		parent := filepath.Dir(existing)
		if parent == existing {
			break
		}
		existing = parent
	}
	if err := os.MkdirAll(filepath.Join(root, "tmp"), 0o750); err != nil {
		return nil, fmt.Errorf("blobs: create %s: %w", root, err)
	}
	if existing != root {
		for dir := filepath.Dir(root); ; dir = filepath.Dir(dir) {
			if err := sync(dir); err != nil {
				return nil, fmt.Errorf("blobs: create %s: %w", root, err)
			}
			if dir == existing || dir == filepath.Dir(dir) {
				break
			}
		}
	}
	return &Dir{root: root, maxBytes: maxBytes, syncDir: sync, rooted: map[string]bool{}}, nil
}

// syncDir is the real Dir.syncDir.
func syncDir(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("fsync directory: %w", err)
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("fsync directory: %w", err)
	}
	return nil
}

// Put implements connectors.Blobs.
func (d *Dir) Put(ctx context.Context, r io.Reader, name, mediaType string) (normalize.Attachment, error) {
	tmp, err := os.CreateTemp(filepath.Join(d.root, "tmp"), "put-*")
	if err != nil {
		return normalize.Attachment{}, fmt.Errorf("blobs: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(r, d.maxBytes+1))
	if err == nil && n > d.maxBytes {
		err = fmt.Errorf("blobs: %q is over the limit of %d bytes: %w", name, d.maxBytes, connectors.ErrTooLarge)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return normalize.Attachment{}, fmt.Errorf("blobs: store %q: %w", name, err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	final := d.path(sum)
	fanOut := filepath.Dir(final)
	if err := d.makeFanOut(fanOut); err != nil {
		return normalize.Attachment{}, fmt.Errorf("blobs: store %q: %w", name, err)
	}
	// Identical content is renamed over the existing file rather than skipped, so a Put never
	// trusts a file it finds: the one a Put left behind when its directory sync failed is
	// synced again here before anyone is told it is stored.
	if err := os.Rename(tmp.Name(), final); err != nil {
		return normalize.Attachment{}, fmt.Errorf("blobs: store %q: %w", name, err)
	}
	// A failed sync leaves the renamed file in place: removing it could delete the copy that
	// an earlier or concurrent Put of the same content already reported durable.
	if err := d.syncDir(fanOut); err != nil {
		return normalize.Attachment{}, fmt.Errorf("blobs: store %q: %w", name, err)
	}
	return normalize.Attachment{Name: name, MediaType: mediaType, Size: n, SHA256: sum, BlobRef: "sha256:" + sum}, nil
}

// MaxBytes is the most Put stores: a connector can refuse a file whose size it knows before
// it downloads it.
func (d *Dir) MaxBytes() int64 { return d.maxBytes }

// Open implements connectors.Blobs.
func (d *Dir) Open(ctx context.Context, ref string) (io.ReadCloser, error) {
	if !refPattern.MatchString(ref) {
		return nil, fmt.Errorf("blobs: malformed reference %q", ref)
	}
	f, err := os.Open(d.path(ref[len("sha256:"):]))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("blobs: %s: %w", ref, os.ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("blobs: open %s: %w", ref, err)
	}
	return f, nil
}

// makeFanOut creates dir, a fan-out directory under root, and makes its entry in root durable
// unless this Dir already has.
func (d *Dir) makeFanOut(dir string) error {
	d.mu.Lock()
	done := d.rooted[dir]
	d.mu.Unlock()
	if done {
		return nil
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	// Concurrent Puts may both sync root here; that is harmless, and holding mu across the
	// fsync would make every other Put wait on it.
	if err := d.syncDir(d.root); err != nil {
		return fmt.Errorf("record %s in %s: %w", filepath.Base(dir), d.root, err)
	}
	d.mu.Lock()
	d.rooted[dir] = true
	d.mu.Unlock()
	return nil
}

func (d *Dir) path(sum string) string { return filepath.Join(d.root, sum[:2], sum) }
