package voice

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestHours(t *testing.T) {
	h, err := newHours([]string{"mon-fri 09:00-18:00", "sat 10:00-14:00"}, "Europe/Berlin")
	require.NoError(t, err)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	tests := []struct {
		at   time.Time
		open bool
	}{
		{time.Date(2026, 12, 7, 9, 0, 0, 0, berlin), true},    // Monday, opening
		{time.Date(2026, 12, 7, 17, 59, 0, 0, berlin), true},  // Monday, last minute
		{time.Date(2026, 12, 7, 18, 0, 0, 0, berlin), false},  // Monday, closed
		{time.Date(2026, 12, 12, 11, 0, 0, 0, berlin), true},  // Saturday
		{time.Date(2026, 12, 13, 11, 0, 0, 0, berlin), false}, // Sunday
		{time.Date(2026, 12, 7, 8, 30, 0, 0, time.UTC), true}, // 09:30 in Berlin
	}
	for _, tt := range tests {
		require.Equal(t, tt.open, h.open(tt.at), "%s", tt.at)
	}
	_, en := textsFor("en")
	require.Equal(t, "Monday to Friday, 09:00 to 18:00; Saturday, 10:00 to 14:00", h.spoken(en))
	_, de := textsFor("de-AT")
	require.Equal(t, "Montag bis Freitag, 09:00 bis 18:00; Samstag, 10:00 bis 14:00", h.spoken(de))

	weekend, err := newHours([]string{"sat,sun 10:00-24:00", "daily 08:00-09:00"}, "UTC")
	require.NoError(t, err)
	require.True(t, weekend.open(time.Date(2026, 12, 13, 23, 59, 0, 0, time.UTC)))
	require.True(t, weekend.open(time.Date(2026, 12, 9, 8, 30, 0, 0, time.UTC)))
	require.Equal(t, "Saturday, Sunday, 10:00 to 24:00; Monday to Sunday, 08:00 to 09:00", weekend.spoken(en))

	always, err := newHours(nil, "UTC")
	require.NoError(t, err)
	require.True(t, always.open(time.Date(2026, 12, 13, 3, 0, 0, 0, time.UTC)))
}

func TestTextsForFallsBack(t *testing.T) {
	lang, p := textsFor("pt-BR")
	require.Equal(t, "pt", lang)
	require.Equal(t, "pt-BR", p.say)
	lang, _ = textsFor("pt-PT")
	require.Equal(t, "pt-PT", lang)
	lang, p = textsFor("ja")
	require.Equal(t, "en", lang)
	require.Equal(t, "en-GB", p.say)
	for lang, p := range builtinTexts() {
		require.Contains(t, p.closed, "{hours}", "%s: the closed text says the hours", lang)
	}
}
