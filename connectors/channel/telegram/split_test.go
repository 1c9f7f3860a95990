package telegram

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

func TestSplitText(t *testing.T) {
	word := strings.Repeat("a", 9) + " " // 10 runes
	tests := []struct {
		name string
		text string
		want []string
	}{
		{"empty", "", nil},
		{"blank", " \n ", nil},
		{"exactly the limit", strings.Repeat("x", 20), []string{strings.Repeat("x", 20)}},
		{"one over the limit cuts the word", strings.Repeat("x", 21), []string{strings.Repeat("x", 20), "x"}},
		{"words are kept whole", strings.Repeat(word, 3), []string{strings.TrimSpace(strings.Repeat(word, 2)), strings.TrimSpace(word)}},
		{"lines before words", "aaaa bbbb\ncccc dddd eeee", []string{"aaaa bbbb", "cccc dddd eeee"}},
		{"multi-byte runes count once", strings.Repeat("ü", 25), []string{strings.Repeat("ü", 20), strings.Repeat("ü", 5)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, splitText(tt.text, 20))
		})
	}
}

func TestSplitTextTelegramLimit(t *testing.T) {
	var b strings.Builder
	for i := 0; b.Len() < 20000; i++ {
		b.WriteString("Ваш вывод средств обрабатывается ")
		if i%17 == 0 {
			b.WriteString("\n")
		}
	}
	text := b.String()
	parts := splitText(text, maxText)
	require.Greater(t, len(parts), 1)
	var joined []string
	for _, p := range parts {
		require.LessOrEqual(t, utf8.RuneCountInString(p), maxText)
		require.NotEmpty(t, p)
		require.False(t, strings.HasSuffix(p, " "), "a cut drops the separator")
		joined = append(joined, strings.Fields(p)...)
	}
	require.Equal(t, strings.Fields(text), joined, "no word is cut or lost")
}
