package email

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
)

func TestTokens(t *testing.T) {
	a := newToken("mail", "abc@player.example")
	require.Len(t, string(a), tokenLen)
	require.Equal(t, a, newToken("mail", "abc@player.example"), "the same mail opens the same thread")
	require.NotEqual(t, a, newToken("mail", "abc@player.example#1"))
	require.NotEqual(t, a, newToken("other", "abc@player.example"), "tokens are per instance")
	got, ok := canonicalToken(string(a))
	require.True(t, ok)
	require.Equal(t, a, got)

	for _, tc := range []struct {
		in   string
		want normalize.Address
		ok   bool
	}{
		{"K7QX2M9PZD", "K7QX2M9PZD", true},
		{"k7qx2m9pzd", "K7QX2M9PZD", true},
		{"OIL0000000", "0110000000", true},
		{"K7QX2M9PZ", "", false},
		{"K7QX2M9PZU", "", false},
		{"K7QX2M9PZ!", "", false},
	} {
		got, ok := canonicalToken(tc.in)
		require.Equal(t, tc.ok, ok, tc.in)
		require.Equal(t, tc.want, got, tc.in)
	}
}

func TestSubjectTokens(t *testing.T) {
	f := newTokenFormat("[#{token}]")
	for _, tc := range []struct {
		subject string
		want    normalize.Address
		ok      bool
	}{
		{"Re: Withdrawal [#K7QX2M9PZD]", "K7QX2M9PZD", true},
		{"AW: [#k7qx2m9pzd] Auszahlung", "K7QX2M9PZD", true},
		{"Withdrawal [#K7QX2M9PZ]", "", false},
		{"Withdrawal #K7QX2M9PZD", "", false},
		{"Withdrawal", "", false},
	} {
		got, ok := f.find(tc.subject)
		require.Equal(t, tc.ok, ok, tc.subject)
		require.Equal(t, tc.want, got, tc.subject)
	}
	require.Equal(t, "Re: Withdrawal [#K7QX2M9PZD]", f.subject("Withdrawal", "K7QX2M9PZD"))
	require.Equal(t, "Re: Withdrawal [#K7QX2M9PZD]", f.subject("RE: Re: Withdrawal [#K7QX2M9PZD]", "K7QX2M9PZD"), "once each")
	require.Equal(t, "[#K7QX2M9PZD]", f.subject("  ", "K7QX2M9PZD"))

	custom := newTokenFormat("(Ticket {token})")
	got, ok := custom.find("Re: KYC (ticket k7qx2m9pzd)")
	require.True(t, ok)
	require.Equal(t, normalize.Address("K7QX2M9PZD"), got)
	require.Equal(t, "Re: KYC (Ticket K7QX2M9PZD)", custom.subject("KYC", "K7QX2M9PZD"))
}

func TestPlusTokens(t *testing.T) {
	from := "support@casino.example"
	require.Equal(t, "support+K7QX2M9PZD@casino.example", plusAddress(from, "K7QX2M9PZD"))
	for _, tc := range []struct {
		addr string
		want normalize.Address
		ok   bool
	}{
		{"support+K7QX2M9PZD@casino.example", "K7QX2M9PZD", true},
		{"Support+k7qx2m9pzd@CASINO.example", "K7QX2M9PZD", true},
		{"support@casino.example", "", false},
		{"sales+K7QX2M9PZD@casino.example", "", false},
		{"support+K7QX2M9PZD@other.example", "", false},
		{"support+short@casino.example", "", false},
	} {
		got, ok := plusToken(tc.addr, from)
		require.Equal(t, tc.ok, ok, tc.addr)
		require.Equal(t, tc.want, got, tc.addr)
	}
}

func TestMessageIDs(t *testing.T) {
	id := normalize.NewMessageID()
	mid := replyMessageID(id, "casino.example")
	got, ok := replyOf("<"+mid+">", "CASINO.example")
	require.True(t, ok)
	require.Equal(t, id, got)
	for _, other := range []string{"abc@casino.example", string(id) + "@other.example", "m12@casino.example", ""} {
		_, ok := replyOf(other, "casino.example")
		require.False(t, ok, other)
	}
	raw := []byte("From: a@b\r\n\r\nhi\r\n")
	require.Equal(t, syntheticMessageID(raw), syntheticMessageID(append([]byte(nil), raw...)))
	require.NotEqual(t, syntheticMessageID(raw), syntheticMessageID([]byte("From: a@b\r\n\r\nho\r\n")))
	require.Contains(t, syntheticMessageID(raw), "@"+syntheticDomain)
}
