package zammad

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/normalize/htmltext"
)

// Zammad keys no article by the caller's ID, so the gateway writes each message's ID into
// the article as its last line and finds it there again when it must know whether a write
// got through, and when a webhook shows it its own article.

var markerLine = regexp.MustCompile(`^\[gateway-message-id: ([A-Za-z0-9._-]+)\]$`)

// withMarker appends the marker of id to text as its last line.
func withMarker(text string, id normalize.MessageID) string {
	m := fmt.Sprintf("[gateway-message-id: %s]", id)
	if text = strings.TrimRight(text, "\n"); text == "" {
		return m
	}
	return text + "\n\n" + m
}

// markedID returns the message ID an article the gateway posted ends with. A marker anywhere
// else, or quoted, is an agent quoting the player, and that reply must still go out. An HTML
// body (Zammad may store the article as HTML) is read by its text.
func markedID(body string) (normalize.MessageID, bool) {
	if strings.Contains(body, "<") {
		body = htmltext.Text(body)
	}
	lines := strings.Split(strings.TrimRight(body, " \t\r\n"), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	m := markerLine.FindStringSubmatch(last)
	if m == nil {
		return "", false
	}
	return normalize.MessageID(m[1]), true
}

// articles returns every article of ticket (by_ticket answers them all at once).
func (h *Helpdesk) articles(ctx context.Context, ticket int64) ([]article, error) {
	var out []article
	if err := h.api.do(ctx, http.MethodGet, fmt.Sprintf("/api/v1/ticket_articles/by_ticket/%d?expand=true", ticket), nil, &out, 0); err != nil {
		return nil, fmt.Errorf("zammad: articles of ticket %d: %w", ticket, err)
	}
	return out, nil
}

// postedMessages returns the gateway messages found on the ticket's articles, by marker,
// with their article IDs.
func (h *Helpdesk) postedMessages(ctx context.Context, ticket int64) (map[normalize.MessageID]int64, error) {
	arts, err := h.articles(ctx, ticket)
	if err != nil {
		return nil, err
	}
	out := map[normalize.MessageID]int64{}
	for _, a := range arts {
		if id, ok := markedID(a.Body); ok {
			out[id] = a.ID
		}
	}
	return out, nil
}
