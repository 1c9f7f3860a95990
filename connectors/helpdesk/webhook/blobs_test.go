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

	"github.com/casino-support/gateway/normalize"
)

// memBlobs is an in-memory connectors.Blobs addressed like the real store ("sha256:<hex>").
type memBlobs struct {
	mu   sync.Mutex
	data map[string][]byte
}

func (b *memBlobs) Put(_ context.Context, r io.Reader, name, mediaType string) (normalize.Attachment, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return normalize.Attachment{}, err
	}
	sum := sha256.Sum256(data)
	hexSum := hex.EncodeToString(sum[:])
	b.mu.Lock()
	defer b.mu.Unlock()
	b.data["sha256:"+hexSum] = data
	return normalize.Attachment{Name: name, MediaType: mediaType, Size: int64(len(data)), SHA256: hexSum, BlobRef: "sha256:" + hexSum}, nil
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
