package webchat

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestVerifyToken(t *testing.T) {
	key := []byte(testPlayerSecret)
	now := time.Unix(1_900_000_000, 0)
	valid := claims{PlayerID: "42", VIP: 3, Name: "Anna", Language: "de", Exp: now.Add(time.Minute).Unix()}
	good := signToken(key, valid)
	payload, sig, _ := strings.Cut(good, ".")
	// sign signs an arbitrary payload the way a casino backend would.
	sign := func(body string) string {
		p := base64.RawURLEncoding.EncodeToString([]byte(body))
		return p + "." + base64.RawURLEncoding.EncodeToString(mac(key, p))
	}
	// padded encodes both parts with '=' padding, as PHP's base64_encode and the shell's
	// base64 do unless told otherwise.
	padded := func(body string) string {
		p := base64.URLEncoding.EncodeToString([]byte(body))
		return p + "." + base64.URLEncoding.EncodeToString(mac(key, p))
	}
	tests := []struct {
		name  string
		token string
		want  error
	}{
		{"valid", good, nil},
		{"padded base64", padded(`{"player_id":"42","exp":1900000060}`), nil},
		{"forged signature", payload + "." + base64.RawURLEncoding.EncodeToString(mac([]byte("another-secret-entirely"), payload)), ErrTokenSignature},
		{"tampered payload", base64.RawURLEncoding.EncodeToString([]byte(`{"player_id":"1","exp":1900000060}`)) + "." + sig, ErrTokenSignature},
		{"expired", signToken(key, claims{PlayerID: "42", Exp: now.Unix()}), ErrTokenExpired},
		{"no expiry", sign(`{"player_id":"42"}`), ErrTokenMalformed},
		{"empty", "", ErrTokenMalformed},
		{"no dot", "abc", ErrTokenMalformed},
		{"three parts", good + ".x", ErrTokenMalformed},
		{"signature not base64", payload + ".***", ErrTokenMalformed},
		{"payload not JSON", sign(`not json`), ErrTokenMalformed},
		{"numeric player_id", sign(`{"player_id":42,"exp":1900000060}`), nil},
		{"fractional player_id", sign(`{"player_id":4.2,"exp":1900000060}`), ErrTokenMalformed},
		{"vip not a number", sign(`{"player_id":"42","vip":"gold","exp":1900000060}`), ErrTokenMalformed},
		{"control characters in name", sign(`{"player_id":"42","name":"A\u0000nna","exp":1900000060}`), ErrTokenMalformed},
		{"negative vip", sign(`{"player_id":"42","vip":-1,"exp":1900000060}`), ErrTokenMalformed},
		{"too long", strings.Repeat("a", maxTokenLen+1), ErrTokenMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := verifyToken(key, tt.token, "player token", now)
			if tt.want != nil {
				require.ErrorIs(t, err, tt.want)
				require.Contains(t, err.Error(), "player token")
				return
			}
			require.NoError(t, err)
			require.Equal(t, idString("42"), c.PlayerID)
		})
	}
}

func TestSignTokenRoundTrip(t *testing.T) {
	key := []byte(testTokenSecret)
	in := claims{Visitor: "v1", PlayerID: "p-7", VIP: 2, Name: "Zoë", Language: "pt-BR", Exp: time.Now().Add(time.Hour).Unix()}
	out, err := verifyToken(key, signToken(key, in), "visitor token", time.Now())
	require.NoError(t, err)
	require.Equal(t, in, out)
	require.Equal(t, "player:p-7", string(out.identity().address()))
	require.Equal(t, "visitor:v1", string(claims{Visitor: "v1"}.identity().address()))
}

func TestGeneratedSecretIsKeptAndReused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "secrets")
	log := slog.New(slog.DiscardHandler)
	first, err := tokenSecret("", dir, "web", log)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(first), 32)

	fi, err := os.Stat(filepath.Join(dir, "web.key"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	di, err := os.Stat(dir)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), di.Mode().Perm())

	second, err := tokenSecret("", dir, "web", log)
	require.NoError(t, err)
	require.Equal(t, first, second, "a restart must keep visitors' tokens valid")

	other, err := tokenSecret("", dir, "web2", log)
	require.NoError(t, err)
	require.NotEqual(t, first, other)

	_, err = tokenSecret("short", dir, "web", log)
	require.ErrorContains(t, err, "at least 16 bytes")
	_, err = tokenSecret("", "", "web", log)
	require.ErrorContains(t, err, "token_secret")
}

// docPlayerToken is the Go example of docs/webchat.md, verbatim: keep them in step.
func docPlayerToken(secret []byte, playerID string, vip int, name, language string, ttl time.Duration) (string, error) {
	body, err := json.Marshal(map[string]any{
		"player_id": playerID, "vip": vip, "name": name, "language": language,
		"exp": time.Now().Add(ttl).Unix(),
	})
	if err != nil {
		return "", err
	}
	payload := base64.RawURLEncoding.EncodeToString(body)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(payload))
	return payload + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil)), nil
}

func TestDocumentedPlayerTokenIsAccepted(t *testing.T) {
	token, err := docPlayerToken([]byte(testPlayerSecret), "42", 3, "Zoë Müller", "de", 5*time.Minute)
	require.NoError(t, err)
	c, err := verifyToken([]byte(testPlayerSecret), token, "player token", time.Now())
	require.NoError(t, err)
	require.Equal(t, claims{PlayerID: "42", VIP: 3, Name: "Zoë Müller", Language: "de", Exp: c.Exp}, c)
}
