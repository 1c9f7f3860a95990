package webchat

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/casino-support/gateway/normalize"
)

// Token errors. Every refusal wraps one of them, so the page can tell a forged token from one
// that merely ran out (both mean: start again).
var (
	ErrTokenMalformed = errors.New("token is malformed")
	ErrTokenSignature = errors.New("token signature does not match")
	ErrTokenExpired   = errors.New("token has expired")
)

const (
	// maxTokenLen bounds what is decoded and hashed: real tokens stay well under 1 KiB.
	maxTokenLen = 4096
	// maxPlayerIDLen and maxNameLen keep identities printable in a ticket subject.
	maxPlayerIDLen = 128
	maxNameLen     = 200
)

// claims is the payload of both token kinds: the gateway's visitor token (Visitor set, signed
// with the token secret) and the casino's player token (PlayerID set, signed with the player
// secret). Exp is Unix seconds.
type claims struct {
	Visitor  string   `json:"visitor,omitempty"`
	Exp      int64    `json:"exp"`
	PlayerID idString `json:"player_id,omitempty"`
	VIP      int      `json:"vip,omitempty"`
	Name     string   `json:"name,omitempty"`
	Language string   `json:"language,omitempty"`
}

// idString is a player ID as the casino sends it: a JSON string, or a number (many backends
// have numeric IDs and would encode them as such), kept as its decimal text.
type idString string

func (s *idString) UnmarshalJSON(b []byte) error {
	var n json.Number
	if err := json.Unmarshal(b, &n); err == nil {
		if _, err := n.Int64(); err != nil {
			return fmt.Errorf("player_id: want a string or a whole number, got %s", n)
		}
		*s = idString(n)
		return nil
	}
	var str string
	if err := json.Unmarshal(b, &str); err != nil {
		return errors.New("player_id: want a string or a whole number")
	}
	*s = idString(str)
	return nil
}

// identity is who is chatting, as far as the signed tokens tell.
type identity struct {
	Visitor  string
	PlayerID string
	VIP      int
	Name     string
	Language string
}

// address is the conversation's address: identified players share one conversation across
// devices, anonymous visitors get one per browser.
func (id identity) address() normalize.Address {
	if id.PlayerID != "" {
		return normalize.Address("player:" + id.PlayerID)
	}
	return normalize.Address("visitor:" + id.Visitor)
}

// displayName is what agents see as the requester.
func (id identity) displayName() string {
	if id.Name != "" {
		return id.Name
	}
	if id.PlayerID != "" {
		return "Player " + id.PlayerID
	}
	short := id.Visitor
	if len(short) > 6 {
		short = short[:6]
	}
	return "Web visitor " + short
}

func (id identity) claims(exp time.Time) claims {
	return claims{Visitor: id.Visitor, Exp: exp.Unix(), PlayerID: idString(id.PlayerID), VIP: id.VIP, Name: id.Name, Language: id.Language}
}

func (c claims) identity() identity {
	return identity{Visitor: c.Visitor, PlayerID: string(c.PlayerID), VIP: c.VIP, Name: c.Name, Language: c.Language}
}

// signToken returns base64url(JSON) + "." + base64url(HMAC-SHA256(secret, first part)), the
// format documented in docs/webchat.md for casino backends to reproduce.
func signToken(secret []byte, c claims) string {
	body, err := json.Marshal(c)
	if err != nil {
		panic("webchat: claims always marshal: " + err.Error())
	}
	payload := base64.RawURLEncoding.EncodeToString(body)
	return payload + "." + base64.RawURLEncoding.EncodeToString(mac(secret, payload))
}

// verifyToken checks the signature before it parses anything, then the expiry. kind names the
// token in errors ("visitor token", "player token").
func verifyToken(secret []byte, token, kind string, now time.Time) (claims, error) {
	if token == "" || len(token) > maxTokenLen {
		return claims{}, fmt.Errorf("%s: %w: want 1 to %d characters", kind, ErrTokenMalformed, maxTokenLen)
	}
	payload, sig, ok := strings.Cut(token, ".")
	if !ok || payload == "" || strings.Contains(sig, ".") {
		return claims{}, fmt.Errorf("%s: %w: want <payload>.<signature>", kind, ErrTokenMalformed)
	}
	got, err := decodeB64(sig)
	if err != nil {
		return claims{}, fmt.Errorf("%s: %w: signature is not base64url", kind, ErrTokenMalformed)
	}
	if !hmac.Equal(got, mac(secret, payload)) {
		return claims{}, fmt.Errorf("%s: %w", kind, ErrTokenSignature)
	}
	body, err := decodeB64(payload)
	if err != nil {
		return claims{}, fmt.Errorf("%s: %w: payload is not base64url", kind, ErrTokenMalformed)
	}
	var c claims
	if err := json.Unmarshal(body, &c); err != nil {
		return claims{}, fmt.Errorf("%s: %w: payload: %v", kind, ErrTokenMalformed, err)
	}
	switch {
	case c.Exp == 0:
		return claims{}, fmt.Errorf("%s: %w: exp (Unix seconds) is required", kind, ErrTokenMalformed)
	case now.Unix() >= c.Exp:
		return claims{}, fmt.Errorf("%s: %w at %s", kind, ErrTokenExpired, time.Unix(c.Exp, 0).UTC().Format(time.RFC3339))
	case !printable(string(c.PlayerID), maxPlayerIDLen) || !printable(c.Name, maxNameLen) || !printable(c.Visitor, maxPlayerIDLen):
		return claims{}, fmt.Errorf("%s: %w: player_id, name and visitor must be printable and short", kind, ErrTokenMalformed)
	case c.VIP < 0 || c.VIP > 1000:
		return claims{}, fmt.Errorf("%s: %w: vip must be a small non-negative number", kind, ErrTokenMalformed)
	}
	if !validLanguage(c.Language) {
		c.Language = ""
	}
	return c, nil
}

func mac(secret []byte, payload string) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(payload))
	return h.Sum(nil)
}

// decodeB64 accepts base64url with or without padding: PHP's and the shell's encoders pad
// unless told not to, and the signature covers the payload as sent either way.
func decodeB64(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

func printable(s string, max int) bool {
	if len(s) > max || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// newVisitorID returns 128 random bits: unguessable, since the address it makes is what the
// visitor's history hangs on.
func newVisitorID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("webchat: crypto/rand failed: " + err.Error()) // the runtime guarantees it does not
	}
	return hex.EncodeToString(b[:])
}
