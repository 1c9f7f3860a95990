package telegram_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/channel/telegram"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/store/blobs"
	"github.com/casino-support/gateway/test/conformance"
	"github.com/casino-support/gateway/test/httpfault"
	"github.com/casino-support/gateway/test/telegramfake"
)

const (
	conformanceToken  = "654321:conformance-Token_1"
	conformanceSecret = "conformance_Hook-secret"
)

// TestChannelConformance runs the router's promises against the channel and the fake Bot API
// in both ways Telegram delivers updates. The channel is built through its public API, so
// the suite sees what the gateway runs, except for two waits no suite test may sit out in
// real time: the back-off after a failed poll or delivery (SetBackoff), so that a redelivery
// after the suite's failing sink takes milliseconds, and the pacing of messages to one chat
// (SetChatInterval), one a second in production, which send_test.go checks. Its Bot API client passes through a fault
// injector answering in the Bot API's error format, so the suite's faults meet sendMessage
// on the channel's own wire.
func TestChannelConformance(t *testing.T) {
	for _, mode := range []string{"polling", "webhook"} {
		t.Run(mode, func(t *testing.T) {
			var envs conformance.PerTest[*conformanceEnv]
			conformance.RunChannel(t, conformance.ChannelHarness{
				New: func(t *testing.T) connectors.Channel {
					env := newConformanceEnv(t, mode)
					envs.Put(t, env)
					return env.ch
				},
				PlayerSends: func(t *testing.T, _ connectors.Channel, address normalize.Address, externalID, text string) error {
					return envs.Get(t).playerSends(address, externalID, text)
				},
				Received: func(t *testing.T, address normalize.Address) []string {
					var texts []string
					for _, m := range envs.Get(t).fake.Sent(chatID(t, address)) {
						texts = append(texts, m.Text)
					}
					return texts
				},
				// sendMessage takes no idempotency key: a repeated Send is a second message.
				Idempotent: false,
				NewAddress: func(*testing.T) normalize.Address {
					return normalize.Address(strconv.FormatInt(nextChat.Add(1), 10))
				},
				ExternalIDOf: func(t *testing.T, address normalize.Address, externalID string) normalize.ExternalID {
					return envs.Get(t).externalID(t, address, externalID)
				},
				// An update is handed over once Telegram has it confirmed: by the offset of a
				// later getUpdates, or by a 2xx answer to its webhook push.
				Acknowledged: func(t *testing.T, _ normalize.Address, externalID string) bool {
					return envs.Get(t).confirmed(externalID)
				},
				FailSend: func(t *testing.T, f httpfault.Fault) {
					envs.Get(t).faults.Next(botMethod("sendMessage"), f)
				},
				// Telegram answers 403 to a bot the player blocked: no retry reaches them.
				Overrides: map[int]conformance.ErrorClass{http.StatusForbidden: conformance.Permanent},
			})
		})
	}
}

// nextChat hands out private chat IDs; Telegram's user and private chat IDs are positive.
var nextChat atomic.Int64

func init() { nextChat.Store(7000000000) }

// conformanceEnv is one channel, the fake it talks to, the fault injector between them, and
// the IDs the fake gave the suite's messages.
type conformanceEnv struct {
	fake   *telegramfake.Server
	ch     *telegram.Channel
	faults *httpfault.Transport

	mu      sync.Mutex
	ids     map[string]int // the suite's name of a message -> its Telegram message_id
	updates map[string]int // the suite's name of a message -> the update that last carried it
}

// botMethod picks the Bot API calls of method.
func botMethod(method string) httpfault.Match {
	return func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/"+method) }
}

func newConformanceEnv(t *testing.T, mode string) *conformanceEnv {
	t.Helper()
	fake := telegramfake.New(conformanceToken)
	api := httptest.NewServer(fake)
	// The gateway mounts webhook handlers at /hooks/{name}; the mux lets the channel, which
	// needs the hooks' URL to be built, be mounted after the server started.
	mux := http.NewServeMux()
	hooks := httptest.NewServer(mux)
	t.Cleanup(func() { fake.Close(); hooks.Close(); api.Close() })

	store, err := blobs.New(t.TempDir(), 25<<20)
	require.NoError(t, err)
	client, faults := httpfault.Wrap(api.Client())
	faults.Body = telegramfake.ErrorBody
	cfg := telegram.Config{
		Token: conformanceToken, Mode: mode, APIURL: api.URL,
		AllowedUpdates: []string{"message", "edited_message"},
		Greetings:      map[string]string{"en": "Hi! How can we help you today?"},
		WebhookSecret:  conformanceSecret,
		PollTimeout:    time.Second,
	}
	ch, err := telegram.New("tg", cfg, telegram.Deps{Blobs: store, Client: client, PublicURL: hooks.URL})
	require.NoError(t, err)
	telegram.SetBackoff(ch, 20*time.Millisecond)
	telegram.SetChatInterval(ch, 20*time.Millisecond)
	mux.Handle("/hooks/tg", ch)
	return &conformanceEnv{fake: fake, ch: ch, faults: faults, ids: map[string]int{}, updates: map[string]int{}}
}

// playerSends queues the player's message as an update. The first call for externalID lets
// the fake number the message in its chat, as Telegram does; a later one queues the same
// message again, as Telegram resends an update the bot did not confirm.
func (e *conformanceEnv) playerSends(address normalize.Address, externalID, text string) error {
	chat, err := strconv.ParseInt(string(address), 10, 64)
	if err != nil {
		return fmt.Errorf("address %q is not a chat ID: %w", address, err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	m := &tgbotapi.Message{
		MessageID: e.ids[externalID], // zero the first time: the fake assigns it
		From:      &tgbotapi.User{ID: chat, FirstName: "Conformance", LanguageCode: "en"},
		Chat:      &tgbotapi.Chat{ID: chat, Type: "private"},
		Date:      int(time.Now().Unix()),
		Text:      text,
	}
	e.updates[externalID] = e.fake.AddUpdate(tgbotapi.Update{Message: m})
	e.ids[externalID] = m.MessageID
	return nil
}

// confirmed reports whether Telegram has the update that last carried the message the suite
// named externalID confirmed, so it will not send it again.
func (e *conformanceEnv) confirmed(externalID string) bool {
	e.mu.Lock()
	id := e.updates[externalID]
	e.mu.Unlock()
	return e.fake.Confirmed(id)
}

// externalID is the ID the channel reports for the message the suite named externalID:
// Telegram counts message IDs per chat, so the channel's IDs are "<chat_id>:<message_id>".
func (e *conformanceEnv) externalID(t *testing.T, address normalize.Address, externalID string) normalize.ExternalID {
	e.mu.Lock()
	defer e.mu.Unlock()
	id, ok := e.ids[externalID]
	require.True(t, ok, "harness: the player never sent %s", externalID)
	return normalize.ExternalID(fmt.Sprintf("%s:%d", address, id))
}

func chatID(t *testing.T, address normalize.Address) int64 {
	t.Helper()
	id, err := strconv.ParseInt(string(address), 10, 64)
	require.NoError(t, err, "address %q is not a chat ID", address)
	return id
}
