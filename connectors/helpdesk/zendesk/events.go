package zendesk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/helpdesk/hdkit"
	"github.com/casino-support/gateway/normalize"
)

// auditsPage is the page size of the audits read per ticket.
const auditsPage = 100

// syncTicket reads the audits of a ticket and delivers to sink what agents did there since
// the last audit delivered: public replies, status changes and assignments. It returns nil
// once all of it is stored, or the ticket is none of the gateway's; only then may the hook
// acknowledge the notification or the poller move its cursor on.
func (h *Helpdesk) syncTicket(ctx context.Context, sink connectors.Sink, id int64) error {
	unlock := h.ticketLocks.LockID(id)
	defer unlock()
	var t struct {
		Ticket ticket `json:"ticket"`
	}
	if err := h.api.do(ctx, http.MethodGet, "/api/v2/tickets/"+itoa(id), nil, &t, nil); err != nil {
		if errors.Is(err, connectors.ErrNotFound) {
			h.log.InfoContext(ctx, "zendesk: notified of a ticket that is gone", "helpdesk", h.name, "ticket", id)
			return nil
		}
		return fmt.Errorf("zendesk: ticket %d: %w", id, err)
	}
	conv, ok := h.conversationOf(t.Ticket.ExternalID)
	if !ok {
		h.log.DebugContext(ctx, "zendesk: passing over a ticket the gateway did not create", "helpdesk", h.name, "ticket", id)
		return nil
	}
	after := h.seenAudit(id)
	var msgs []normalize.Message
	last := after
	next := fmt.Sprintf("/api/v2/tickets/%d/audits?page[size]=%d", id, auditsPage)
	for next != "" {
		var page struct {
			cursorPage
			Audits []audit `json:"audits"`
		}
		if err := h.api.do(ctx, http.MethodGet, next, nil, &page, nil); err != nil {
			return fmt.Errorf("zendesk: audits of ticket %d: %w", id, err)
		}
		for _, a := range page.Audits {
			if a.ID <= after {
				continue
			}
			got, err := h.auditMessages(ctx, conv, a)
			if err != nil {
				return err
			}
			msgs = append(msgs, got...)
			last = max(last, a.ID)
		}
		next = ""
		if page.Meta.HasMore && page.Links.Next != "" {
			next = page.Links.Next
		}
	}
	if err := hdkit.DeliverEvents(ctx, sink, h.log, "zendesk", h.name, conv, id, msgs, func(m normalize.Message) {
		h.metrics.events.WithLabelValues(hdkit.EventKind(m)).Inc()
	}); err != nil {
		return err
	}
	h.markSeen(id, last)
	return nil
}

// auditMessages maps one audit's events to outbound messages. Passed over: internal notes,
// comments by anyone who is not an agent (the player's own, which the gateway posted), the
// gateway's own comments (by the IDs it recorded and by marker), and all else.
func (h *Helpdesk) auditMessages(ctx context.Context, conv normalize.ConversationID, a audit) ([]normalize.Message, error) {
	sent, _ := time.Parse(time.RFC3339, a.CreatedAt)
	var out []normalize.Message
	for _, e := range a.Events {
		base := normalize.Message{Direction: normalize.Outbound, Source: h.name, Conversation: conv,
			Ticket: normalize.Ref(itoa(a.TicketID)), SentAt: sent}
		switch {
		case e.Type == "Comment":
			m, ok, err := h.reply(ctx, base, a, e)
			if err != nil {
				return nil, err
			}
			if ok {
				out = append(out, m)
			}
		case e.Type == "Change" && e.FieldName == "status":
			st, ok := conversationStatus(string(e.Value))
			prev, _ := conversationStatus(string(e.PreviousValue))
			if !ok || st == prev {
				continue
			}
			author, err := h.author(ctx, a.AuthorID)
			if err != nil {
				return nil, err
			}
			base.ExternalID = normalize.ExternalID(fmt.Sprintf("audit-%d-status", a.ID))
			base.Kind, base.Status, base.Author = normalize.KindSystem, st, author
			base.Text = fmt.Sprintf("Ticket %s in Zendesk by %s.", e.Value, nameOr(author.DisplayName, "Zendesk"))
			out = append(out, base)
		case e.Type == "Change" && e.FieldName == "assignee_id":
			author, err := h.author(ctx, a.AuthorID)
			if err != nil {
				return nil, err
			}
			agent := normalize.Agent{}
			base.Text = fmt.Sprintf("Ticket unassigned in Zendesk by %s.", nameOr(author.DisplayName, "Zendesk"))
			if v := string(e.Value); v != "" {
				assignee, err := h.author(ctx, parseID(v))
				if err != nil {
					return nil, err
				}
				agent = normalize.Agent{ID: v, Name: assignee.DisplayName}
				base.Text = fmt.Sprintf("Ticket assigned to %s in Zendesk by %s.", nameOr(assignee.DisplayName, v), nameOr(author.DisplayName, "Zendesk"))
			}
			base.ExternalID = normalize.ExternalID(fmt.Sprintf("audit-%d-assignee", a.ID))
			base.Kind, base.Assignee, base.Author = normalize.KindSystem, &agent, author
			out = append(out, base)
		}
	}
	return out, nil
}

// reply maps a comment event to an agent's reply, or passes it over.
func (h *Helpdesk) reply(ctx context.Context, m normalize.Message, a audit, e event) (normalize.Message, bool, error) {
	authorID := e.AuthorID
	if authorID == 0 {
		authorID = a.AuthorID
	}
	_, marked := hdkit.MarkedID(e.Body)
	_, own := h.own.Get(e.ID)
	switch {
	case !e.Public:
		h.log.DebugContext(ctx, "zendesk: passing over an internal note", "helpdesk", h.name, "ticket", a.TicketID, "comment", e.ID)
		h.metrics.events.WithLabelValues(eventIgnoredNote).Inc()
		return m, false, nil
	case own || marked:
		h.metrics.events.WithLabelValues(eventIgnoredEcho).Inc()
		return m, false, nil // the gateway's own comment: a player's message it posted
	}
	u, err := h.user(ctx, authorID)
	if err != nil {
		return m, false, err
	}
	if u.Role != "agent" && u.Role != "admin" {
		h.metrics.events.WithLabelValues(eventIgnoredOther).Inc()
		return m, false, nil // the player (or another end user) writing in Zendesk directly
	}
	text := e.PlainBody
	if text == "" {
		text = e.Body
	}
	m.ExternalID = normalize.ExternalID(itoa(e.ID))
	m.Author = normalize.Author{Role: normalize.RoleAgent, DisplayName: u.Name, ExternalID: itoa(u.ID)}
	m.Kind, m.Text = normalize.KindText, strings.TrimSpace(text)
	for _, att := range e.Attachments {
		stored, err := h.fetchFile(ctx, att)
		switch {
		case err == nil:
			m.Attachments = append(m.Attachments, stored)
		case connectors.IsPermanent(err) || errors.Is(err, connectors.ErrTooLarge):
			// The file can never be sent; the reply goes with a line naming it.
			h.log.WarnContext(ctx, "zendesk: an agent's file cannot be sent", "helpdesk", h.name, "ticket", a.TicketID, "file", att.FileName, "err", err)
			m.Text = strings.TrimSpace(m.Text + "\n(file not sent: " + att.FileName + ")")
		default:
			return m, false, err
		}
	}
	if m.Text == "" && len(m.Attachments) > 0 {
		m.Kind = normalize.KindDocument
	}
	return m, true, nil
}

// fetchFile downloads an agent's file into the blob store.
func (h *Helpdesk) fetchFile(ctx context.Context, a attachment) (normalize.Attachment, error) {
	if h.blobs == nil {
		return normalize.Attachment{}, connectors.Permanent(errors.New("no blob store configured"))
	}
	resp, err := h.api.download(ctx, a.ContentURL)
	if err != nil {
		return normalize.Attachment{}, err
	}
	defer resp.Body.Close()
	typ := a.ContentType
	if typ == "" {
		typ = "application/octet-stream"
	}
	stored, err := h.blobs.Put(ctx, io.Reader(resp.Body), a.FileName, typ)
	if err != nil {
		return normalize.Attachment{}, fmt.Errorf("store %q: %w", a.FileName, err)
	}
	return stored, nil
}

// user returns a Zendesk user, remembered.
func (h *Helpdesk) user(ctx context.Context, id int64) (user, error) {
	if id <= 0 {
		return user{}, nil // Zendesk itself (-1): triggers and automations
	}
	if u, ok := h.users.Get(id); ok {
		return u, nil
	}
	var out struct {
		User user `json:"user"`
	}
	if err := h.api.do(ctx, http.MethodGet, "/api/v2/users/"+itoa(id), nil, &out, nil); err != nil {
		if errors.Is(err, connectors.ErrNotFound) {
			return user{ID: id}, nil // deleted since: an unknown author
		}
		return user{}, fmt.Errorf("zendesk: user %d: %w", id, err)
	}
	h.users.Put(id, out.User)
	return out.User, nil
}

// author is the Author of a system message by the user id: an agent's name, or Zendesk's
// own automations.
func (h *Helpdesk) author(ctx context.Context, id int64) (normalize.Author, error) {
	u, err := h.user(ctx, id)
	if err != nil {
		return normalize.Author{}, err
	}
	if u.ID == 0 {
		return normalize.Author{Role: normalize.RoleSystem, DisplayName: "Zendesk"}, nil
	}
	return normalize.Author{Role: normalize.RoleAgent, DisplayName: u.Name, ExternalID: itoa(u.ID)}, nil
}

// conversationStatus maps Zendesk's ticket statuses: solved and closed close the
// conversation, pending and on-hold make it wait, new and open open it.
func conversationStatus(s string) (normalize.Status, bool) {
	switch s {
	case "new", "open":
		return normalize.StatusOpen, true
	case "pending", "hold":
		return normalize.StatusPending, true
	case "solved", "closed":
		return normalize.StatusClosed, true
	}
	return "", false
}

func nameOr(name, fallback string) string {
	if name != "" {
		return name
	}
	return fallback
}

func parseID(s string) int64 {
	var n int64
	if _, err := fmt.Sscan(s, &n); err != nil {
		return 0
	}
	return n
}

func (h *Helpdesk) seenAudit(ticket int64) int64 {
	h.seenMu.Lock()
	defer h.seenMu.Unlock()
	return h.seen[ticket]
}

// markSeen notes the last audit of ticket delivered. The map is bounded: forgetting costs a
// re-delivery the store drops as a duplicate, never a lost event.
func (h *Helpdesk) markSeen(ticket, audit int64) {
	h.seenMu.Lock()
	defer h.seenMu.Unlock()
	if len(h.seen) >= hdkit.MaxMemo {
		h.seen = map[int64]int64{}
	}
	h.seen[ticket] = audit
}

// forgetSeen makes the next sync of ticket read its audits from the start, as after a restart.
func (h *Helpdesk) forgetSeen(ticket int64) {
	h.seenMu.Lock()
	defer h.seenMu.Unlock()
	delete(h.seen, ticket)
}
