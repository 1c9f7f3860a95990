package parse

import (
	"strings"
	"unicode"
)

// newWords is the player's new words in full: the text without the history a reply quotes
// and without the signature. A forwarded mail in the text is kept: the player forwards it for
// support to read. forwarded says the subject marks a forward, in which an Outlook header
// block starts the forwarded mail rather than quoted history.
func newWords(full string, forwarded bool) string {
	lines := strings.Split(full, "\n")
	own, fwd := lines, []string(nil)
	for i, l := range lines {
		if forwardMarker.MatchString(l) {
			own, fwd = lines[:i], lines[i:]
			break
		}
	}
	// The signature goes first, so that quotes above it are trailing quotes; a delimiter in
	// quoted history is quoted ("> -- ") and does not count.
	own, cut := stripHistory(cutSignature(own), forwarded)
	if cut {
		fwd = nil // the forward was part of the quoted history
	}
	text := strings.TrimSpace(strings.Join(stripMobileSignature(own), "\n"))
	if len(fwd) > 0 {
		text = strings.TrimSpace(text + "\n\n" + strings.Join(fwd, "\n"))
	}
	return text
}

// stripHistory drops the quoted history from lines: everything from the first marker a client
// puts above it (an attribution such as "On … wrote:", Outlook's "-----Original Message-----"
// or its From/Sent/To/Subject block), and quoted lines at the start and end. cut reports that
// a marker was found and the rest dropped.
//
// An attribution followed by quoted lines and then the player's own words is a reply written
// below or between the quotes: the words stay, with the quotes between them as context.
func stripHistory(lines []string, forwarded bool) (out []string, cut bool) {
	for i := 0; i < len(lines); i++ {
		if quoted(lines[i]) || blank(lines[i]) {
			continue
		}
		if n := attribution(lines, i); n > 0 {
			// Words after the quotes that follow it are the player's; where no quoted line
			// follows (Outlook for iOS), all that follows is the history.
			rest := trimQuoteBlocks(lines[i+n:])
			if quotedNext(lines, i+n) && hasWords(stripMobileSignature(rest)) {
				return trimQuoteBlocks(append(lines[:i:i], rest...)), false
			}
			return trimQuoteBlocks(lines[:i]), true
		}
		if forwarded {
			continue
		}
		if originalMessage.MatchString(lines[i]) {
			return trimQuoteBlocks(lines[:i]), true
		}
		if headerBlock(lines, i) {
			j := i
			for j > 0 && blank(lines[j-1]) {
				j--
			}
			if j > 0 && underscores.MatchString(lines[j-1]) {
				i = j - 1
			}
			return trimQuoteBlocks(lines[:i]), true
		}
	}
	return trimQuoteBlocks(lines), false
}

// attribution returns how many lines (one, or two where Gmail wrapped it) the attribution
// starting at lines[i] takes; 0 when there is none.
func attribution(lines []string, i int) int {
	line := strings.TrimSpace(lines[i])
	if isAttribution(line, lines, i+1) {
		return 1
	}
	if i+1 < len(lines) && !endsColon.MatchString(line) && !quoted(lines[i+1]) && !blank(lines[i+1]) {
		if isAttribution(line+" "+strings.TrimSpace(lines[i+1]), lines, i+2) {
			return 2
		}
	}
	return 0
}

// isAttribution reports whether s introduces quoted history: it ends with a colon, carries a
// date (a digit), and has a "wrote" verb or ends with the author's address. Without both the
// verb and an address it must be followed by quoted lines, so that a player's own "On Monday
// I wrote:" is not taken for one.
func isAttribution(s string, lines []string, next int) bool {
	if len(s) > 400 || !endsColon.MatchString(s) || !strings.ContainsFunc(s, unicode.IsDigit) {
		return false
	}
	verb, email := wroteVerbs.MatchString(s), hasEmail.MatchString(s)
	switch {
	case verb && email:
		return true
	case verb || emailAtEnd.MatchString(s):
		return quotedNext(lines, next)
	}
	return false
}

// headerBlock reports whether lines[i] starts the block of header lines a client writes
// above the mail it quotes: Outlook's From, Sent, To, Subject (translated), or GMX's and
// web.de's Gesendet, Von, An, Betreff. A From or Sent line starts it, and the lines up to
// the next few have all three of a From, a Sent (or Date) and a To or Subject line.
func headerBlock(lines []string, i int) bool {
	if !fromKey.MatchString(lines[i]) && !sentKey.MatchString(lines[i]) {
		return false
	}
	from, sent, subject := false, false, false
	for j, seen := i, 0; j < len(lines) && seen < 6; j++ {
		if blank(lines[j]) {
			continue
		}
		seen++
		from = from || fromKey.MatchString(lines[j])
		sent = sent || sentKey.MatchString(lines[j])
		subject = subject || subjectKey.MatchString(lines[j])
	}
	return from && sent && subject
}

// trimQuoteBlocks drops quoted lines (and the blank lines around them) at the start and end.
func trimQuoteBlocks(lines []string) []string {
	start := 0
	for start < len(lines) && (quoted(lines[start]) || blank(lines[start])) {
		start++
	}
	end := len(lines)
	for end > start && (quoted(lines[end-1]) || blank(lines[end-1])) {
		end--
	}
	return lines[start:end]
}

// cutSignature drops the signature from the "-- " delimiter on.
func cutSignature(lines []string) []string {
	for i, l := range lines {
		if sigDelimiter(l) && (l == "-- " || len(lines)-i <= 12) {
			// A bare "--" is taken for a delimiter only near the end: people draw lines too.
			return lines[:i]
		}
	}
	return lines
}

// stripMobileSignature drops the lines phones and mail apps add at the end ("Sent from my
// iPhone").
func stripMobileSignature(lines []string) []string {
	for {
		j := len(lines) - 1
		for j >= 0 && blank(lines[j]) {
			j--
		}
		if j < 0 || len(lines[j]) > 120 || !mobileSignature.MatchString(lines[j]) {
			return lines[:j+1]
		}
		lines = lines[:j]
	}
}

func quoted(line string) bool { return strings.HasPrefix(strings.TrimLeft(line, " "), ">") }

func blank(line string) bool { return strings.TrimSpace(line) == "" }

// quotedNext reports whether the next non-blank line from lines[i] is quoted.
func quotedNext(lines []string, i int) bool {
	for ; i < len(lines); i++ {
		if !blank(lines[i]) {
			return quoted(lines[i])
		}
	}
	return false
}

func hasWords(lines []string) bool {
	for _, l := range lines {
		if !blank(l) && !quoted(l) {
			return true
		}
	}
	return false
}

// forwardSubject reports whether a subject marks a forwarded mail.
func forwardSubject(subject string) bool {
	return forwardPrefix.MatchString(subject)
}
