package helpscout

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/helpdesk/hdkit"
	"github.com/casino-support/gateway/normalize"
)

// maxThreadPages bounds the pages of threads read for one conversation (Help Scout answers
// them newest first, a page at a time).
const maxThreadPages = 100

// threads returns every thread of a conversation, oldest first.
func (h *Helpdesk) threads(ctx context.Context, conv int64) ([]thread, error) {
	return h.threadsAfter(ctx, conv, 0)
}

// threadsAfter returns the threads of a conversation, oldest first: those after thread after
// at least (after 0: all). Help Scout lists threads newest first, so the pages stop once one
// reaches back to after; a page in any other order is read on, so nothing is missed should
// the order change.
func (h *Helpdesk) threadsAfter(ctx context.Context, conv, after int64) ([]thread, error) {
	var out []thread
	for n := 1; n <= maxThreadPages; n++ {
		var pg struct {
			Embedded struct {
				Threads []thread `json:"threads"`
			} `json:"_embedded"`
			Page page `json:"page"`
		}
		if _, err := h.api.do(ctx, http.MethodGet, fmt.Sprintf("/v2/conversations/%d/threads?page=%d", conv, n), nil, &pg); err != nil {
			return nil, fmt.Errorf("helpscout: threads of conversation %d: %w", conv, err)
		}
		ts := pg.Embedded.Threads
		out = append(out, ts...)
		if pg.Page.Number >= pg.Page.TotalPages || len(ts) == 0 {
			break
		}
		newestFirst := slices.IsSortedFunc(ts, func(a, b thread) int { return int(b.ID - a.ID) })
		if after > 0 && newestFirst && ts[len(ts)-1].ID <= after {
			break
		}
	}
	slices.SortFunc(out, func(a, b thread) int { return int(a.ID - b.ID) })
	return slices.CompactFunc(out, func(a, b thread) bool { return a.ID == b.ID }), nil
}

// syncConversation reads the threads of a Help Scout conversation and delivers to sink what
// agents did there since the last thread delivered: published replies and status changes.
// It returns nil once all of it is stored, or the conversation is none of the gateway's; only
// then may the hook acknowledge the notification or the poller move its cursor on.
func (h *Helpdesk) syncConversation(ctx context.Context, sink connectors.Sink, id int64) error {
	unlock := h.locks.Lock("sync:" + itoa(id))
	defer unlock()
	var c conversation
	if _, err := h.api.do(ctx, http.MethodGet, "/v2/conversations/"+itoa(id), nil, &c); err != nil {
		if errors.Is(err, connectors.ErrNotFound) {
			h.log.InfoContext(ctx, "helpscout: notified of a conversation that is gone", "helpdesk", h.name, "ticket", id)
			return nil
		}
		return fmt.Errorf("helpscout: conversation %d: %w", id, err)
	}
	conv, ok := h.conversationOf(c.Tags)
	if !ok {
		h.log.DebugContext(ctx, "helpscout: passing over a conversation the gateway did not create", "helpdesk", h.name, "ticket", id)
		return nil
	}
	seen := h.seenOf(id)
	threads, err := h.threadsAfter(ctx, id, seen.thread)
	if err != nil {
		return err
	}
	status := "active" // a conversation the gateway creates starts active
	if seen.thread > 0 && seen.status != "" {
		status = seen.status // the threads up to seen.thread may not all have been read
	}
	var msgs []normalize.Message
	last := seen
	for _, t := range threads {
		if t.ID <= seen.thread {
			continue
		}
		m, err := h.threadMessages(ctx, conv, id, t, status)
		if err != nil {
			return err
		}
		msgs = append(msgs, m...)
		if t.Status != "" && t.Status != "nochange" {
			status = t.Status
		}
		last = seenState{thread: t.ID, status: status}
	}
	if err := hdkit.DeliverEvents(ctx, sink, h.log, "helpscout", h.name, conv, id, msgs, func(m normalize.Message) {
		h.metrics.events.WithLabelValues(hdkit.EventKind(m)).Inc()
	}); err != nil {
		return err
	}
	h.seen.Put(id, last)
	return nil
}

// threadMessages maps one thread to outbound messages: an agent's published reply, and the
// status change it made (a reply and close is both), prev being the conversation's status
// before it. Passed over: notes, customer threads (the player's own, which the gateway wrote)
// and the status they set, the gateway's own threads, drafts.
func (h *Helpdesk) threadMessages(ctx context.Context, conv normalize.ConversationID, id int64, t thread, prev string) ([]normalize.Message, error) {
	sent, _ := time.Parse(time.RFC3339, t.CreatedAt)
	base := normalize.Message{Direction: normalize.Outbound, Source: h.name, Conversation: conv, Ticket: normalize.Ref(itoa(id)), SentAt: sent}
	author := normalize.Author{Role: normalize.RoleSystem, DisplayName: "Help Scout"}
	if t.CreatedBy.Type == "user" && t.CreatedBy.ID != 0 {
		author = normalize.Author{Role: normalize.RoleAgent, DisplayName: strings.TrimSpace(t.CreatedBy.First + " " + t.CreatedBy.Last), ExternalID: itoa(t.CreatedBy.ID)}
	}
	_, marked := hdkit.MarkedID(plain(t.Body))
	own, _ := h.own.Get(t.ID)
	var out []normalize.Message
	switch {
	case own || marked:
		h.metrics.events.WithLabelValues(eventIgnoredEcho).Inc()
		return nil, nil // the gateway's own thread: a player's message or a note it wrote
	case t.Type == "note":
		h.log.DebugContext(ctx, "helpscout: passing over a note", "helpdesk", h.name, "ticket", id, "thread", t.ID)
		h.metrics.events.WithLabelValues(eventIgnoredNote).Inc()
	case t.Type == "customer":
		h.metrics.events.WithLabelValues(eventIgnoredPlayer).Inc()
		return nil, nil // the player writing in Help Scout directly (by e-mail): not a status change of an agent's
	case t.Type == "reply" || t.Type == "chat" && t.CreatedBy.Type == "user":
		if t.State != "" && t.State != "published" {
			h.metrics.events.WithLabelValues(eventIgnoredDraft).Inc()
			return nil, nil
		}
		m, err := h.reply(ctx, base, author, id, t)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	if st, ok := conversationStatus(t.Status); ok && t.Status != prev && t.Status != "nochange" {
		s := base
		s.ExternalID = normalize.ExternalID(fmt.Sprintf("thread-%d-status", t.ID))
		s.Kind, s.Status, s.Author = normalize.KindSystem, st, author
		s.Text = fmt.Sprintf("Conversation %s in Help Scout by %s.", t.Status, author.DisplayName)
		out = append(out, s)
	}
	return out, nil
}

// reply maps an agent's reply thread to a message, its files downloaded.
func (h *Helpdesk) reply(ctx context.Context, m normalize.Message, author normalize.Author, id int64, t thread) (normalize.Message, error) {
	m.ExternalID = normalize.ExternalID(itoa(t.ID))
	m.Author = author
	m.Kind, m.Text = normalize.KindText, plain(t.Body)
	for _, a := range t.Embedded.Attachments {
		stored, err := h.fetchFile(ctx, id, a)
		switch {
		case err == nil:
			m.Attachments = append(m.Attachments, stored)
		case connectors.IsPermanent(err) || errors.Is(err, connectors.ErrTooLarge):
			// The file can never be sent; the reply goes with a line naming it.
			h.log.WarnContext(ctx, "helpscout: an agent's file cannot be sent", "helpdesk", h.name, "ticket", id, "file", a.Filename, "err", err)
			m.Text = strings.TrimSpace(m.Text + "\n(file not sent: " + a.Filename + ")")
		default:
			return m, err
		}
	}
	if m.Text == "" && len(m.Attachments) > 0 {
		m.Kind = normalize.KindDocument
	}
	return m, nil
}

// fetchFile downloads an agent's file (Help Scout answers its data base64 in JSON) into the
// blob store.
func (h *Helpdesk) fetchFile(ctx context.Context, conv int64, a attachment) (normalize.Attachment, error) {
	if h.blobs == nil {
		return normalize.Attachment{}, connectors.Permanent(errors.New("no blob store configured"))
	}
	if a.Size > maxInlineFile {
		return normalize.Attachment{}, connectors.Permanent(fmt.Errorf("%d bytes: %w", a.Size, connectors.ErrTooLarge))
	}
	var out struct {
		Data string `json:"data"`
	}
	if _, err := h.api.do(ctx, http.MethodGet, fmt.Sprintf("/v2/conversations/%d/attachments/%d/data", conv, a.ID), nil, &out); err != nil {
		return normalize.Attachment{}, fmt.Errorf("attachment %d: %w", a.ID, err)
	}
	content, err := base64.StdEncoding.DecodeString(out.Data)
	if err != nil {
		return normalize.Attachment{}, connectors.Permanent(fmt.Errorf("attachment %d: data is not base64: %w", a.ID, err))
	}
	typ := a.MimeType
	if typ == "" {
		typ = "application/octet-stream"
	}
	stored, err := h.blobs.Put(ctx, bytes.NewReader(content), a.Filename, typ)
	if err != nil {
		return normalize.Attachment{}, fmt.Errorf("store %q: %w", a.Filename, err)
	}
	return stored, nil
}

// conversationStatus maps Help Scout's statuses: closed closes the conversation, pending
// makes it wait, active opens it.
func conversationStatus(s string) (normalize.Status, bool) {
	switch s {
	case "active":
		return normalize.StatusOpen, true
	case "pending":
		return normalize.StatusPending, true
	case "closed":
		return normalize.StatusClosed, true
	}
	return "", false
}
