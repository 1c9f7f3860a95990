package zammad

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/casino-support/gateway/connectors"
)

// The poller asks Zammad's ticket search for the tickets updated since its cursor, oldest
// change first, a page at a time (Zammad has no change feed; the search needs its search
// index, Elasticsearch). Each of the gateway's tickets found has its articles and history
// read and delivered (syncTicket); the cursor, the newest updated_at stored, moves on only
// once a whole page is stored and is kept in the gateway's store, so a restart goes on where
// it stopped. A page re-read after a failure is delivered again and the store drops what it
// has. In mode webhook it runs as a slow safety net for webhooks Zammad gave up on.

// cursorKey is the Cursors key of the poll cursor.
const cursorKey = "tickets-updated"

// firstLookBack is how far back the very first poll starts.
const firstLookBack = time.Hour

// overlap is how far before the cursor each poll starts, for tickets updated in the same
// second as the last one seen and for the search index's lag.
const overlap = 2 * time.Minute

// searchPage is the page size of the search (Zammad allows up to 200).
const searchPage = 100

// maxPages bounds one poll; the next one goes on from the cursor.
const maxPages = 50

// pollOnce reads the tickets updated since the cursor.
func (h *Helpdesk) pollOnce(ctx context.Context, sink connectors.Sink) error {
	cursor, err := h.cursor.Load(ctx)
	if err != nil {
		return fmt.Errorf("zammad: %w", err)
	}
	since := h.now().Add(-firstLookBack)
	if c, err := time.Parse(time.RFC3339Nano, cursor); err == nil {
		since = c.Add(-overlap)
	}
	newest := cursor
	for page := 1; page <= maxPages && ctx.Err() == nil; page++ {
		// Relative to the search index's clock (date math, "now-Ns"): no time of day in the
		// query, whose colons the query syntax would take for fields, and no reliance on the
		// two clocks agreeing beyond the overlap.
		ago := int64(h.now().Sub(since)/time.Second) + 1
		q := fmt.Sprintf("/api/v1/tickets/search?expand=true&sort_by=updated_at&order_by=asc&page=%d&per_page=%d&query=%s",
			page, searchPage, query(fmt.Sprintf("updated_at:>=now-%ds", ago)))
		var list []ticket
		if err := h.api.do(ctx, http.MethodGet, q, nil, &list, 0); err != nil {
			return fmt.Errorf("zammad: tickets updated since %s: %w", since.Format(time.RFC3339), err)
		}
		for _, t := range list {
			if t.attr(h.cfg.Attributes.Conversation) != "" {
				if err := h.syncTicket(ctx, sink, t.ID); err != nil {
					return err // the cursor stays before this page; the next poll reads it again
				}
			}
			if t.UpdatedAt > newest {
				newest = t.UpdatedAt
			}
		}
		if newest != cursor {
			if err := h.cursor.Save(ctx, newest); err != nil {
				return fmt.Errorf("zammad: %w", err)
			}
			cursor = newest
		}
		if len(list) < searchPage {
			return nil
		}
	}
	return nil
}
