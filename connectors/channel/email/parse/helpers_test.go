package parse

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"sync"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

// memStore is Options.Store keeping files in memory, with the blob store's per-file limit and
// total quota.
type memStore struct {
	maxFile, quota int64
	fail           error // returned by every Put when set

	mu    sync.Mutex
	used  int64
	files map[string][]byte // by BlobRef
}

func newStore(maxFile, quota int64) *memStore {
	return &memStore{maxFile: maxFile, quota: quota, files: map[string][]byte{}}
}

func (s *memStore) Put(_ context.Context, r io.Reader, name, mediaType string) (normalize.Attachment, error) {
	if s.fail != nil {
		return normalize.Attachment{}, s.fail
	}
	data, err := io.ReadAll(io.LimitReader(r, s.maxFile+1))
	if err != nil {
		return normalize.Attachment{}, fmt.Errorf("read: %w", err)
	}
	if int64(len(data)) > s.maxFile {
		return normalize.Attachment{}, fmt.Errorf("%s over %d bytes: %w", name, s.maxFile, connectors.ErrTooLarge)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.quota > 0 && s.used+int64(len(data)) > s.quota {
		return normalize.Attachment{}, fmt.Errorf("store full: %w", connectors.ErrQuota)
	}
	s.used += int64(len(data))
	sum := sha256.Sum256(data)
	ref := "sha256:" + hex.EncodeToString(sum[:])
	s.files[ref] = data
	return normalize.Attachment{Name: name, MediaType: mediaType, Size: int64(len(data)),
		SHA256: hex.EncodeToString(sum[:]), BlobRef: ref}, nil
}

func (s *memStore) content(ref string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.files[ref]
	return b, ok
}
