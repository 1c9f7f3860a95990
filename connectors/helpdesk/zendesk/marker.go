package zendesk

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/casino-support/gateway/normalize"
)

// Zendesk keys no comment by the caller's ID, so the gateway writes each message's ID into
// the comment as its last line and finds it there again when it must know whether a write
// got through, and when an event shows it its own comment.

var markerPattern = regexp.MustCompile(`\[gateway-message-id: ([A-Za-z0-9._-]+)\]`)

// markerLine matches a line that is a marker alone.
var markerLine = regexp.MustCompile(`^` + markerPattern.String() + `$`)

func marker(id normalize.MessageID) string { return fmt.Sprintf("[gateway-message-id: %s]", id) }

// withMarker appends the marker of id to text as its last line.
func withMarker(text string, id normalize.MessageID) string {
	text = strings.TrimRight(text, "\n")
	if text == "" {
		return marker(id)
	}
	return text + "\n\n" + marker(id)
}

// markedID returns the message ID a comment the gateway posted ends with. A marker anywhere
// else, or quoted ("> "), is an agent quoting the player, and that reply must still go out.
func markedID(body string) (normalize.MessageID, bool) {
	lines := strings.Split(strings.TrimRight(body, " \t\r\n"), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	m := markerLine.FindStringSubmatch(last)
	if m == nil {
		return "", false
	}
	return normalize.MessageID(m[1]), true
}

// commentsPage bounds the pages of comments read for a retry's look-up.
const commentsPage = 100

// postedMessages returns the gateway messages found on the ticket's comments, by marker,
// with their comment IDs; it reads every page (cursor pagination).
func (h *Helpdesk) postedMessages(ctx context.Context, ticket int64) (map[normalize.MessageID]int64, error) {
	out := map[normalize.MessageID]int64{}
	next := fmt.Sprintf("/api/v2/tickets/%d/comments?page[size]=%d", ticket, commentsPage)
	for next != "" {
		var page struct {
			cursorPage
			Comments []struct {
				ID   int64  `json:"id"`
				Body string `json:"body"`
			} `json:"comments"`
		}
		if err := h.api.do(ctx, http.MethodGet, next, nil, &page, nil); err != nil {
			return nil, fmt.Errorf("zendesk: comments of ticket %d: %w", ticket, err)
		}
		for _, c := range page.Comments {
			if id, ok := markedID(c.Body); ok {
				out[id] = c.ID
			}
		}
		next = ""
		if page.Meta.HasMore && page.Links.Next != "" {
			next = page.Links.Next
		}
	}
	return out, nil
}

func urlQuery(s string) string { return url.QueryEscape(s) }
