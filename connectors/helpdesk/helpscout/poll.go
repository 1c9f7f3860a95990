package helpscout

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/casino-support/gateway/connectors"
)

// The poller lists the inbox's conversations modified since its cursor (modifiedSince,
// sorted by modification, oldest first), a page at a time, and syncs each of the gateway's
// (syncConversation). The cursor is the time the pass started, less an overlap for changes
// Help Scout indexes late, and moves on only once a whole pass is stored; it is kept in the
// gateway's store, so a restart goes on where it stopped and nothing is lost. A conversation
// read twice delivers nothing twice: the seen threads are skipped, and the store drops what
// it already holds. In mode webhook it runs as a slow safety net.

// cursorKey is the Cursors key of the poller's position.
const cursorKey = "modified-since"

// firstLookBack is how far back the very first poll starts.
const firstLookBack = time.Hour

// overlap is how far before a pass's start the next one begins.
const overlap = time.Minute

// maxPollPages bounds one pass; the rest waits for the next (the cursor stays).
const maxPollPages = 200

// pollOnce reads one pass of modified conversations.
func (h *Helpdesk) pollOnce(ctx context.Context, sink connectors.Sink) error {
	since, err := h.cursor.Load(ctx)
	if err != nil {
		return err
	}
	start := h.now().UTC()
	if since == "" {
		since = start.Add(-firstLookBack).Format(time.RFC3339)
	}
	for n := 1; n <= maxPollPages; n++ {
		q := url.Values{"mailbox": {strconv.FormatInt(h.cfg.MailboxID, 10)}, "status": {"all"}, "modifiedSince": {since},
			"sortField": {"modifiedAt"}, "sortOrder": {"asc"}, "page": {strconv.Itoa(n)}}
		var pg struct {
			Embedded struct {
				Conversations []conversation `json:"conversations"`
			} `json:"_embedded"`
			Page page `json:"page"`
		}
		if _, err := h.api.do(ctx, http.MethodGet, "/v2/conversations?"+q.Encode(), nil, &pg); err != nil {
			return fmt.Errorf("helpscout: modified conversations: %w", err)
		}
		for _, c := range pg.Embedded.Conversations {
			if _, ours := h.conversationOf(c.Tags); !ours {
				continue
			}
			if err := h.syncConversation(ctx, sink, c.ID); err != nil {
				return err // the cursor stays; the next pass reads this again
			}
		}
		if pg.Page.Number >= pg.Page.TotalPages || len(pg.Embedded.Conversations) == 0 {
			if err := h.cursor.Save(ctx, start.Add(-overlap).Format(time.RFC3339)); err != nil {
				return fmt.Errorf("helpscout: %w", err)
			}
			return nil
		}
	}
	return nil
}
