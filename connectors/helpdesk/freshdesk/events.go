package freshdesk

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/helpdesk/hdkit"
	"github.com/casino-support/gateway/normalize"
)

// seenTicket is what was delivered of a ticket: its conversations up to LastConv and its
// status, so the next sync delivers only what changed.
type seenTicket struct {
	LastConv int64
	Status   int
}

// syncTicket reads a ticket and its conversations and delivers to sink what agents did there
// since the last sync: public replies and status changes. It returns nil once all of it is
// stored, or the ticket is none of the gateway's; only then may the hook acknowledge the
// notification or the poller move its cursor on.
func (h *Helpdesk) syncTicket(ctx context.Context, sink connectors.Sink, id int64) error {
	unlock := h.ticketLocks.LockID(id)
	defer unlock()
	var t ticket
	if _, err := h.api.do(ctx, http.MethodGet, "/api/v2/tickets/"+itoa(id), nil, &t); err != nil {
		if errors.Is(err, connectors.ErrNotFound) {
			h.log.InfoContext(ctx, "freshdesk: notified of a ticket that is gone", "helpdesk", h.name, "ticket", id)
			return nil
		}
		return fmt.Errorf("freshdesk: ticket %d: %w", id, err)
	}
	conv, ok := h.conversationOf(t.Description)
	if !ok {
		h.log.DebugContext(ctx, "freshdesk: passing over a ticket the gateway did not create", "helpdesk", h.name, "ticket", id)
		return nil
	}
	seen, known := h.seen.Get(id)
	if !known {
		// A ticket starts open; one first seen in another status has that change delivered
		// (again, after a restart: the store applies a status it has without sending anything).
		seen.Status = statusOpen
	}
	convs, err := h.conversations(ctx, id)
	if err != nil {
		return err
	}
	var msgs []normalize.Message
	last := seen.LastConv
	for _, c := range convs {
		if c.ID <= seen.LastConv {
			continue
		}
		m, ok, err := h.reply(ctx, conv, t, c)
		if err != nil {
			return err
		}
		if ok {
			msgs = append(msgs, m)
		}
		last = max(last, c.ID)
	}
	if st, ok := conversationStatus(t.Status); ok {
		if prev, _ := conversationStatus(seen.Status); st != prev {
			at, _ := time.Parse(time.RFC3339, t.UpdatedAt)
			msgs = append(msgs, normalize.Message{Direction: normalize.Outbound, Source: h.name, Conversation: conv,
				Ticket: normalize.Ref(itoa(id)), SentAt: at, Kind: normalize.KindSystem, Status: st,
				Author: normalize.Author{Role: normalize.RoleSystem, DisplayName: "Freshdesk"},
				// Freshdesk keeps no audit of status changes the API reads: the ticket's
				// updated_at tells one change from the next.
				ExternalID: normalize.ExternalID(fmt.Sprintf("status-%d-%d-%s", id, t.Status, t.UpdatedAt)),
				Text:       fmt.Sprintf("Ticket %s in Freshdesk.", statusName(t.Status))})
		}
	}
	if err := hdkit.DeliverEvents(ctx, sink, h.log, "freshdesk", h.name, conv, id, msgs, func(m normalize.Message) {
		h.metrics.events.WithLabelValues(hdkit.EventKind(m)).Inc()
	}); err != nil {
		return err
	}
	h.seen.Put(id, seenTicket{LastConv: last, Status: t.Status})
	return nil
}

// reply maps a conversation of the ticket to an agent's reply, or passes it over: private
// notes, public notes (agents answer the player with Reply), the player's incoming notes and
// the gateway's own notes (by the IDs it recorded and by marker).
func (h *Helpdesk) reply(ctx context.Context, conv normalize.ConversationID, t ticket, c conversation) (normalize.Message, bool, error) {
	_, marked := markedID(c.Body)
	own, _ := h.own.Get(c.ID)
	switch {
	case own || marked:
		h.metrics.events.WithLabelValues(eventIgnoredEcho).Inc()
		return normalize.Message{}, false, nil
	case c.Private || c.Source != convReply:
		h.log.DebugContext(ctx, "freshdesk: passing over a note", "helpdesk", h.name, "ticket", t.ID, "conversation", c.ID, "private", c.Private)
		h.metrics.events.WithLabelValues(eventIgnoredNote).Inc()
		return normalize.Message{}, false, nil
	case c.Incoming || c.UserID == t.RequesterID:
		h.metrics.events.WithLabelValues(eventIgnoredPlayer).Inc()
		return normalize.Message{}, false, nil // the player (or a customer) writing in Freshdesk directly
	}
	name, err := h.agentName(ctx, c.UserID)
	if err != nil {
		return normalize.Message{}, false, err
	}
	sent, _ := time.Parse(time.RFC3339, c.CreatedAt)
	text := strings.TrimSpace(c.BodyText)
	if text == "" {
		text = plainText(c.Body)
	}
	m := normalize.Message{Direction: normalize.Outbound, Source: h.name, Conversation: conv, Ticket: normalize.Ref(itoa(t.ID)),
		SentAt: sent, ExternalID: normalize.ExternalID(itoa(c.ID)), Kind: normalize.KindText, Text: text,
		Author: normalize.Author{Role: normalize.RoleAgent, DisplayName: name, ExternalID: itoa(c.UserID)}}
	for _, att := range c.Attachments {
		stored, err := h.fetchFile(ctx, att)
		switch {
		case err == nil:
			m.Attachments = append(m.Attachments, stored)
		case connectors.IsPermanent(err) || errors.Is(err, connectors.ErrTooLarge):
			// The file can never be sent; the reply goes with a line naming it.
			h.log.WarnContext(ctx, "freshdesk: an agent's file cannot be sent", "helpdesk", h.name, "ticket", t.ID, "file", att.Name, "err", err)
			m.Text = strings.TrimSpace(m.Text + "\n(file not sent: " + att.Name + ")")
		default:
			return m, false, err
		}
	}
	if m.Text == "" && len(m.Attachments) > 0 {
		m.Kind = normalize.KindDocument
	}
	return m, true, nil
}

var (
	breakTags = regexp.MustCompile(`(?i)<br\s*/?>|</(div|p|li|h[1-6])>`)
	anyTag    = regexp.MustCompile(`<[^>]*>`)
)

// plainText is an HTML body's text, for a conversation without body_text.
func plainText(body string) string {
	s := breakTags.ReplaceAllString(body, "\n")
	return strings.TrimSpace(html.UnescapeString(anyTag.ReplaceAllString(s, "")))
}

// fetchFile downloads an agent's file into the blob store.
func (h *Helpdesk) fetchFile(ctx context.Context, a attachment) (normalize.Attachment, error) {
	if h.blobs == nil {
		return normalize.Attachment{}, connectors.Permanent(errors.New("no blob store configured"))
	}
	resp, err := h.api.download(ctx, a.AttachmentURL)
	if err != nil {
		return normalize.Attachment{}, err
	}
	defer resp.Body.Close()
	typ := a.ContentType
	if typ == "" {
		typ = "application/octet-stream"
	}
	stored, err := h.blobs.Put(ctx, io.Reader(resp.Body), a.Name, typ)
	if err != nil {
		return normalize.Attachment{}, fmt.Errorf("store %q: %w", a.Name, err)
	}
	return stored, nil
}

// agentName returns an agent's name, remembered; an agent deleted since is "Freshdesk agent".
func (h *Helpdesk) agentName(ctx context.Context, id int64) (string, error) {
	if name, ok := h.agents.Get(id); ok {
		return name, nil
	}
	var a agent
	if _, err := h.api.do(ctx, http.MethodGet, "/api/v2/agents/"+itoa(id), nil, &a); err != nil {
		if errors.Is(err, connectors.ErrNotFound) {
			return "Freshdesk agent", nil
		}
		return "", fmt.Errorf("freshdesk: agent %d: %w", id, err)
	}
	name := nameOr(a.Contact.Name, "Freshdesk agent")
	h.agents.Put(id, name)
	return name, nil
}

// conversationStatus maps Freshdesk's ticket statuses: resolved and closed close the
// conversation, open opens it, pending and custom statuses (waiting on someone) make it wait.
func conversationStatus(s int) (normalize.Status, bool) {
	switch {
	case s == statusOpen:
		return normalize.StatusOpen, true
	case s == statusResolved || s == statusClosed:
		return normalize.StatusClosed, true
	case s == statusPending || s > statusClosed:
		return normalize.StatusPending, true
	}
	return "", false
}

func statusName(s int) string {
	switch s {
	case statusOpen:
		return "opened"
	case statusPending:
		return "pending"
	case statusResolved:
		return "resolved"
	case statusClosed:
		return "closed"
	}
	return fmt.Sprintf("in status %d", s)
}

func nameOr(name, fallback string) string {
	if name != "" {
		return name
	}
	return fallback
}
