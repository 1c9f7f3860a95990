package rt

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/casino-support/gateway/normalize"
)

// RT has no idempotency key, so the gateway writes each message's ID into the posted text
// as a final line and finds it there again when it must know whether a post got through.

// markerPattern finds the marker line; message IDs are "m" + hex, but any ID of letters,
// digits, "-", "_" and "." is accepted so tests may use readable ones.
var markerPattern = regexp.MustCompile(`\[gateway-message-id: ([A-Za-z0-9._-]+)\]`)

// marker returns the marker line of a message ID.
func marker(id normalize.MessageID) string {
	return fmt.Sprintf("[gateway-message-id: %s]", id)
}

// withMarker appends the marker of id to text as its last line.
func withMarker(text string, id normalize.MessageID) string {
	text = strings.TrimRight(text, "\n")
	if text == "" {
		return marker(id)
	}
	return text + "\n\n" + marker(id)
}

// markers returns every message ID marked in text, in order.
func markers(text string) []normalize.MessageID {
	var ids []normalize.MessageID
	for _, m := range markerPattern.FindAllStringSubmatch(text, -1) {
		ids = append(ids, normalize.MessageID(m[1]))
	}
	return ids
}

// postedByGateway reports whether text is one the gateway posted: its last non-empty line is
// a marker (withMarker puts it there). A marker anywhere else, or in a quoted line ("> "),
// comes from an agent quoting the player's message, as RT's Reply link does, and the
// agent's text must still reach the player.
func postedByGateway(text string) bool {
	lines := strings.Split(strings.TrimRight(text, " \t\r\n"), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	return !strings.HasPrefix(last, ">") && markerLine.MatchString(last)
}

// markerLine matches a line that is a marker alone.
var markerLine = regexp.MustCompile(`^` + markerPattern.String() + `$`)
