package callback_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors/callback"
	"github.com/casino-support/gateway/normalize"
)

func TestNew(t *testing.T) {
	long := strings.Repeat("Montag ", 40)
	tests := []struct {
		name              string
		raw, region, when string
		want              normalize.Callback
		invalid           bool
	}{
		{"international", "+49 170 1234567", "", "", normalize.Callback{Phone: "+491701234567"}, false},
		{"national with a region", "0170 1234567", "DE", "nach 18 Uhr", normalize.Callback{Phone: "+491701234567", PreferredTime: "nach 18 Uhr"}, false},
		{"00 prefix", "0044 20 7946 0958", "DE", "", normalize.Callback{Phone: "+442079460958"}, false},
		{"lines joined, controls gone", "+442079460958", "", " after\n6 pm\u0007\u202e ", normalize.Callback{Phone: "+442079460958", PreferredTime: "after 6 pm"}, false},
		{"national without a region", "0170 1234567", "", "", normalize.Callback{}, true},
		{"not a number", "call me", "DE", "", normalize.Callback{}, true},
		{"too short", "+49 1", "", "", normalize.Callback{}, true},
		{"empty", "", "DE", "now", normalize.Callback{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := callback.New(tt.raw, tt.region, tt.when)
			if tt.invalid {
				require.ErrorIs(t, err, callback.ErrInvalidPhone)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
	t.Run("a long preferred time is cut", func(t *testing.T) {
		got, err := callback.New("+491701234567", "", long)
		require.NoError(t, err)
		require.Equal(t, callback.MaxPreferredTime, utf8.RuneCountInString(got.PreferredTime))
		require.True(t, strings.HasSuffix(got.PreferredTime, "…"))
	})
}

func TestMark(t *testing.T) {
	m := normalize.Message{Kind: normalize.KindContact, Text: "old", Author: normalize.Author{VIPTier: 2}}
	cb := normalize.Callback{Phone: "+491701234567", PreferredTime: "after 6 pm"}
	callback.Mark(&m, cb, "the web chat")
	require.Equal(t, normalize.KindText, m.Kind)
	require.Equal(t, &cb, m.Callback)
	require.Equal(t, "[call-back request] Please call +491701234567 back (they asked for it in the web chat). Preferred time: after 6 pm", m.Text)
	require.Equal(t, 2, m.Author.VIPTier, "the author stays")

	callback.Mark(&m, normalize.Callback{Phone: "+4930123456"}, "the phone menu of +4930999")
	require.Equal(t, "[call-back request] Please call +4930123456 back (they asked for it in the phone menu of +4930999).", m.Text)

	callback.Mark(&m, normalize.Callback{}, "the phone menu of +4930999")
	require.Equal(t, "[call-back request] They asked to be called back in the phone menu of +4930999, but their number is hidden: ask them for it on another channel.", m.Text)
	require.NotNil(t, m.Callback, "still a request an agent must see")
}
