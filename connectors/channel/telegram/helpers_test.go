package telegram

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/test/telegramfake"
)

const testToken = "123456:SECRET-token_value"

// memBlobs is an in-memory blob store with a size limit.
type memBlobs struct {
	mu    sync.Mutex
	data  map[string][]byte
	limit int64
}

func newMemBlobs() *memBlobs { return &memBlobs{data: map[string][]byte{}, limit: 25 << 20} }

func (b *memBlobs) Put(_ context.Context, r io.Reader, name, mediaType string) (normalize.Attachment, error) {
	data, err := io.ReadAll(io.LimitReader(r, b.limit+1))
	if err != nil {
		return normalize.Attachment{}, err
	}
	if int64(len(data)) > b.limit {
		return normalize.Attachment{}, fmt.Errorf("blob: %w", connectors.ErrTooLarge)
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
	d, ok := b.data[ref]
	if !ok {
		return nil, fmt.Errorf("blob %s: %w", ref, connectors.ErrNotFound)
	}
	return io.NopCloser(bytes.NewReader(d)), nil
}

// dedupSink stores messages once per ExternalID, like the store, and records every call.
type dedupSink struct {
	mu    sync.Mutex
	seen  map[normalize.ExternalID]bool
	msgs  []normalize.Message
	calls int
	fail  int // fail the next fail calls
	err   error
}

func newSink() *dedupSink { return &dedupSink{seen: map[normalize.ExternalID]bool{}} }

func (s *dedupSink) Deliver(_ context.Context, msgs ...normalize.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.fail > 0 {
		s.fail--
		return errors.New("store unavailable")
	}
	if s.err != nil {
		return s.err
	}
	for _, m := range msgs {
		if !s.seen[m.ExternalID] {
			s.seen[m.ExternalID] = true
			s.msgs = append(s.msgs, m)
		}
	}
	return nil
}

func (s *dedupSink) messages() []normalize.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]normalize.Message(nil), s.msgs...)
}

func (s *dedupSink) callCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// env is a channel talking to a fake Bot API.
type env struct {
	fake  *telegramfake.Server
	srv   *httptest.Server
	ch    *Channel
	blobs *memBlobs
}

func testConfig() Config {
	return Config{
		Token: testToken, Mode: "polling", AllowedUpdates: []string{"message", "edited_message"},
		Greetings:   map[string]string{"en": "Hello! How can we help?", "de": "Hallo! Wie können wir helfen?"},
		PollTimeout: time.Second,
	}
}

func newEnv(t *testing.T, mutate func(*Config)) *env {
	t.Helper()
	fake := telegramfake.New(testToken)
	srv := httptest.NewServer(fake)
	t.Cleanup(func() { fake.Close(); srv.Close() })
	cfg := testConfig()
	cfg.APIURL = srv.URL
	if mutate != nil {
		mutate(&cfg)
	}
	blobs := newMemBlobs()
	ch, err := New("tg", cfg, Deps{Blobs: blobs, Client: srv.Client(), PublicURL: "http://gateway.test"})
	require.NoError(t, err)
	ch.backoff = 10 * time.Millisecond
	ch.perChat = newChatLimiters(rate.Inf, 1) // rate limiting has its own test
	return &env{fake: fake, srv: srv, ch: ch, blobs: blobs}
}

// run starts the channel's Run and stops it at cleanup, checking that it returned nil.
func (e *env) run(t *testing.T, sink connectors.Sink) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.ch.Run(ctx, sink) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				require.NoError(t, err)
			case <-time.After(5 * time.Second):
				t.Error("Run did not return after cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func player() *tgbotapi.User {
	return &tgbotapi.User{ID: 5000000001, FirstName: "Ana", LastName: "Silva", LanguageCode: "pt-BR"}
}

func private(id int64) *tgbotapi.Chat { return &tgbotapi.Chat{ID: id, Type: "private"} }

// msg is a private text message from player() in chat 5000000001.
func msg(text string) *tgbotapi.Message {
	return &tgbotapi.Message{From: player(), Chat: private(5000000001), Date: 1700000000, Text: text}
}

func waitMessages(t *testing.T, s *dedupSink, n int) []normalize.Message {
	t.Helper()
	require.Eventually(t, func() bool { return len(s.messages()) >= n }, 5*time.Second, 5*time.Millisecond,
		"want %d messages in the sink", n)
	return s.messages()
}
