package telegram

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Start payload errors. Every refusal wraps one of them.
var (
	ErrStartMalformed = errors.New("start payload is malformed")
	ErrStartSignature = errors.New("start payload signature does not match")
	ErrStartExpired   = errors.New("start payload has expired")
)

const (
	// maxStartPayload is Telegram's limit on a deep link's start parameter.
	maxStartPayload = 64
	// startSigBytes is how much of the HMAC-SHA256 the payload carries: 128 bits, 22
	// characters of base64url.
	startSigBytes = 16
	// maxVIP bounds the VIP tier, as the web chat's player token does.
	maxVIP = 1000
)

var (
	// startPlayerIDPattern keeps player IDs free of the "-" separator and short enough for the
	// whole payload to fit 64 characters.
	startPlayerIDPattern = regexp.MustCompile(`^[A-Za-z0-9_]{1,24}$`)
	startVIPPattern      = regexp.MustCompile(`^[0-9]{1,4}$`)
	startExpPattern      = regexp.MustCompile(`^[0-9a-z]{1,8}$`)
	startSigPattern      = regexp.MustCompile(`^[A-Za-z0-9_-]{22}$`)
)

// playerIdentity is who the casino says is chatting, from a verified /start payload.
type playerIdentity struct {
	PlayerID string
	VIP      int
}

// signStart returns the deep-link payload for id, valid until exp:
//
//	<player_id>-<vip>-<exp>-<sig>
//
// exp is Unix seconds in base 36 (lower case); sig is the first 16 bytes of
// HMAC-SHA256(secret, "<player_id>-<vip>-<exp>") in base64url without padding. This is the
// format docs/telegram.md documents for casino backends; the gateway only verifies it, and
// signStart exists for tests and as the reference implementation.
func signStart(secret []byte, id playerIdentity, exp time.Time) string {
	body := id.PlayerID + "-" + strconv.Itoa(id.VIP) + "-" + strconv.FormatInt(exp.Unix(), 36)
	return body + "-" + base64.RawURLEncoding.EncodeToString(startMAC(secret, body))
}

// verifyStart checks payload's shape, then its signature, then its expiry.
func verifyStart(secret []byte, payload string, now time.Time) (playerIdentity, error) {
	if payload == "" || len(payload) > maxStartPayload {
		return playerIdentity{}, fmt.Errorf("%w: want 1 to %d characters", ErrStartMalformed, maxStartPayload)
	}
	// The signature's base64url alphabet contains "-" itself, so it is cut off by length.
	if len(payload) < 22+1 || payload[len(payload)-23] != '-' {
		return playerIdentity{}, fmt.Errorf("%w: want <player_id>-<vip>-<exp>-<signature>", ErrStartMalformed)
	}
	body, sig := payload[:len(payload)-23], payload[len(payload)-22:]
	parts := strings.Split(body, "-")
	if len(parts) != 3 || !startPlayerIDPattern.MatchString(parts[0]) || !startVIPPattern.MatchString(parts[1]) ||
		!startExpPattern.MatchString(parts[2]) || !startSigPattern.MatchString(sig) {
		return playerIdentity{}, fmt.Errorf("%w: want <player_id>-<vip>-<exp>-<signature>", ErrStartMalformed)
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || len(got) != startSigBytes {
		return playerIdentity{}, fmt.Errorf("%w: signature is not 16 bytes of base64url", ErrStartMalformed)
	}
	if !hmac.Equal(got, startMAC(secret, body)) {
		return playerIdentity{}, ErrStartSignature
	}
	vip, _ := strconv.Atoi(parts[1]) // the pattern allows only digits
	if vip > maxVIP {
		return playerIdentity{}, fmt.Errorf("%w: vip must be 0 to %d", ErrStartMalformed, maxVIP)
	}
	exp, err := strconv.ParseInt(parts[2], 36, 64)
	if err != nil {
		return playerIdentity{}, fmt.Errorf("%w: exp is not base 36", ErrStartMalformed)
	}
	if now.Unix() >= exp {
		return playerIdentity{}, fmt.Errorf("%w at %s", ErrStartExpired, time.Unix(exp, 0).UTC().Format(time.RFC3339))
	}
	return playerIdentity{PlayerID: parts[0], VIP: vip}, nil
}

func startMAC(secret []byte, body string) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(body))
	return h.Sum(nil)[:startSigBytes]
}

// startPayload returns the parameter of a /start command ("/start abc", "/start@bot abc").
func startPayload(text string) string {
	_, rest, _ := strings.Cut(text, " ")
	return strings.TrimSpace(rest)
}

// identities remembers the verified identity of each private chat for the channel's
// lifetime: only the /start message carries the payload, later messages of the chat do not.
// It is in memory only; the store keeps the identity on the conversation, where anonymous
// messages cannot lower it, so after a restart only the stamp on each message waits for the
// next deep link. An entry is about a hundred bytes per identified chat.
type identities struct {
	mu    sync.Mutex
	chats map[int64]playerIdentity
}

func newIdentities() *identities {
	return &identities{chats: map[int64]playerIdentity{}}
}

func (s *identities) get(chatID int64) (playerIdentity, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.chats[chatID]
	return id, ok
}

func (s *identities) set(chatID int64, id playerIdentity) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chats[chatID] = id
}
