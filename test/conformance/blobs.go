package conformance

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

// MemBlobs is an in-memory connectors.Blobs addressed like the gateway's blob store
// ("sha256:<hex>"), for harnesses whose helpdesk needs one (HelpdeskHarness.Blobs). The zero
// value is ready and takes content of any size; it is safe for concurrent use.
type MemBlobs struct {
	mu   sync.Mutex
	data map[string][]byte
}

var _ connectors.Blobs = (*MemBlobs)(nil)

// Put stores the content of r under its digest.
func (b *MemBlobs) Put(_ context.Context, r io.Reader, name, mediaType string) (normalize.Attachment, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return normalize.Attachment{}, fmt.Errorf("conformance blobs: read %q: %w", name, err)
	}
	sum := sha256.Sum256(data)
	digest := hex.EncodeToString(sum[:])
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.data == nil {
		b.data = map[string][]byte{}
	}
	b.data["sha256:"+digest] = data
	return normalize.Attachment{Name: name, MediaType: mediaType, Size: int64(len(data)), SHA256: digest, BlobRef: "sha256:" + digest}, nil
}

// Open returns the content stored under ref; an unknown ref wraps os.ErrNotExist.
func (b *MemBlobs) Open(_ context.Context, ref string) (io.ReadCloser, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	data, ok := b.data[ref]
	if !ok {
		return nil, fmt.Errorf("conformance blobs: %s: %w", ref, os.ErrNotExist)
	}
	return io.NopCloser(bytes.NewReader(data)), nil
}
