package zendesk

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/casino-support/gateway/connectors/helpdesk/hdkit"
	"github.com/casino-support/gateway/normalize"
)

// Zendesk keys no comment by the caller's ID, so every comment the gateway writes ends with
// the message's marker line (hdkit.WithMarker), found here again when it must know whether a
// write got through.

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
			if id, ok := hdkit.MarkedID(c.Body); ok {
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
