package webchat

import (
	"crypto/hmac"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors/linktoken"
	"github.com/casino-support/gateway/normalize"
)

const linkSecret = "casino-player-secret-0123456789"

// TestPlayerTokenSignVerify (issue 17): what `gateway link-token` signs, the chat accepts
// until it expires; anything forged, expired, signed with another secret, too long or cut
// is refused with the error, and the metric reason, that says which.
func TestPlayerTokenSignVerify(t *testing.T) {
	now := time.Date(2026, 12, 6, 22, 0, 0, 0, time.UTC)
	p := PlayerToken{PlayerID: "P-1001", VIP: 3, Name: "Ana Popescu", Language: "ro"}
	valid, err := SignPlayerToken([]byte(linkSecret), p, now.Add(5*time.Minute))
	require.NoError(t, err)
	payload, sig, _ := strings.Cut(valid, ".")
	other, err := SignPlayerToken([]byte(linkSecret), PlayerToken{PlayerID: "P-2"}, now.Add(5*time.Minute))
	require.NoError(t, err)
	otherPayload, _, _ := strings.Cut(other, ".")
	for _, tc := range []struct {
		name, token, secret string
		at                  time.Time
		want                error
		reason              string
	}{
		{name: "valid", token: valid},
		{name: "valid until the last second", token: valid, at: now.Add(5*time.Minute - time.Second)},
		{name: "expired", token: valid, at: now.Add(5 * time.Minute), want: ErrTokenExpired, reason: linktoken.ReasonExpired},
		{name: "wrong secret", token: valid, secret: "another-casino-secret-0123456", want: ErrTokenSignature, reason: linktoken.ReasonForged},
		{name: "forged payload", token: otherPayload + "." + sig, want: ErrTokenSignature, reason: linktoken.ReasonForged},
		{name: "signature cut", token: payload + "." + sig[:10], want: ErrTokenSignature, reason: linktoken.ReasonForged},
		{name: "no signature", token: payload, want: ErrTokenMalformed, reason: linktoken.ReasonMalformed},
		{name: "too long", token: strings.Repeat("a", maxTokenLen+1) + "." + sig, want: ErrTokenMalformed, reason: linktoken.ReasonMalformed},
		{name: "empty", token: "", want: ErrTokenMalformed, reason: linktoken.ReasonMalformed},
		{name: "two dots", token: valid + ".x", want: ErrTokenMalformed, reason: linktoken.ReasonMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			secret, at := linkSecret, now
			if tc.secret != "" {
				secret = tc.secret
			}
			if !tc.at.IsZero() {
				at = tc.at
			}
			got, err := VerifyPlayerToken([]byte(secret), tc.token, at)
			if tc.want == nil {
				require.NoError(t, err)
				require.Equal(t, p, got)
				return
			}
			require.ErrorIs(t, err, tc.want)
			require.Equal(t, tc.reason, refusalReason(err))
			require.Equal(t, PlayerToken{}, got, "a refused token names nobody")
		})
	}
}

func TestSignPlayerTokenRefusesWhatTheChatWould(t *testing.T) {
	exp := time.Now().Add(time.Hour)
	for name, tc := range map[string]struct {
		secret string
		p      PlayerToken
	}{
		"short secret":     {"short", PlayerToken{PlayerID: "1"}},
		"no player":        {linkSecret, PlayerToken{}},
		"player too long":  {linkSecret, PlayerToken{PlayerID: strings.Repeat("9", maxPlayerIDLen+1)}},
		"control in name":  {linkSecret, PlayerToken{PlayerID: "1", Name: "a\nb"}},
		"vip out of range": {linkSecret, PlayerToken{PlayerID: "1", VIP: 1001}},
		"bad language":     {linkSecret, PlayerToken{PlayerID: "1", Language: "not a tag!"}},
	} {
		_, err := SignPlayerToken([]byte(tc.secret), tc.p, exp)
		require.Error(t, err, name)
	}
}

// The identity a player token proved is what the store links the conversation by.
func TestPlayerTokenIdentityIsTheLinksProof(t *testing.T) {
	require.Equal(t, normalize.LinkedByWebchatToken, identity{PlayerID: "P-1", Visitor: "v"}.proof())
	require.Empty(t, identity{Visitor: "v"}.proof(), "an anonymous visitor links nothing")
}

// FuzzVerifyPlayerToken: whatever a page sends as a player token, verification returns an
// error or a player, never panics, and never accepts a token it did not sign.
func FuzzVerifyPlayerToken(f *testing.F) {
	now := time.Date(2026, 12, 6, 22, 0, 0, 0, time.UTC)
	valid, err := SignPlayerToken([]byte(linkSecret), PlayerToken{PlayerID: "P-1001", VIP: 3}, now.Add(time.Hour))
	require.NoError(f, err)
	for _, s := range []string{valid, "", ".", "a.b", valid + "=", strings.ToUpper(valid), "eyJleHAiOjF9.AAAA"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token string) {
		p, err := VerifyPlayerToken([]byte(linkSecret), token, now)
		if err != nil {
			require.Equal(t, PlayerToken{}, p)
			return
		}
		require.NotEmpty(t, p.PlayerID)
		// Accepted: its signature must be ours over exactly the payload it carries.
		payload, sig, _ := strings.Cut(token, ".")
		got, err := decodeB64(sig)
		require.NoError(t, err)
		require.True(t, hmac.Equal(mac([]byte(linkSecret), payload), got), "accepted only as signed")
	})
}
