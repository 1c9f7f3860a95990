package freshdesk

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/casino-support/gateway/connectors"
)

// The poller lists the tickets updated since its cursor (updated_since, oldest change first,
// a page of 100 at a time, Link for the next). Each of the gateway's tickets on a page is
// synced (syncTicket); the cursor, the updated_at of the last ticket synced, moves on only
// once a whole page is stored and is kept in the gateway's store, so a restart goes on where
// it stopped and nothing is lost. updated_since is inclusive: the last ticket is read again
// on the next poll, which delivers nothing new. In mode webhook it runs as a slow safety net.

// cursorKey is the Cursors key of the poll cursor.
const cursorKey = "updated-since"

// firstLookBack is how far back the very first poll starts.
const firstLookBack = time.Hour

// pollOnce reads the pages of updated tickets until the last or an error.
func (h *Helpdesk) pollOnce(ctx context.Context, sink connectors.Sink) error {
	cursor, err := h.cursor.Load(ctx)
	if err != nil {
		return fmt.Errorf("freshdesk: %w", err)
	}
	if cursor == "" {
		cursor = h.now().Add(-firstLookBack).UTC().Format(time.RFC3339)
	}
	next := "/api/v2/tickets?include=description&per_page=100&order_by=updated_at&order_type=asc&updated_since=" + url.QueryEscape(cursor)
	for next != "" && ctx.Err() == nil {
		var page []ticket
		hdr, err := h.api.do(ctx, http.MethodGet, next, nil, &page)
		if err != nil {
			return fmt.Errorf("freshdesk: updated tickets: %w", err)
		}
		latest := cursor
		for _, t := range page {
			if _, ours := h.conversationOf(t.Description); ours {
				if err := h.syncTicket(ctx, sink, t.ID); err != nil {
					return err // the cursor stays before this page; the next poll reads it again
				}
			}
			if t.UpdatedAt > latest {
				latest = t.UpdatedAt
			}
		}
		if latest != cursor {
			if err := h.cursor.Save(ctx, latest); err != nil {
				return fmt.Errorf("freshdesk: %w", err)
			}
			cursor = latest
		}
		next = nextPage(hdr)
	}
	return nil
}
