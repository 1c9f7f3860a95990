package parse

import "strings"

// newWords is the player's new words in full: the text without the quoted history and the
// signature. forwarded says the subject marks a forward, whose quoted mail is the point.
func newWords(full string, forwarded bool) string {
	return strings.TrimSpace(full)
}

// forwardSubject reports whether a subject marks a forwarded mail.
func forwardSubject(subject string) bool {
	return false
}
