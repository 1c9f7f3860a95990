package hdkit

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

func TestPlayerEmailNeverMadeUp(t *testing.T) {
	cases := []struct {
		name string
		conv normalize.Conversation
		want string
	}{
		{"directory e-mail", normalize.Conversation{Player: normalize.Author{Email: "Max <Max@Example.com>"}, ChannelKind: normalize.KindTelegram}, "max@example.com"},
		{"e-mail channel", normalize.Conversation{Address: "p@example.com", ChannelKind: normalize.KindEmail}, "p@example.com"},
		{"messenger", normalize.Conversation{Address: "4711", ChannelKind: normalize.KindTelegram}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { require.Equal(t, c.want, PlayerEmail(c.conv)) })
	}
}

func TestSubjectAndBody(t *testing.T) {
	conv := normalize.Conversation{Channel: "tg"}
	require.Equal(t, "first line", Subject(conv, normalize.Message{Text: "first line\nsecond"}, 80))
	require.Equal(t, "Message from tg", Subject(conv, normalize.Message{Kind: normalize.KindSystem, Text: "x"}, 80))
	require.Equal(t, strings.Repeat("a", 9)+"…", Subject(conv, normalize.Message{Text: strings.Repeat("a", 20)}, 10))
	require.Equal(t, "(1 attachment(s))", Body(normalize.Message{Attachments: []normalize.Attachment{{Name: "a"}}}))
	require.Equal(t, "here\nLocation: 1.000000,2.000000", Body(normalize.Message{Text: "here", Location: &normalize.Location{Latitude: 1, Longitude: 2}}))
	require.Equal(t, "Player on tg", PlayerName(conv))
}

func TestTags(t *testing.T) {
	conv := normalize.Conversation{ChannelKind: normalize.KindTelegram, Language: "de", Tags: []string{"Pay Outs", ""},
		Player: normalize.Author{VIPTier: 2}}
	got := Tags([]string{"casino"}, conv, normalize.Message{}, func(s string) string { return strings.ToLower(strings.ReplaceAll(s, " ", "_")) })
	require.Equal(t, []string{"casino", "channel_telegram", "lang_de", "pay_outs", "vip_2"}, got)
}

func TestTicketID(t *testing.T) {
	cases := []struct {
		ref       normalize.Ref
		want      int64
		permanent bool
	}{
		{"", 0, false},
		{"4711", 4711, false},
		{"0", 0, true},
		{"-3", 0, true},
		{"RT-12", 0, true},
		{"99999999999999999999", 0, true},
	}
	for _, tc := range cases {
		t.Run(string(tc.ref), func(t *testing.T) {
			id, err := TicketID(tc.ref, "zendesk", "Zendesk ticket")
			require.Equal(t, tc.want, id)
			if !tc.permanent {
				require.NoError(t, err)
				return
			}
			require.True(t, connectors.IsPermanent(err), "a reference this backend never wrote is refused for good: %v", err)
			require.ErrorContains(t, err, `zendesk: ticket reference "`+string(tc.ref)+`" is not a Zendesk ticket id`)
		})
	}
}
