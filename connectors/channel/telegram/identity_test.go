package telegram

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
)

const testPlayerSecret = "casino-player-secret-0123456789"

// The vector docs/telegram.md shows; its Go and openssl examples must print this payload.
const (
	docSecret  = "change-me-to-32-random-bytes-please"
	docPayload = "p_184467-3-tqxpc0-J31RuJbXx2ENgGfMMYNZGw"
)

func TestStartPayloadDocumentedVector(t *testing.T) {
	exp := time.Unix(1798761600, 0) // 2027-01-01T00:00:00Z
	got := signStart([]byte(docSecret), playerIdentity{PlayerID: "p_184467", VIP: 3}, exp)
	require.Equal(t, docPayload, got)
	id, err := verifyStart([]byte(docSecret), got, exp.Add(-time.Hour))
	require.NoError(t, err)
	require.Equal(t, playerIdentity{PlayerID: "p_184467", VIP: 3}, id)
}

func TestStartPayloadRoundTripAndLimits(t *testing.T) {
	secret := []byte(testPlayerSecret)
	now := time.Unix(1_800_000_000, 0)
	// The longest identity still fits Telegram's 64 characters, even with an expiry far out.
	longest := playerIdentity{PlayerID: strings.Repeat("Z", 24), VIP: 1000}
	p := signStart(secret, longest, time.Unix(1<<40, 0))
	require.LessOrEqual(t, len(p), 64)
	require.Regexp(t, `^[A-Za-z0-9_-]{1,64}$`, p)
	id, err := verifyStart(secret, p, now)
	require.NoError(t, err)
	require.Equal(t, longest, id)

	// A signature that begins with "-" is cut off by length, not by the separator.
	for i := range 200 {
		id := playerIdentity{PlayerID: "p" + strings.Repeat("1", i%20), VIP: i % 7}
		p := signStart(secret, id, now.Add(time.Duration(i+1)*time.Minute))
		got, err := verifyStart(secret, p, now)
		require.NoError(t, err, p)
		require.Equal(t, id, got)
	}
}

func TestStartPayloadRefusals(t *testing.T) {
	secret := []byte(testPlayerSecret)
	now := time.Unix(1_800_000_000, 0)
	good := signStart(secret, playerIdentity{PlayerID: "p42", VIP: 2}, now.Add(time.Hour))
	sig := good[len(good)-22:]
	tests := map[string]struct {
		payload string
		want    error
	}{
		"empty":              {"", ErrStartMalformed},
		"too long":           {strings.Repeat("a", 65), ErrStartMalformed},
		"promo code":         {"promo42", ErrStartMalformed},
		"no separator":       {strings.Repeat("a", 30), ErrStartMalformed},
		"two fields":         {"p42-" + strings.Repeat("1", 10) + "-" + sig, ErrStartMalformed},
		"bad player id":      {"p.42-2-abc-" + sig, ErrStartMalformed},
		"long player id":     {strings.Repeat("p", 25) + "-2-abc-" + sig, ErrStartMalformed},
		"vip not a number":   {"p42-x-abc-" + sig, ErrStartMalformed},
		"exp upper case":     {"p42-2-ABC-" + sig, ErrStartMalformed},
		"forged player":      {"p43" + good[3:], ErrStartSignature},
		"forged vip":         {strings.Replace(good, "-2-", "-9-", 1), ErrStartSignature},
		"other secret":       {signStart([]byte("another-secret-of-32-bytes-xxxxx"), playerIdentity{PlayerID: "p42"}, now.Add(time.Hour)), ErrStartSignature},
		"expired":            {signStart(secret, playerIdentity{PlayerID: "p42"}, now), ErrStartExpired},
		"vip out of range":   {signStart(secret, playerIdentity{PlayerID: "p42", VIP: 5000}, now.Add(time.Hour)), ErrStartMalformed},
		"truncated":          {good[:len(good)-1], ErrStartMalformed},
		"padded signature":   {good + "==", ErrStartMalformed},
		"signature tampered": {good[:len(good)-2] + flip(good[len(good)-2:]), ErrStartSignature},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := verifyStart(secret, tt.payload, now)
			require.ErrorIs(t, err, tt.want)
		})
	}
	_, err := verifyStart(secret, good, now)
	require.NoError(t, err)
}

// flip changes the first character of a base64url pair while keeping it in the alphabet (the
// second character carries bits past the 16 bytes, so changing only it may decode the same).
func flip(s string) string {
	if s[0] == 'A' {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}

// logBuffer is a concurrency-safe buffer for the channel's log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// withLog sends the channel's log lines, debug included, to the returned buffer.
func (e *env) withLog() *logBuffer {
	buf := new(logBuffer)
	e.ch.log = slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return buf
}

func withPlayerSecret(cfg *Config) { cfg.PlayerSecret = testPlayerSecret }

func TestStartIdentifiesPlayerAndLaterMessages(t *testing.T) {
	e := newEnv(t, withPlayerSecret)
	payload := signStart([]byte(testPlayerSecret), playerIdentity{PlayerID: "p_184467", VIP: 3}, time.Now().Add(time.Hour))
	other := &tgbotapi.Message{From: &tgbotapi.User{ID: 77, FirstName: "Bo"}, Chat: private(77), Date: 1700000000, Text: "hello"}
	e.fake.AddUpdate(tgbotapi.Update{Message: msg("before the link")})
	e.fake.AddUpdate(tgbotapi.Update{Message: msg("/start " + payload)})
	e.fake.AddUpdate(tgbotapi.Update{Message: msg("where is my withdrawal?")})
	e.fake.AddUpdate(tgbotapi.Update{Message: other})
	sink := newSink()
	stop := e.run(t, sink)
	got := waitMessages(t, sink, 4)
	require.Empty(t, got[0].Author.PlayerID, "messages before the /start stay anonymous")
	require.Equal(t, "/start", got[1].Text, "the payload, a credential, is not shown to agents")
	for _, m := range got[1:3] {
		require.Equal(t, "p_184467", m.Author.PlayerID, m.Text)
		require.Equal(t, 3, m.Author.VIPTier, m.Text)
		require.Equal(t, "Ana Silva", m.Author.DisplayName)
	}
	require.Empty(t, got[3].Author.PlayerID, "another chat is not identified")
	// Greeted as usual.
	require.Eventually(t, func() bool { return len(e.fake.Sent(chat)) == 1 }, 5*time.Second, 5*time.Millisecond)

	// Later batches and edits of the chat carry the identity too.
	stop()
	edit := msg("where is my withdrawal??")
	edit.MessageID, edit.EditDate = 3, 1700000100
	e.fake.AddUpdate(tgbotapi.Update{EditedMessage: edit})
	e.fake.AddUpdate(tgbotapi.Update{Message: msg("/start")})
	e.run(t, sink)
	got = waitMessages(t, sink, 6)
	require.Equal(t, normalize.KindEdit, got[4].Kind)
	require.Equal(t, "p_184467", got[4].Author.PlayerID)
	require.Equal(t, "/start", got[5].Text)
	require.Equal(t, "p_184467", got[5].Author.PlayerID, "/start without payload keeps the identity")
}

func TestStartInvalidPayloadDeliveredAnonymously(t *testing.T) {
	e := newEnv(t, withPlayerSecret)
	logs := e.withLog()
	secret := []byte(testPlayerSecret)
	valid := signStart(secret, playerIdentity{PlayerID: "vip7", VIP: 7}, time.Now().Add(time.Hour))
	expired := signStart(secret, playerIdentity{PlayerID: "p1", VIP: 1}, time.Now().Add(-time.Minute))
	forged := "p2" + valid[4:]
	for _, text := range []string{"/start " + expired, "/start " + forged, "/start promo42", "hi"} {
		e.fake.AddUpdate(tgbotapi.Update{Message: msg(text)})
	}
	sink := newSink()
	e.run(t, sink)
	got := waitMessages(t, sink, 4)
	for _, m := range got {
		require.Empty(t, m.Author.PlayerID, m.Text)
		require.Zero(t, m.Author.VIPTier, m.Text)
	}
	require.Equal(t, "/start "+expired, got[0].Text, "an unaccepted payload is kept as written")
	require.Equal(t, "/start promo42", got[2].Text)
	out := logs.String()
	require.Contains(t, out, "level=WARN")
	require.Contains(t, out, ErrStartExpired.Error())
	require.Contains(t, out, ErrStartSignature.Error())
	require.Contains(t, out, ErrStartMalformed.Error())
	require.NotContains(t, out, forged[len(forged)-22:], "payloads are not logged")
}

func TestStartInvalidPayloadKeepsEarlierIdentity(t *testing.T) {
	e := newEnv(t, withPlayerSecret)
	secret := []byte(testPlayerSecret)
	good := signStart(secret, playerIdentity{PlayerID: "p9", VIP: 1}, time.Now().Add(time.Hour))
	old := signStart(secret, playerIdentity{PlayerID: "p9", VIP: 1}, time.Now().Add(-time.Hour))
	for _, text := range []string{"/start " + good, "/start " + old, "still me"} {
		e.fake.AddUpdate(tgbotapi.Update{Message: msg(text)})
	}
	sink := newSink()
	e.run(t, sink)
	got := waitMessages(t, sink, 3)
	require.Equal(t, "p9", got[0].Author.PlayerID)
	require.Empty(t, got[1].Author.PlayerID, "the message with the bad payload itself is anonymous")
	require.Equal(t, "p9", got[2].Author.PlayerID, "the chat keeps the identity a valid link gave it")
}

func TestStartPayloadIgnoredWithoutSecretOrInGroups(t *testing.T) {
	payload := signStart([]byte(testPlayerSecret), playerIdentity{PlayerID: "p1"}, time.Now().Add(time.Hour))

	e := newEnv(t, nil)
	e.fake.AddUpdate(tgbotapi.Update{Message: msg("/start " + payload)})
	sink := newSink()
	e.run(t, sink)
	got := waitMessages(t, sink, 1)
	require.Empty(t, got[0].Author.PlayerID, "without player_secret nobody is identified")
	require.Equal(t, "/start "+payload, got[0].Text)

	g := newEnv(t, func(c *Config) { withPlayerSecret(c); c.AllowGroups = true })
	m := msg("/start " + payload)
	m.Chat = &tgbotapi.Chat{ID: -100123, Type: "supergroup"}
	g.fake.AddUpdate(tgbotapi.Update{Message: m})
	sink = newSink()
	g.run(t, sink)
	got = waitMessages(t, sink, 1)
	require.Empty(t, got[0].Author.PlayerID, "a group chat is not one player's")
}

func TestStartIdentityRememberedOnlyOnceStored(t *testing.T) {
	e := newEnv(t, withPlayerSecret)
	payload := signStart([]byte(testPlayerSecret), playerIdentity{PlayerID: "p5"}, time.Now().Add(time.Hour))
	b, err := e.ch.prepare(context.Background(), []tgbotapi.Update{{UpdateID: 1, Message: msg("/start " + payload)}})
	require.NoError(t, err)
	require.Equal(t, "p5", b.msgs[0].Author.PlayerID)
	_, ok := e.ch.identities.get(chat)
	require.False(t, ok, "not before Deliver succeeded")
}
