package hdkit

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/casino-support/gateway/normalize"
)

// Helpdesks that key no comment, article or ticket entry by the caller's ID get each
// message's ID written into the posted text as its last line, the marker
// "[gateway-message-id: <id>]": a retry finds a message that got through by it instead of
// posting it again, and an event showing the gateway its own message is known as the echo.

// markerPattern finds a marker; message IDs are "m" + hex, but any ID of letters, digits,
// "-", "_" and "." is accepted so tests may use readable ones.
var markerPattern = regexp.MustCompile(`\[gateway-message-id: ([A-Za-z0-9._-]+)\]`)

// markerLine matches a line that is a marker alone.
var markerLine = regexp.MustCompile(`^` + markerPattern.String() + `$`)

// Marker is the marker line of id.
func Marker(id normalize.MessageID) string { return fmt.Sprintf("[gateway-message-id: %s]", id) }

// WithMarker appends the marker of id to text as its last line, after a blank line.
func WithMarker(text string, id normalize.MessageID) string {
	if text = strings.TrimRight(text, "\n"); text == "" {
		return Marker(id)
	}
	return text + "\n\n" + Marker(id)
}

// MarkedID returns the message ID a text the gateway posted ends with: its last non-empty
// line is a marker (WithMarker puts it there). A marker anywhere else, or quoted ("> "), is
// an agent quoting the player's message, and that reply must still go out. The text is
// plain; a backend whose helpdesk stores HTML reads its text first.
func MarkedID(text string) (normalize.MessageID, bool) {
	lines := strings.Split(strings.TrimRight(text, " \t\r\n"), "\n")
	m := markerLine.FindStringSubmatch(strings.TrimSpace(lines[len(lines)-1]))
	if m == nil {
		return "", false
	}
	return normalize.MessageID(m[1]), true
}

// Markers returns every message ID marked anywhere in text, in order, quoted ones too: what
// a look-up of the messages already on a ticket needs from a history that holds them.
func Markers(text string) []normalize.MessageID {
	var ids []normalize.MessageID
	for _, m := range markerPattern.FindAllStringSubmatch(text, -1) {
		ids = append(ids, normalize.MessageID(m[1]))
	}
	return ids
}
