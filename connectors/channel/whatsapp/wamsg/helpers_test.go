package wamsg

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

// memBlobs is an in-memory blob store with a size limit, a quota and a switch to fail.
type memBlobs struct {
	mu    sync.Mutex
	data  map[string][]byte
	limit int64
	quota bool  // every Put fails with ErrQuota
	fail  error // every Put fails with this
}

func newMemBlobs() *memBlobs { return &memBlobs{data: map[string][]byte{}, limit: 1 << 20} }

func (b *memBlobs) Put(_ context.Context, r io.Reader, name, mediaType string) (normalize.Attachment, error) {
	if b.fail != nil {
		return normalize.Attachment{}, b.fail
	}
	data, err := io.ReadAll(io.LimitReader(r, b.limit+1))
	if err != nil {
		return normalize.Attachment{}, fmt.Errorf("blobs: read: %w", err)
	}
	if int64(len(data)) > b.limit {
		return normalize.Attachment{}, fmt.Errorf("blobs: %s: %w", name, connectors.ErrTooLarge)
	}
	if b.quota {
		return normalize.Attachment{}, fmt.Errorf("blobs: %s: %w", name, connectors.ErrQuota)
	}
	sum := sha256.Sum256(data)
	ref := hex.EncodeToString(sum[:])
	b.mu.Lock()
	b.data[ref] = data
	b.mu.Unlock()
	return normalize.Attachment{Name: name, MediaType: mediaType, Size: int64(len(data)), SHA256: ref, BlobRef: ref}, nil
}

func (b *memBlobs) Open(_ context.Context, ref string) (io.ReadCloser, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	data, ok := b.data[ref]
	if !ok {
		return nil, fmt.Errorf("blobs: %s: %w", ref, connectors.ErrNotFound)
	}
	return io.NopCloser(bytes.NewReader(data)), nil
}

func (b *memBlobs) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.data)
}

// fetcher serves content after failing the first failures calls with err.
type fetcher struct {
	mu       sync.Mutex
	content  []byte
	failures int
	err      error
	calls    int
	midway   bool // fail while reading rather than on opening
}

func (f *fetcher) fetch(context.Context) (io.ReadCloser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.calls <= f.failures {
		if f.midway {
			return io.NopCloser(io.MultiReader(bytes.NewReader(f.content[:len(f.content)/2]), errReader{f.err})), nil
		}
		return nil, f.err
	}
	return io.NopCloser(bytes.NewReader(f.content)), nil
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

var errReset = errors.New("connection reset by peer")
