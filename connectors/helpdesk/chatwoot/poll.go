package chatwoot

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

// The modes of Config.Mode.
const (
	ModeWebhook = "webhook" // the inbox's webhook; a reconciling poll now and then
	ModePoll    = "poll"    // no webhook reaches the gateway: only the poll
)

// cursorKey names the poller's position in the gateway's store: the last_activity_at (Unix
// seconds) up to which every conversation's agents' replies were handed over.
const cursorKey = "activity"

// pollSettle is how far back of its cursor each poll reads again: a message can commit in
// Chatwoot with a created_at a moment before a conversation's last_activity_at that an earlier
// poll saw. What it reads twice, the store drops as duplicates (by the message ID).
const pollSettle = time.Minute

// firstLookback is where a poller without a stored position starts: before it, only the
// webhook could have brought replies.
const firstLookback = 10 * time.Minute

// maxPollPages bounds the conversation pages one poll reads (25 a page, newest activity
// first); a longer backlog is read on by the next polls, as the cursor moves.
const maxPollPages = 20

// poll reads what agents did in the inbox's conversations the gateway opened, from a cursor
// kept in the gateway's store, and hands it to sink: in mode poll the only way replies and
// status changes arrive; in mode webhook every reconcile_interval, for webhooks Chatwoot gave
// up on (releases that sign nothing never retry one) or sent while no replica ran. It runs on
// one replica at a time.
func (h *Helpdesk) poll(ctx context.Context, sink connectors.Sink, every time.Duration) error {
	return connectors.RunSingleton(ctx, sink, h.name, "chatwoot/"+string(h.name), func(ctx context.Context) error {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if err := h.pollOnce(ctx, sink); err != nil && ctx.Err() == nil {
				connectors.ReportHealth(sink, h.name, authProblem(err))
				h.log.WarnContext(ctx, "chatwoot: poll failed; the next one reads from the same cursor", "helpdesk", h.name, "err", err)
			}
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			}
		}
	})
}

// authProblem is err when Chatwoot refused the token, else nil (the remote answered).
func authProblem(err error) error {
	if connectors.IsUnauthorized(err) {
		return err
	}
	return nil
}

// pollOnce reads the conversations active since the cursor, newest first, hands over their
// agents' replies (and in mode poll their status), and moves the cursor once all is stored.
func (h *Helpdesk) pollOnce(ctx context.Context, sink connectors.Sink) error {
	cursor, err := h.loadCursor(ctx)
	if err != nil {
		return err
	}
	since := cursor.Add(-pollSettle)
	newest := cursor
	var batch []normalize.Message
	for page := 1; page <= maxPollPages; page++ {
		convs, err := h.activeConversations(ctx, page)
		if err != nil {
			return err
		}
		older := false
		for _, c := range convs {
			at := time.Unix(c.LastActivityAt, 0)
			if at.Before(since) {
				older = true
				break
			}
			if _, ours := c.CustomAttributes[attrConversation].(string); !ours {
				continue // a conversation the gateway did not open: no player of its own
			}
			msgs, err := h.conversationReplies(ctx, c, since)
			if err != nil {
				return fmt.Errorf("chatwoot: poll conversation %d: %w", c.ID, err)
			}
			batch = append(batch, msgs...)
			if at.After(newest) {
				newest = at
			}
		}
		if older || len(convs) == 0 {
			break
		}
	}
	batch = h.unseen(batch)
	if len(batch) > 0 {
		settled, err := connectors.DeliverBatch(ctx, sink, batch, func(i int, err error) error {
			if connectors.IsPermanent(err) {
				h.log.WarnContext(ctx, "chatwoot: polled event refused for good", "helpdesk", h.name, "ticket", batch[i].Ticket, "external_id", batch[i].ExternalID, "err", err)
				return nil
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("chatwoot: hand over %d of %d polled events: %w", len(batch)-settled, len(batch), err)
		}
	}
	h.markSeen(batch, since)
	connectors.ReportHealth(sink, h.name, nil)
	if newest.After(cursor) {
		return h.saveCursor(ctx, newest)
	}
	return nil
}

// statusChanged reports whether conversation id's status differs from what this poller saw
// last, and notes it. A conversation seen first counts as changed unless it is open (the
// status every conversation starts with), so each activity (a new message, a label) does not
// repeat its status into the thread.
func (h *Helpdesk) statusChanged(id int, status string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.polledStatus == nil {
		h.polledStatus = map[int]string{}
	}
	last, seen := h.polledStatus[id]
	h.polledStatus[id] = status
	if !seen {
		return status != "open"
	}
	return last != status
}

// unseen drops from batch what this poller handed over before: each poll reads pollSettle
// back of its cursor again, and the store would only drop it as a duplicate after a write
// (and a reply's files downloaded again).
func (h *Helpdesk) unseen(batch []normalize.Message) []normalize.Message {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := batch[:0:0]
	for _, m := range batch {
		if _, ok := h.polledSeen[m.ExternalID]; !ok {
			out = append(out, m)
		}
	}
	return out
}

// markSeen notes batch as handed over, and forgets what lies before since: no poll reads it
// again.
func (h *Helpdesk) markSeen(batch []normalize.Message, since time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.polledSeen == nil {
		h.polledSeen = map[normalize.ExternalID]time.Time{}
	}
	now := h.now()
	for _, m := range batch {
		h.polledSeen[m.ExternalID] = now
	}
	for id, at := range h.polledSeen {
		if at.Before(since.Add(-pollSettle)) {
			delete(h.polledSeen, id)
		}
	}
}

// polledConversation is a conversation of the inbox's list with its activity.
type polledConversation struct {
	conversation
	LastActivityAt int64 `json:"last_activity_at"`
	// UpdatedAt is Unix seconds with a fraction, in releases that send it: it tells a status
	// set twice within a second apart, which last_activity_at cannot.
	UpdatedAt float64 `json:"updated_at"`
}

// changedAt is the conversation's last change as text, as exact as Chatwoot says it.
func (c polledConversation) changedAt() string {
	if c.UpdatedAt > 0 {
		return strconv.FormatFloat(c.UpdatedAt, 'f', 6, 64)
	}
	return strconv.FormatInt(c.LastActivityAt, 10)
}

// activeConversations lists one page of the inbox's conversations of every status and
// assignee, the most recently active first (Chatwoot's default order).
func (h *Helpdesk) activeConversations(ctx context.Context, page int) ([]polledConversation, error) {
	var res struct {
		Data struct {
			Payload []polledConversation `json:"payload"`
		} `json:"data"`
	}
	q := url.Values{"inbox_id": {strconv.Itoa(h.cfg.InboxID)}, "status": {"all"}, "assignee_type": {"all"}, "page": {strconv.Itoa(page)}}
	if err := h.api.do(ctx, http.MethodGet, "/conversations", q, nil, &res); err != nil {
		return nil, err
	}
	return res.Data.Payload, nil
}

// conversationReplies returns the agents' replies of c created since since, oldest first,
// and, in mode poll, its status.
func (h *Helpdesk) conversationReplies(ctx context.Context, c polledConversation, since time.Time) ([]normalize.Message, error) {
	var found []message
	err := h.walkMessages(ctx, c.ID, func(m message) bool {
		if time.Time(m.CreatedAt).Before(since) {
			return false // older pages hold nothing newer
		}
		found = append(found, m)
		return true
	})
	if err != nil {
		return nil, err
	}
	var out []normalize.Message
	slices.SortFunc(found, func(a, b message) int { return a.ID - b.ID }) // pages were read newest first
	for _, m := range found {
		ev := event{Event: "message_created", message: m}
		ev.Conversation = &eventConversation{ID: c.ID, InboxID: h.cfg.InboxID}
		if msg, _, ok := h.reply(ctx, ev); ok {
			out = append(out, msg)
		}
	}
	if h.cfg.Mode == ModePoll && h.statusChanged(c.ID, c.Status) {
		if st, ok := statuses[c.Status]; ok {
			out = append(out, normalize.Message{Direction: normalize.Outbound, Source: h.name,
				// One key per status and update: a later poll of the same state is a duplicate.
				ExternalID: normalize.ExternalID(fmt.Sprintf("status-%d-%s-%s", c.ID, c.Status, c.changedAt())),
				Ticket:     normalize.Ref(strconv.Itoa(c.ID)), Author: normalize.Author{Role: normalize.RoleAgent},
				Kind: normalize.KindSystem, Status: st, Text: "Conversation " + c.Status + " in Chatwoot.", SentAt: h.now().UTC()})
		}
	}
	return out, nil
}

// loadCursor returns the stored position, or firstLookback ago for a poller without one.
func (h *Helpdesk) loadCursor(ctx context.Context) (time.Time, error) {
	start := h.now().Add(-firstLookback)
	if h.cursors == nil {
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.memCursor.IsZero() {
			h.memCursor = start
		}
		return h.memCursor, nil
	}
	v, err := h.cursors.Cursor(ctx, h.name, cursorKey)
	if err != nil {
		return time.Time{}, fmt.Errorf("chatwoot: read the poll cursor: %w", err)
	}
	if v == "" {
		return start, nil
	}
	secs, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, errors.New("chatwoot: the stored poll cursor " + strconv.Quote(v) + " is not Unix seconds")
	}
	return time.Unix(secs, 0), nil
}

func (h *Helpdesk) saveCursor(ctx context.Context, at time.Time) error {
	if h.cursors == nil {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.memCursor = at
		return nil
	}
	if err := h.cursors.SetCursor(ctx, h.name, cursorKey, strconv.FormatInt(at.Unix(), 10)); err != nil {
		return fmt.Errorf("chatwoot: store the poll cursor: %w", err)
	}
	return nil
}
