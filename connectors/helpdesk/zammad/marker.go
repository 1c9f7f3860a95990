package zammad

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/casino-support/gateway/connectors/helpdesk/hdkit"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/normalize/htmltext"
)

// Zammad keys no article by the caller's ID, so every article the gateway writes ends with
// the message's marker line (hdkit.WithMarker), found here again when it must know whether a
// write got through, and when a webhook shows it its own article.

// markedID returns the message ID an article the gateway posted ends with (hdkit.MarkedID).
// An HTML body (Zammad may store the article as HTML) is read by its text.
func markedID(body string) (normalize.MessageID, bool) {
	if strings.Contains(body, "<") {
		body = htmltext.Text(body)
	}
	return hdkit.MarkedID(body)
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
