package webhook_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors/helpdesk/webhook"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/test/webhookreceiver"
)

const (
	testSecret = "0123456789abcdef-test-secret"
	testToken  = "api-token-for-tests"
	testName   = "tickets"
	// testMaxAttachment is the helpdesk's and the blob store's limit in tests: small, so
	// bodies over it stay cheap to send.
	testMaxAttachment = 64 << 10
)

// oversized pads a JSON field well past the body limit the test helpdesk derives from
// testMaxAttachment.
var oversized = strings.Repeat("x", 2<<20)

// clock is a settable time source shared by the connector and the receiver.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.t.IsZero() {
		return time.Now()
	}
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// env is a webhook helpdesk wired to a test receiver (the operator) and served, behind a
// contract-validating middleware, like the gateway serves it.
type env struct {
	hd       *webhook.Helpdesk
	recv     *webhookreceiver.Receiver
	contract *webhookreceiver.Contract
	gateway  *httptest.Server // the gateway's mux: /hooks/{name}, the API, attachments
	blobs    *memBlobs
	clock    *clock
	// malformed marks requests the test sends in violation of the contract on purpose.
	malformed func(*http.Request) bool
}

func loadContract(t *testing.T) *webhookreceiver.Contract {
	t.Helper()
	c, err := webhookreceiver.LoadContract(context.Background(), webhookreceiver.DocPath())
	require.NoError(t, err, "LoadContract()")
	return c
}

func newEnv(t *testing.T, tweak func(*webhook.Config)) *env {
	t.Helper()
	return newEnvDeps(t, tweak, nil)
}

// newEnvDeps is newEnv with the connector's dependencies changed by tweakDeps.
func newEnvDeps(t *testing.T, tweak func(*webhook.Config), tweakDeps func(*webhook.Deps)) *env {
	t.Helper()
	e := &env{contract: loadContract(t), blobs: newMemBlobs(testMaxAttachment), clock: &clock{}}
	e.recv = webhookreceiver.New(e.contract, testSecret, 5*time.Minute)
	operator := httptest.NewServer(e.recv)
	t.Cleanup(operator.Close)

	cfg := webhook.Config{URL: operator.URL + "/gateway-events", Secret: testSecret, APIToken: testToken,
		Timeout: 2 * time.Second, MaxSkew: 5 * time.Minute, AttachmentURLTTL: time.Hour}
	if tweak != nil {
		tweak(&cfg)
	}
	mux := http.NewServeMux()
	e.gateway = httptest.NewServer(e.contract.Validating(mux, func(err error) { t.Errorf("contract: %v", err) },
		func(r *http.Request) bool { return e.malformed != nil && e.malformed(r) }))
	t.Cleanup(e.gateway.Close)

	deps := webhook.Deps{Blobs: e.blobs, MaxAttachmentBytes: testMaxAttachment, PublicURL: e.gateway.URL, Now: e.clock.Now}
	if tweakDeps != nil {
		tweakDeps(&deps)
	}
	hd, err := webhook.New(testName, cfg, deps)
	require.NoError(t, err, "New()")
	e.hd = hd
	// The gateway's own patterns beside Mount's, as cmd/gateway registers them: Mount must not
	// conflict with them (ServeMux panics on conflicts).
	mux.HandleFunc("/hooks/{instance}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("instance") != testName {
			http.NotFound(w, r)
			return
		}
		hd.ServeHTTP(w, r)
	})
	mux.Handle("/api/v1/", http.NotFoundHandler())
	hd.Mount(mux)
	t.Cleanup(func() {
		for _, err := range e.recv.Errors() {
			t.Errorf("receiver: %v", err)
		}
	})
	return e
}

// conversation returns a conversation without ticket and n inbound deliveries of it.
func conversation(n int) (normalize.Conversation, []normalize.Message) {
	now := time.Now().UTC().Truncate(time.Second)
	conv := normalize.Conversation{ID: normalize.NewConversationID(), Channel: "tg-main", ChannelKind: normalize.KindTelegram,
		Address: "42", Helpdesk: testName, Status: normalize.StatusOpen, Priority: normalize.PriorityHigh, Language: "de",
		Tags:   []string{"withdrawal"},
		Player: normalize.Author{Role: normalize.RolePlayer, DisplayName: "Max", Language: "de", PlayerID: "P-4711", VIPTier: 3}}
	msgs := make([]normalize.Message, n)
	for i := range msgs {
		msgs[i] = normalize.Message{ID: normalize.NewMessageID(), Direction: normalize.Inbound, Source: "tg-main",
			ExternalID: normalize.ExternalID("tg-" + string(rune('a'+i))), Conversation: conv.ID, Channel: conv.Channel,
			ChannelKind: conv.ChannelKind, Address: conv.Address, Author: conv.Player, Kind: normalize.KindText,
			Text: "message " + string(rune('a'+i)), SentAt: now, ReceivedAt: now}
	}
	return conv, msgs
}
