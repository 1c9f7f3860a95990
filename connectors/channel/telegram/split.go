package telegram

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxText is the Bot API's limit on one message's text, in characters.
const maxText = 4096

// MaxInboundText is the most characters of text a player's message from Telegram carries:
// the Bot API's limit (captions are shorter) and room for the note intake adds about a file
// it could not fetch or show inline (one file a message, its name at most 200 bytes).
const MaxInboundText = maxText + 1024

// splitText cuts text into parts of at most limit runes, preferring the last line break in a
// part, then the last space, and only then cutting a word. Separators at a cut are dropped;
// parts are never empty.
func splitText(text string, limit int) []string {
	var parts []string
	for {
		text = strings.TrimLeftFunc(text, func(r rune) bool { return r == '\n' })
		if utf8.RuneCountInString(text) <= limit {
			if len(parts) > 0 { // the tail of a split text: trailing blanks would be a part of their own
				text = strings.TrimRightFunc(text, unicode.IsSpace)
			}
			if strings.TrimSpace(text) != "" {
				parts = append(parts, text)
			}
			return parts
		}
		end := byteOffset(text, limit) // first byte beyond limit runes
		head := text[:end]
		cut, skip := end, 0
		if i := strings.LastIndexByte(head, '\n'); i > 0 {
			cut, skip = i, 1
		} else if i := strings.LastIndexFunc(head, unicode.IsSpace); i > 0 {
			_, size := utf8.DecodeRuneInString(head[i:])
			cut, skip = i, size
		}
		if part := strings.TrimRightFunc(text[:cut], unicode.IsSpace); part != "" {
			parts = append(parts, part)
		}
		text = text[cut+skip:]
	}
}

// byteOffset returns the byte index after the first n runes of s.
func byteOffset(s string, n int) int {
	for i := range s {
		if n == 0 {
			return i
		}
		n--
	}
	return len(s)
}
