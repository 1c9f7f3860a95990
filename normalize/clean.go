package normalize

import (
	"strings"
	"unicode/utf8"
)

// Text from players and helpdesks reaches agents' browsers, ticket systems, mail clients and
// logs. Characters nobody types on purpose do harm there: a right-to-left override shows
// "fdp.exe" as "exe.pdf", an isolate hides what follows it, ESC starts a terminal sequence in
// a log viewer, NUL truncates a string in C-based helpdesks. CleanText and CleanName remove
// them once, at the router's intake, so every connector and page sees clean text.

// CleanText returns s as valid UTF-8 (each invalid sequence, such as a lone surrogate, becomes
// U+FFFD, so that something visibly was there) without control characters other than tab and
// newline, and without bidirectional embeddings, overrides and isolates. Line breaks of every
// kind (CR LF, a lone CR, NEL, U+2028, U+2029) become a newline, so no line is joined to the
// next. The bidirectional marks (LRM, RLM, ALM) stay: they only set the direction of
// neighbouring punctuation, and right-to-left keyboards insert them into ordinary text.
func CleanText(s string) string {
	if clean(s) {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	b.Grow(len(s))
	for i, r := range s {
		switch {
		case r == '\r':
			if i+1 < len(s) && s[i+1] == '\n' {
				continue // the \n that follows is the line break
			}
			b.WriteByte('\n')
		case lineBreak(r):
			b.WriteByte('\n')
		case r == '\t' || r == '\n' || !hidden(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// CleanName is CleanText for a name shown on one line (an author's display name, a file
// name): tabs and line breaks become spaces, the bidirectional marks go as well (a name has no
// right-to-left punctuation to place, and a mark can still reorder a file name's extension),
// and surrounding spaces are trimmed.
func CleanName(s string) string {
	s = CleanText(s)
	if strings.ContainsFunc(s, func(r rune) bool { return r == '\t' || r == '\n' || bidiMark(r) }) {
		s = strings.Map(func(r rune) rune {
			switch {
			case r == '\t' || r == '\n':
				return ' '
			case bidiMark(r):
				return -1
			}
			return r
		}, s)
	}
	return strings.TrimSpace(s)
}

// clean reports whether CleanText would return s unchanged, without allocating: nearly all
// text is, and every message passes here.
func clean(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if (c < 0x20 && c != '\t' && c != '\n') || c == 0x7f {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return false
		}
		if lineBreak(r) || hidden(r) {
			return false
		}
		i += size
	}
	return true
}

// lineBreak reports whether r ends a line besides \n and \r: NEL (a C1 control, but a line
// break in EBCDIC-converted mail), the line and the paragraph separator.
func lineBreak(r rune) bool { return r == 0x85 || r == 0x2028 || r == 0x2029 }

// hidden reports whether CleanText drops r: C0 and C1 controls and DEL (tab and newline are
// handled before), the bidirectional embeddings and overrides (U+202A–U+202E), the isolates
// (U+2066–U+2069) and the deprecated format characters after them (U+206A–U+206F, which swap
// shaping and digit forms).
func hidden(r rune) bool {
	switch {
	case r < 0x20, r >= 0x7f && r < 0xa0:
		return true
	case r >= 0x202a && r <= 0x202e:
		return true
	case r >= 0x2066 && r <= 0x206f:
		return true
	}
	return false
}

// bidiMark reports whether r is a bidirectional mark: LRM, RLM or the Arabic letter mark.
func bidiMark(r rune) bool { return r == 0x200e || r == 0x200f || r == 0x061c }
