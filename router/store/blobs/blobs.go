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

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

// Dir is a content-addressed blob store in a directory.
type Dir struct {
	root     string
	maxBytes int64
}

var _ connectors.Blobs = (*Dir)(nil)

// refPattern is what a reference looks like: the digest and nothing that could leave root.
var refPattern = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// New returns a store in root that refuses content over maxBytes.
func New(root string, maxBytes int64) (*Dir, error) {
	if err := os.MkdirAll(filepath.Join(root, "tmp"), 0o750); err != nil {
		return nil, fmt.Errorf("blobs: create %s: %w", root, err)
	}
	return &Dir{root: root, maxBytes: maxBytes}, nil
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
	if err := os.MkdirAll(filepath.Dir(final), 0o750); err != nil {
		return normalize.Attachment{}, fmt.Errorf("blobs: %w", err)
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
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

func (d *Dir) path(sum string) string { return filepath.Join(d.root, sum[:2], sum) }
