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

// saveTimeout bounds storing the cursor after ctx ended.
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
			h.log.ErrorContext(ctx, "freshdesk: Freshdesk refuses the gateway's API key; check api_key and the agent's role", "helpdesk", h.name, "err", err)
			connectors.ReportHealth(sink, h.name, err)
		case err != nil:
			h.log.WarnContext(ctx, "freshdesk: poll failed", "helpdesk", h.name, "err", err)
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

// pollOnce reads the pages of updated tickets until the last or an error.
func (h *Helpdesk) pollOnce(ctx context.Context, sink connectors.Sink) error {
	cursor, err := h.loadCursor(ctx)
	if err != nil {
		return err
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
			if err := h.saveCursor(ctx, latest); err != nil {
				return err
			}
			cursor = latest
		}
		next = nextPage(hdr)
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
		return "", fmt.Errorf("freshdesk: load the poll cursor: %w", err)
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
		return fmt.Errorf("freshdesk: save the poll cursor: %w", err)
	}
	return nil
}
