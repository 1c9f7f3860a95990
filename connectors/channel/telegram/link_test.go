package telegram

import (
	"strconv"
	"strings"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors/linktoken"
	"github.com/casino-support/gateway/normalize"
)

// TestStartLinkSignVerify (issue 17): the deep link `gateway link-token` prints fits
// Telegram's start parameter (1–64 of A-Za-z0-9_-) even for the longest player ID and the
// largest expiry, and the channel accepts it until it expires; anything forged, expired,
// signed with another secret, too long or cut is refused with the error, and the metric
// reason, that says which.
func TestStartLinkSignVerify(t *testing.T) {
	now := time.Date(2026, 12, 6, 22, 0, 0, 0, time.UTC)
	secret := []byte(testPlayerSecret)
	link, err := StartLink("CasinoSupportBot", secret, "P_1001", 3, now.Add(time.Hour))
	require.NoError(t, err)
	payload, ok := strings.CutPrefix(link, "https://t.me/CasinoSupportBot?start=")
	require.True(t, ok, link)

	longest, err := SignStart(secret, strings.Repeat("Z", 24), maxVIP, time.Unix(1<<40, 0))
	require.NoError(t, err)
	require.LessOrEqual(t, len(longest), maxStartPayload)
	require.Regexp(t, `^[A-Za-z0-9_-]{1,64}$`, longest)

	other, err := SignStart(secret, "P_2", 3, now.Add(time.Hour))
	require.NoError(t, err)
	for _, tc := range []struct {
		name, payload, secret string
		at                    time.Time
		want                  error
		reason                string
	}{
		{name: "valid", payload: payload},
		{name: "expired", payload: payload, at: now.Add(time.Hour), want: ErrStartExpired, reason: linktoken.ReasonExpired},
		{name: "wrong secret", payload: payload, secret: "another-casino-secret-0123", want: ErrStartSignature, reason: linktoken.ReasonForged},
		{name: "another player's signature", payload: "P_1001" + other[len("P_2"):], want: ErrStartSignature, reason: linktoken.ReasonForged},
		{name: "higher tier", payload: "P_1001-9" + payload[len("P_1001-3"):], want: ErrStartSignature, reason: linktoken.ReasonForged},
		{name: "too long", payload: strings.Repeat("a", 42) + payload[len(payload)-23:], want: ErrStartMalformed, reason: linktoken.ReasonMalformed},
		{name: "signature cut", payload: payload[:len(payload)-1], want: ErrStartMalformed, reason: linktoken.ReasonMalformed},
		{name: "a promo code", payload: "promo42", want: ErrStartMalformed, reason: linktoken.ReasonMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, at := secret, now
			if tc.secret != "" {
				s = []byte(tc.secret)
			}
			if !tc.at.IsZero() {
				at = tc.at
			}
			id, vip, err := VerifyStart(s, tc.payload, at)
			if tc.want == nil {
				require.NoError(t, err)
				require.Equal(t, "P_1001", id)
				require.Equal(t, 3, vip)
				return
			}
			require.ErrorIs(t, err, tc.want)
			require.Equal(t, tc.reason, startRefusalReason(err))
			require.Empty(t, id)
		})
	}
}

func TestSignStartRefusesWhatTheChannelWould(t *testing.T) {
	exp := time.Now().Add(time.Hour)
	secret := []byte(testPlayerSecret)
	for name, sign := range map[string]func() (string, error){
		"short secret":       func() (string, error) { return SignStart([]byte("short"), "P1", 0, exp) },
		"player id too long": func() (string, error) { return SignStart(secret, strings.Repeat("9", 25), 0, exp) },
		"dash in player id":  func() (string, error) { return SignStart(secret, "P-1", 0, exp) },
		"vip out of range":   func() (string, error) { return SignStart(secret, "P1", maxVIP+1, exp) },
		"bot with @":         func() (string, error) { return StartLink("@CasinoBot", secret, "P1", 0, exp) },
	} {
		_, err := sign()
		require.Error(t, err, name)
	}
}

// A refused deep link counts by its reason, and the chat stays anonymous, so nothing links.
func TestRefusedStartLinkIsCounted(t *testing.T) {
	e := newEnv(t, withPlayerSecret)
	logs := e.withLog()
	secret := []byte(testPlayerSecret)
	valid := signStart(secret, playerIdentity{PlayerID: "vip7", VIP: 7}, time.Now().Add(time.Hour))
	expired := signStart(secret, playerIdentity{PlayerID: "p1"}, time.Now().Add(-time.Minute))
	forged := "p2" + valid[4:]
	for _, text := range []string{"/start " + forged, "/start " + forged, "/start " + expired, "/start " + valid} {
		e.fake.AddUpdate(tgbotapi.Update{Message: msg(text)})
	}
	sink := newSink()
	e.run(t, sink)
	got := waitMessages(t, sink, 4)
	for _, m := range got[:3] {
		require.Empty(t, m.Author.PlayerID)
		require.Empty(t, m.Author.PlayerIDBy)
	}
	require.Equal(t, "vip7", got[3].Author.PlayerID)
	require.Equal(t, normalize.LinkedByTelegramLink, got[3].Author.PlayerIDBy)
	require.Equal(t, 2.0, e.ch.startRefused.Count(linktoken.ReasonForged))
	require.Equal(t, 1.0, e.ch.startRefused.Count(linktoken.ReasonExpired))
	require.Equal(t, 0.0, e.ch.startRefused.Count(linktoken.ReasonMalformed))
	require.Equal(t, 1, strings.Count(logs.String(), "reason=forged"), "the second forgery in a minute is counted, not logged")
}

// FuzzVerifyStart: whatever a player sends after /start, verification returns an error or a
// player ID of the allowed shape, never panics, and accepts only what it signed.
func FuzzVerifyStart(f *testing.F) {
	now := time.Date(2026, 12, 6, 22, 0, 0, 0, time.UTC)
	secret := []byte(testPlayerSecret)
	valid := signStart(secret, playerIdentity{PlayerID: "P_1001", VIP: 3}, now.Add(time.Hour))
	for _, s := range []string{valid, "", "-", "promo42", valid + "x", strings.Repeat("-", 64), "a-1-z-" + strings.Repeat("A", 22)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, payload string) {
		id, vip, err := VerifyStart(secret, payload, now)
		if err != nil {
			require.Empty(t, id)
			return
		}
		require.Regexp(t, `^[A-Za-z0-9_]{1,24}$`, id)
		// Accepted: it is exactly the payload the secret signs for what it names.
		parts := strings.Split(payload[:len(payload)-23], "-")
		exp, err := strconv.ParseInt(parts[2], 36, 64)
		require.NoError(t, err)
		require.Equal(t, signStart(secret, playerIdentity{PlayerID: id, VIP: vip}, time.Unix(exp, 0)), payload)
	})
}
