package zendesk

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/casino-support/gateway/connectors"
)

// The poller reads Zendesk's incremental ticket export (cursor-based,
// /api/v2/incremental/tickets/cursor): every ticket changed since its cursor, oldest change
// first, a page at a time. Each of the gateway's tickets on a page has its audits read and
// delivered (syncTicket); the cursor moves on only once a whole page is stored, and is kept
// in the gateway's store, so a restart goes on where it stopped and nothing is lost. In mode
// webhook it runs as a slow safety net for notifications Zendesk gave up on.

// cursorKey is the Cursors key of the export cursor.
const cursorKey = "incremental-tickets"

// firstLookBack is how far back the very first poll starts: the export requires a start
// time, and tickets the gateway created before it had a cursor are at most that old.
const firstLookBack = time.Hour

// exportPage is one page of the incremental export.
type exportPage struct {
	Tickets     []ticket `json:"tickets"`
	AfterCursor string   `json:"after_cursor"`
	EndOfStream bool     `json:"end_of_stream"`
}

// pollOnce reads pages of the export until its end or an error.
func (h *Helpdesk) pollOnce(ctx context.Context, sink connectors.Sink) error {
	cursor, err := h.cursor.Load(ctx)
	if err != nil {
		return fmt.Errorf("zendesk: %w", err)
	}
	for ctx.Err() == nil {
		q := "/api/v2/incremental/tickets/cursor?cursor=" + urlQuery(cursor)
		if cursor == "" {
			q = "/api/v2/incremental/tickets/cursor?start_time=" + strconv.FormatInt(h.now().Add(-firstLookBack).Unix(), 10)
		}
		var page exportPage
		if err := h.api.do(ctx, http.MethodGet, q, nil, &page, nil); err != nil {
			return fmt.Errorf("zendesk: incremental export: %w", err)
		}
		for _, t := range page.Tickets {
			if _, ours := h.conversationOf(t.ExternalID); !ours {
				continue
			}
			if err := h.syncTicket(ctx, sink, t.ID); err != nil {
				return err // the cursor stays before this page; the next poll reads it again
			}
		}
		if page.AfterCursor != "" && page.AfterCursor != cursor {
			if err := h.cursor.Save(ctx, page.AfterCursor); err != nil {
				return fmt.Errorf("zendesk: %w", err)
			}
			cursor = page.AfterCursor
		}
		if page.EndOfStream || page.AfterCursor == "" {
			return nil
		}
	}
	return nil
}
