package webhook_test

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

// memBlobs is an in-memory connectors.Blobs addressed like the real store ("sha256:<hex>"),
// which refuses content over max like the real store does.
type memBlobs struct {
	mu   sync.Mutex
	max  int64
	data map[string][]byte
}

func newMemBlobs(limit int64) *memBlobs {
	return &memBlobs{max: limit, data: map[string][]byte{}}
}

func (b *memBlobs) Put(_ context.Context, r io.Reader, name, mediaType string) (normalize.Attachment, error) {
	data, err := io.ReadAll(io.LimitReader(r, b.maxBytes()+1))
	if err != nil {
		return normalize.Attachment{}, err
	}
	if int64(len(data)) > b.maxBytes() {
		return normalize.Attachment{}, fmt.Errorf("blob %q over %d bytes: %w", name, b.maxBytes(), connectors.ErrTooLarge)
	}
	sum := sha256.Sum256(data)
	hexSum := hex.EncodeToString(sum[:])
	b.mu.Lock()
	defer b.mu.Unlock()
	b.data["sha256:"+hexSum] = data
	return normalize.Attachment{Name: name, MediaType: mediaType, Size: int64(len(data)), SHA256: hexSum, BlobRef: "sha256:" + hexSum}, nil
}

func (b *memBlobs) maxBytes() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.max
}

// setMax changes the limit, as a store configured apart from the helpdesk would have it.
func (b *memBlobs) setMax(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.max = n
}

// get returns what is stored under ref.
func (b *memBlobs) get(ref string) ([]byte, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	data, ok := b.data[ref]
	return data, ok
}

// contents returns a copy of what is stored, by reference.
func (b *memBlobs) contents() map[string][]byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make(map[string][]byte, len(b.data))
	for ref, data := range b.data {
		out[ref] = append([]byte(nil), data...)
	}
	return out
}

func (b *memBlobs) Open(_ context.Context, ref string) (io.ReadCloser, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	data, ok := b.data[ref]
	if !ok {
		return nil, fmt.Errorf("blob %s: %w", ref, os.ErrNotExist)
	}
	return io.NopCloser(bytes.NewReader(data)), nil
}
