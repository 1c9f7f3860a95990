package zammad

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/helpdesk/hdkit"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/normalize/htmltext"
)

// syncTicket reads a ticket's articles and history and delivers to sink what agents did
// there since the last delivery: public replies, state and owner changes, in the order they
// happened. It returns nil once all of it is stored, or the ticket is none of the gateway's;
// only then may the hook acknowledge the webhook or the poller move its cursor on.
func (h *Helpdesk) syncTicket(ctx context.Context, sink connectors.Sink, id int64) error {
	unlock := h.ticketLocks.LockID(id)
	defer unlock()
	var t ticket
	if err := h.api.do(ctx, http.MethodGet, "/api/v1/tickets/"+itoa(id)+"?expand=true", nil, &t, 0); err != nil {
		if errors.Is(err, connectors.ErrNotFound) {
			h.log.InfoContext(ctx, "zammad: notified of a ticket that is gone", "helpdesk", h.name, "ticket", id)
			return nil
		}
		return fmt.Errorf("zammad: ticket %d: %w", id, err)
	}
	conv := normalize.ConversationID(t.attr(h.cfg.Attributes.Conversation))
	if conv == "" {
		h.log.DebugContext(ctx, "zammad: passing over a ticket the gateway did not create", "helpdesk", h.name, "ticket", id)
		return nil
	}
	seen := h.seenOf(id)
	arts, err := h.articles(ctx, id)
	if err != nil {
		return err
	}
	var hist struct {
		History []history `json:"history"`
	}
	if err := h.api.do(ctx, http.MethodGet, "/api/v1/ticket_history/"+itoa(id), nil, &hist, 0); err != nil {
		return fmt.Errorf("zammad: history of ticket %d: %w", id, err)
	}
	type event struct {
		at  string
		seq int
		msg normalize.Message
	}
	var events []event
	last := seen
	base := normalize.Message{Direction: normalize.Outbound, Source: h.name, Conversation: conv, Ticket: normalize.Ref(itoa(id))}
	for i, a := range arts {
		if a.ID <= seen.article {
			continue
		}
		last.article = max(last.article, a.ID)
		m, ok, err := h.reply(ctx, base, a)
		if err != nil {
			return err
		}
		if ok {
			events = append(events, event{a.CreatedAt, i, m})
		}
	}
	for i, e := range hist.History {
		if e.ID <= seen.history || e.Object != "Ticket" || e.Type != "updated" {
			continue
		}
		last.history = max(last.history, e.ID)
		m, ok, err := h.change(ctx, base, e)
		if err != nil {
			return err
		}
		if ok {
			events = append(events, event{e.CreatedAt, len(arts) + i, m})
		}
	}
	// Zammad's timestamps are to the millisecond and of one clock: they order articles and
	// changes together; ties keep articles first, each list in its own order.
	slices.SortStableFunc(events, func(a, b event) int { return cmp.Or(strings.Compare(a.at, b.at), a.seq-b.seq) })
	msgs := make([]normalize.Message, 0, len(events))
	for _, e := range events {
		msgs = append(msgs, e.msg)
	}
	if err := hdkit.DeliverEvents(ctx, sink, h.log, "zammad", h.name, conv, id, msgs, func(m normalize.Message) {
		h.metrics.events.WithLabelValues(hdkit.EventKind(m)).Inc()
	}); err != nil {
		return err
	}
	h.markSeen(id, last)
	return nil
}

// reply maps an article to an agent's reply, or passes it over: internal notes, the
// customer's articles (the player's, which the gateway posted or the player wrote in
// Zammad), system articles, and the articles the gateway wrote (by the IDs it recorded and
// by marker).
func (h *Helpdesk) reply(ctx context.Context, m normalize.Message, a article) (normalize.Message, bool, error) {
	_, marked := markedID(a.Body)
	own, _ := h.own.Get(a.ID)
	switch {
	case a.Internal:
		h.log.DebugContext(ctx, "zammad: passing over an internal note", "helpdesk", h.name, "ticket", a.TicketID, "article", a.ID)
		h.metrics.events.WithLabelValues(eventIgnoredNote).Inc()
		return m, false, nil
	case own || marked:
		h.metrics.events.WithLabelValues(eventIgnoredEcho).Inc()
		return m, false, nil
	case a.Sender != "Agent":
		h.metrics.events.WithLabelValues(eventIgnoredOther).Inc()
		return m, false, nil
	}
	u, err := h.user(ctx, a.CreatedByID)
	if err != nil {
		return m, false, err
	}
	text := a.Body
	if strings.Contains(strings.ToLower(a.ContentType), "html") {
		text = htmltext.Text(a.Body)
	}
	m.SentAt, _ = time.Parse(time.RFC3339, a.CreatedAt)
	m.ExternalID = normalize.ExternalID(itoa(a.ID))
	m.Author = normalize.Author{Role: normalize.RoleAgent, DisplayName: u.name(), ExternalID: itoa(a.CreatedByID)}
	m.Kind, m.Text = normalize.KindText, strings.TrimSpace(text)
	for _, att := range a.Attachments {
		stored, err := h.fetchFile(ctx, a, att)
		switch {
		case err == nil:
			m.Attachments = append(m.Attachments, stored)
		case connectors.IsPermanent(err) || errors.Is(err, connectors.ErrTooLarge):
			// The file can never be sent; the reply goes with a line naming it.
			h.log.WarnContext(ctx, "zammad: an agent's file cannot be sent", "helpdesk", h.name, "ticket", a.TicketID, "file", att.Filename, "err", err)
			m.Text = strings.TrimSpace(m.Text + "\n(file not sent: " + att.Filename + ")")
		default:
			return m, false, err
		}
	}
	if m.Text == "" && len(m.Attachments) > 0 {
		m.Kind = normalize.KindDocument
	}
	return m, true, nil
}

// change maps a history entry to a state change or an assignment, or passes it over. Its
// ExternalID is the entry's own ID, so closing a ticket twice is two changes.
func (h *Helpdesk) change(ctx context.Context, m normalize.Message, e history) (normalize.Message, bool, error) {
	switch e.Attribute {
	case "state":
		st, ok := conversationStatus(e.ValueTo)
		prev, _ := conversationStatus(e.ValueFrom)
		if !ok || st == prev {
			return m, false, nil
		}
		author, err := h.author(ctx, e.CreatedByID)
		if err != nil {
			return m, false, err
		}
		m.SentAt, _ = time.Parse(time.RFC3339, e.CreatedAt)
		m.ExternalID = normalize.ExternalID(fmt.Sprintf("history-%d-state", e.ID))
		m.Kind, m.Status, m.Author = normalize.KindSystem, st, author
		m.Text = fmt.Sprintf("Ticket %s in Zammad by %s.", e.ValueTo, nameOr(author.DisplayName, "Zammad"))
		return m, true, nil
	case "owner":
		author, err := h.author(ctx, e.CreatedByID)
		if err != nil {
			return m, false, err
		}
		agent := normalize.Agent{}
		m.Text = fmt.Sprintf("Ticket unassigned in Zammad by %s.", nameOr(author.DisplayName, "Zammad"))
		if e.IDTo != nil && *e.IDTo > 1 { // user 1 is Zammad's "-": nobody
			owner, err := h.user(ctx, *e.IDTo)
			if err != nil {
				return m, false, err
			}
			agent = normalize.Agent{ID: itoa(*e.IDTo), Name: owner.name()}
			m.Text = fmt.Sprintf("Ticket assigned to %s in Zammad by %s.", nameOr(owner.name(), e.ValueTo), nameOr(author.DisplayName, "Zammad"))
		}
		m.SentAt, _ = time.Parse(time.RFC3339, e.CreatedAt)
		m.ExternalID = normalize.ExternalID(fmt.Sprintf("history-%d-owner", e.ID))
		m.Kind, m.Assignee, m.Author = normalize.KindSystem, &agent, author
		return m, true, nil
	}
	return m, false, nil
}

// fetchFile downloads an agent's file into the blob store.
func (h *Helpdesk) fetchFile(ctx context.Context, a article, att attachment) (normalize.Attachment, error) {
	if h.blobs == nil {
		return normalize.Attachment{}, connectors.Permanent(errors.New("no blob store configured"))
	}
	resp, err := h.api.download(ctx, a.TicketID, a.ID, att.ID)
	if err != nil {
		return normalize.Attachment{}, err
	}
	defer resp.Body.Close()
	stored, err := h.blobs.Put(ctx, io.Reader(resp.Body), att.Filename, att.mediaType())
	if err != nil {
		return normalize.Attachment{}, fmt.Errorf("store %q: %w", att.Filename, err)
	}
	return stored, nil
}

// user returns a Zammad user, remembered.
func (h *Helpdesk) user(ctx context.Context, id int64) (user, error) {
	if id <= 1 {
		return user{}, nil // 1 is Zammad itself: triggers, schedulers
	}
	if u, ok := h.users.Get(id); ok {
		return u, nil
	}
	var out user
	if err := h.api.do(ctx, http.MethodGet, "/api/v1/users/"+itoa(id)+"?expand=true", nil, &out, 0); err != nil {
		if errors.Is(err, connectors.ErrNotFound) {
			return user{ID: id}, nil // deleted since: an unknown author
		}
		return user{}, fmt.Errorf("zammad: user %d: %w", id, err)
	}
	h.users.Put(id, out)
	return out, nil
}

// author is the Author of a system message by the user id.
func (h *Helpdesk) author(ctx context.Context, id int64) (normalize.Author, error) {
	u, err := h.user(ctx, id)
	if err != nil {
		return normalize.Author{}, err
	}
	if u.ID == 0 {
		return normalize.Author{Role: normalize.RoleSystem, DisplayName: "Zammad"}, nil
	}
	return normalize.Author{Role: normalize.RoleAgent, DisplayName: u.name(), ExternalID: itoa(u.ID)}, nil
}

// conversationStatus maps Zammad's default ticket states: closed and merged close the
// conversation, the pending ones make it wait, new and open open it.
func conversationStatus(s string) (normalize.Status, bool) {
	switch {
	case s == "new" || s == "open":
		return normalize.StatusOpen, true
	case strings.HasPrefix(s, "pending"):
		return normalize.StatusPending, true
	case s == "closed" || s == "merged":
		return normalize.StatusClosed, true
	}
	return "", false
}

func nameOr(name, fallback string) string {
	if strings.TrimSpace(name) != "" {
		return name
	}
	return fallback
}
