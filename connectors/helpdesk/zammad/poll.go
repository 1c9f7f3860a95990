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

const saveTimeout = 5 * time.Second

// pollLoop polls every interval until ctx ends.
func (h *Helpdesk) pollLoop(ctx context.Context, sink connectors.Sink, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		err := h.pollOnce(ctx, sink)
		switch {
		case ctx.Err() != nil:
		case connectors.IsUnauthorized(err):
			h.log.ErrorContext(ctx, "zammad: Zammad refuses the gateway's token; check it and its permissions", "helpdesk", h.name, "err", err)
			connectors.ReportHealth(sink, h.name, err)
		case err != nil:
			h.log.WarnContext(ctx, "zammad: poll failed", "helpdesk", h.name, "err", err)
			connectors.ReportHealth(sink, h.name, err)
		default:
			connectors.ReportHealth(sink, h.name, nil)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// pollOnce reads the tickets updated since the cursor.
func (h *Helpdesk) pollOnce(ctx context.Context, sink connectors.Sink) error {
	cursor, err := h.loadCursor(ctx)
	if err != nil {
		return err
	}
	since := h.now().Add(-firstLookBack)
	if c, err := time.Parse(time.RFC3339Nano, cursor); err == nil {
		since = c.Add(-overlap)
	}
	newest := cursor
	for page := 1; page <= maxPages && ctx.Err() == nil; page++ {
		q := fmt.Sprintf("/api/v1/tickets/search?expand=true&sort_by=updated_at&order_by=asc&page=%d&per_page=%d&query=%s",
			page, searchPage, query("updated_at:>="+since.UTC().Format(time.RFC3339)))
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
			if err := h.saveCursor(ctx, newest); err != nil {
				return err
			}
			cursor = newest
		}
		if len(list) < searchPage {
			return nil
		}
	}
	return nil
}

func (h *Helpdesk) loadCursor(ctx context.Context) (string, error) {
	h.cursorMu.Lock()
	defer h.cursorMu.Unlock()
	if h.cursor != "" || h.cursors == nil {
		return h.cursor, nil
	}
	c, err := h.cursors.Cursor(ctx, h.name, cursorKey)
	if err != nil {
		return "", fmt.Errorf("zammad: load the poll cursor: %w", err)
	}
	h.cursor = c
	return c, nil
}

func (h *Helpdesk) saveCursor(ctx context.Context, c string) error {
	h.cursorMu.Lock()
	defer h.cursorMu.Unlock()
	h.cursor = c
	if h.cursors == nil {
		return nil
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), saveTimeout)
	defer cancel()
	if err := h.cursors.SetCursor(sctx, h.name, cursorKey, c); err != nil {
		return fmt.Errorf("zammad: save the poll cursor: %w", err)
	}
	return nil
}
