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
// 100 a page). Each of the gateway's tickets on a page is synced (syncTicket); the cursor, the
// newest updated_at of the page, moves on only once the whole page is stored and is kept in
// the gateway's store, so a restart goes on where it stopped and nothing is lost.
//
// After a full page the poller asks again from the moved cursor instead of following the
// page's Link: a ticket updated while the pages are read moves to the end of the order, and
// the page numbers after it would shift past a ticket never read. Only when a whole page
// shares one second (the cursor cannot move) does it follow Link. updated_since is
// inclusive: the tickets of the cursor's second are read again, which delivers nothing new.
// In mode webhook the poller runs as a slow safety net.

// cursorKey is the Cursors key of the poll cursor.
const cursorKey = "updated-since"

// pollPerPage is the page size of the poll (Freshdesk's maximum); pollPage the query, with
// the cursor to append.
const (
	pollPerPage = 100
	pollPage    = "/api/v2/tickets?include=description&per_page=100&order_by=updated_at&order_type=asc&updated_since="
)

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
	next := ""
	for ctx.Err() == nil {
		if next == "" {
			next = pollPage + url.QueryEscape(cursor)
		}
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
		}
		switch {
		case len(page) < pollPerPage:
			return nil // the last page
		case latest != cursor:
			cursor, next = latest, "" // ask again from the moved cursor
		default:
			if next = nextPage(hdr); next == "" {
				return nil
			}
		}
	}
	return nil
}
