package cloud_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/channel/whatsapp/cloud"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/store/blobs"
	"github.com/casino-support/gateway/test/httpfault"
	"github.com/casino-support/gateway/test/whatsappfake"
)

const (
	phoneNumberID = "106540352242922"
	accessToken   = "EAAG-test-access-token"
	appSecret     = "test-app-secret"
	verifyToken   = "test-verify-token"
)

// env is one channel, the fake Cloud API it talks to (with a fault injector between them),
// and the server its webhook is mounted on.
type env struct {
	fake   *whatsappfake.Server
	ch     *cloud.Channel
	faults *httpfault.Transport
	blobs  *blobs.Dir
	hook   string // the webhook's URL
}

// newEnv starts a fake and a channel of cfg (phone number, credentials and api_url filled in).
func newEnv(t *testing.T, change func(*cloud.Config), deps ...func(*cloud.Deps)) *env {
	t.Helper()
	fake := whatsappfake.New(whatsappfake.Options{PhoneNumberID: phoneNumberID, AccessToken: accessToken, AppSecret: appSecret})
	api := httptest.NewServer(fake)
	mux := http.NewServeMux()
	hooks := httptest.NewServer(mux)
	t.Cleanup(func() { hooks.Close(); api.Close() })

	store, err := blobs.New(t.TempDir(), 1<<20)
	require.NoError(t, err)
	client, faults := httpfault.Wrap(api.Client())
	faults.Body = whatsappfake.ErrorBody
	cfg := *cloud.DefaultConfig()
	cfg.PhoneNumberID, cfg.AccessToken, cfg.AppSecret, cfg.VerifyToken, cfg.APIURL = phoneNumberID, accessToken, appSecret, verifyToken, api.URL
	// No pacing: the limiter's pacing is wamsg's, tested there.
	cfg.RateLimit = cloud.RateLimit{GlobalPerSecond: 1000, Burst: 100}
	if change != nil {
		change(&cfg)
	}
	d := cloud.Deps{Blobs: store, Client: client}
	for _, f := range deps {
		f(&d)
	}
	ch, err := cloud.New("wa", cfg, d)
	require.NoError(t, err)
	mux.Handle("/hooks/wa", ch)
	e := &env{fake: fake, ch: ch, faults: faults, blobs: store, hook: hooks.URL + "/hooks/wa"}
	fake.SetHookURL(e.hook)
	return e
}

// nextNumber hands out German mobile numbers no other test uses.
var nextNumber atomic.Int64

func newWaID() string { return fmt.Sprintf("49170%07d", 1000000+nextNumber.Add(1)) }

func address(waID string) normalize.Address { return normalize.Address("+" + waID) }

func waIDOf(a normalize.Address) string { return strings.TrimPrefix(string(a), "+") }

// sink is the router's side for the channel: it stores messages, hears receipts and failures,
// finds replies by wamid, and keeps cursors.
type sink struct {
	mu       sync.Mutex
	msgs     []normalize.Message
	fail     error
	receipts map[normalize.MessageID]normalize.DeliveryState
	failures map[normalize.MessageID]string
	replies  map[normalize.ExternalID]normalize.MessageID // what SentReply finds
	cursors  map[string]string
	health   []error
}

func newSink() *sink {
	return &sink{receipts: map[normalize.MessageID]normalize.DeliveryState{}, failures: map[normalize.MessageID]string{},
		replies: map[normalize.ExternalID]normalize.MessageID{}, cursors: map[string]string{}}
}

func (s *sink) Deliver(_ context.Context, msgs ...normalize.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	s.msgs = append(s.msgs, msgs...)
	return nil
}

func (s *sink) setFail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = err
}

func (s *sink) messages() []normalize.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.msgs)
}

func (s *sink) Receipt(_ context.Context, id normalize.MessageID, state normalize.DeliveryState) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.receipts[id] = state
	return nil
}

func (s *sink) DeliveryFailed(_ context.Context, _ normalize.InstanceName, id normalize.MessageID, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[id] = reason
	return nil
}

func (s *sink) SentReply(_ context.Context, _ normalize.InstanceName, ext normalize.ExternalID) (normalize.MessageID, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := s.replies[ext]; ok {
		return id, nil
	}
	return "", fmt.Errorf("reply %s: %w", ext, connectors.ErrNotFound)
}

func (s *sink) ReportHealth(_ normalize.InstanceName, problem error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.health = append(s.health, problem)
}

func (s *sink) Cursor(_ context.Context, instance normalize.InstanceName, key string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cursors[string(instance)+"/"+key], nil
}

func (s *sink) SetCursor(_ context.Context, instance normalize.InstanceName, key, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cursors[string(instance)+"/"+key] = value
	return nil
}

// run runs e's channel with s until the test ends.
func (e *env) run(t *testing.T, s *sink) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.ch.Run(ctx, s) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	require.Eventually(t, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.health) > 0
	}, 10*time.Second, 5*time.Millisecond, "Run never checked the phone number")
}

// conversation is a conversation with the player at waID.
func conversation(waID string) normalize.Conversation {
	return normalize.Conversation{ID: normalize.NewConversationID(), Channel: "wa", ChannelKind: cloud.Kind, Address: address(waID)}
}

// reply is an agent's reply in conv.
func reply(conv normalize.Conversation, text string) normalize.Message {
	return normalize.Message{ID: normalize.NewMessageID(), Direction: normalize.Outbound, Source: "desk", ExternalID: normalize.ExternalID("r-" + text),
		Conversation: conv.ID, Author: normalize.Author{Role: normalize.RoleAgent}, Kind: normalize.KindText, Text: text}
}

var errStoreDown = errors.New("store down")
