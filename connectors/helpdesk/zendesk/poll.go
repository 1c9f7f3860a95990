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
			h.log.ErrorContext(ctx, "zendesk: Zendesk refuses the gateway's credentials; check email, token and their role", "helpdesk", h.name, "err", err)
			connectors.ReportHealth(sink, h.name, err)
		case err != nil:
			h.log.WarnContext(ctx, "zendesk: poll failed", "helpdesk", h.name, "err", err)
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

// exportPage is one page of the incremental export.
type exportPage struct {
	Tickets     []ticket `json:"tickets"`
	AfterCursor string   `json:"after_cursor"`
	EndOfStream bool     `json:"end_of_stream"`
}

// pollOnce reads pages of the export until its end or an error.
func (h *Helpdesk) pollOnce(ctx context.Context, sink connectors.Sink) error {
	cursor, err := h.loadCursor(ctx)
	if err != nil {
		return err
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
			if err := h.saveCursor(ctx, page.AfterCursor); err != nil {
				return err
			}
			cursor = page.AfterCursor
		}
		if page.EndOfStream || page.AfterCursor == "" {
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
		return "", fmt.Errorf("zendesk: load the export cursor: %w", err)
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
		return fmt.Errorf("zendesk: save the export cursor: %w", err)
	}
	return nil
}
