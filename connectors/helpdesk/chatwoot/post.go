package chatwoot

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/helpdesk/hdkit"
	"github.com/casino-support/gateway/normalize"
)

// sourcePrefix starts the source_id of every message the gateway creates in Chatwoot: the
// gateway's message ID follows. A retry finds its message by it, and the hook knows its own
// messages by it (echo suppression).
const sourcePrefix = "gateway:"

// The conversation custom attributes the gateway sets (docs/chatwoot.md has agents' set-up).
const (
	attrConversation = "gateway_conversation" // the gateway's conversation ID: what a retry finds it by
	attrFollowUpOf   = "follow_up_of"         // the conversation this one follows up, once closed
)

// subjectRunes caps a conversation's subject taken from the first message.
const subjectRunes = 80

// Post opens the conversation in Chatwoot when it has none and adds each message as an
// incoming message of the player's contact, in order; an Update (a system message with
// Update set) instead sets the conversation's custom attributes and priority and becomes a
// private note. The external ID of a message is Chatwoot's message ID.
//
// Chatwoot takes no idempotency key, so a message with Attempt > 1, which may be in Chatwoot
// already, is looked up first: the conversation by the gateway_conversation attribute among
// the contact's conversations, a message by its source_id among the conversation's.
func (h *Helpdesk) Post(ctx context.Context, conv normalize.Conversation, msgs []connectors.Delivery) (normalize.Ref, []normalize.ExternalID, error) {
	if len(msgs) == 0 {
		return conv.Ticket, nil, nil
	}
	ticket := 0
	if conv.Ticket != "" {
		n, err := strconv.Atoi(string(conv.Ticket))
		if err != nil || n <= 0 {
			return conv.Ticket, nil, connectors.Permanent(fmt.Errorf("chatwoot: ticket reference %q is not a Chatwoot conversation id", conv.Ticket))
		}
		ticket = n
	}
	// A retry in this process may race the attempt whose outcome it does not know.
	defer h.convLocks.Lock(string(conv.ID))()

	// An earlier attempt's messages may be in Chatwoot when one is marked retried, or when the
	// conversation of a first post turned out to exist (an overlapping attempt made it).
	lookup := needsLookup(msgs)
	if ticket == 0 {
		n, fresh, err := h.openConversation(ctx, conv, msgs[0])
		if err != nil {
			return "", nil, err
		}
		ticket, lookup = n, !fresh
	}
	ref := normalize.Ref(strconv.Itoa(ticket))

	var posted map[string]int
	if lookup {
		var err error
		if posted, err = h.postedMessages(ctx, ticket); err != nil {
			return ref, nil, fmt.Errorf("chatwoot: look up the messages of conversation %d: %w", ticket, err)
		}
	}
	ids := make([]normalize.ExternalID, 0, len(msgs))
	for _, d := range msgs {
		if id, ok := posted[sourcePrefix+string(d.ID)]; ok {
			h.log.InfoContext(ctx, "chatwoot: message already in the conversation", "helpdesk", h.name, "conv", conv.ID, "msg_id", d.ID, "ticket", ticket, "message", id)
			ids = append(ids, normalize.ExternalID(strconv.Itoa(id)))
			continue
		}
		var id int
		var err error
		if d.Update != nil {
			id, err = h.applyUpdate(ctx, ticket, d.Message)
		} else {
			id, err = h.postMessage(ctx, ticket, d.Message)
		}
		if err != nil {
			return ref, ids, fmt.Errorf("chatwoot: post %s to conversation %d: %w", d.ID, ticket, err)
		}
		ids = append(ids, normalize.ExternalID(strconv.Itoa(id)))
	}
	return ref, ids, nil
}

func needsLookup(ds []connectors.Delivery) bool {
	for _, d := range ds {
		if d.Attempt > 1 {
			return true
		}
	}
	return false
}

// openConversation finds the conversation an earlier attempt opened or opens one, and
// reports whether it opened it now. It looks first whatever the attempt: an attempt 1 may
// overlap an attempt 2 of another replica whose lease on the conversation ran out, and only a
// player new to Chatwoot, whose contact was created just now, can have no conversation yet.
//
// The labels and the priority are set in requests of their own after the conversation
// exists. Should one fail, Post returns no ticket with the error: the router then retries
// with Attempt > 1, which finds the conversation and sets them again (both are idempotent),
// where a ticket returned with the error would be taken as complete.
func (h *Helpdesk) openConversation(ctx context.Context, conv normalize.Conversation, first connectors.Delivery) (int, bool, error) {
	contact, err := h.contactOf(ctx, conv)
	if err != nil {
		return 0, false, err
	}
	id := 0
	if !contact.fresh {
		if id, err = h.findConversation(ctx, contact.id, conv); err != nil {
			return 0, false, fmt.Errorf("chatwoot: look up the conversation of %s: %w", conv.ID, err)
		}
		if id > 0 {
			h.log.InfoContext(ctx, "chatwoot: found the conversation of an earlier attempt", "helpdesk", h.name, "conv", conv.ID, "msg_id", first.ID, "ticket", id)
		}
	}
	fresh := id == 0
	if fresh {
		var c conversation
		body := map[string]any{
			"source_id":             contact.sourceID,
			"inbox_id":              h.cfg.InboxID,
			"contact_id":            contact.id,
			"status":                "open",
			"additional_attributes": map[string]any{"mail_subject": followUpSubject(conv, hdkit.Subject(conv, first.Message, subjectRunes))},
			"custom_attributes":     conversationAttributes(conv, first.Message),
		}
		if err := h.api.do(ctx, http.MethodPost, "/conversations", nil, body, &c); err != nil {
			return 0, false, fmt.Errorf("chatwoot: open the conversation of %s: %w", conv.ID, err)
		}
		if c.ID <= 0 {
			return 0, false, fmt.Errorf("chatwoot: open the conversation of %s: Chatwoot answered no conversation id", conv.ID)
		}
		id = c.ID
		h.log.InfoContext(ctx, "chatwoot: conversation opened", "helpdesk", h.name, "conv", conv.ID, "msg_id", first.ID, "ticket", id, "contact", contact.id)
	}
	if labels := labelsOf(conv); len(labels) > 0 {
		if err := h.api.do(ctx, http.MethodPost, fmt.Sprintf("/conversations/%d/labels", id), nil, map[string]any{"labels": labels}, nil); err != nil {
			return 0, false, fmt.Errorf("chatwoot: label conversation %d: %w", id, err)
		}
	}
	if err := h.setPriority(ctx, id, ticketPriority(conv, first.Message)); err != nil {
		return 0, false, err
	}
	return id, fresh, nil
}

// findConversation returns the newest conversation of contact in the inbox that carries
// conv's ID and is not the one conv follows up, or 0.
func (h *Helpdesk) findConversation(ctx context.Context, contact int, conv normalize.Conversation) (int, error) {
	var res struct {
		Payload []conversation `json:"payload"`
	}
	if err := h.api.do(ctx, http.MethodGet, fmt.Sprintf("/contacts/%d/conversations", contact), nil, nil, &res); err != nil {
		return 0, err
	}
	old := followUpOf(conv)
	found := 0
	for _, c := range res.Payload {
		if c.InboxID != 0 && c.InboxID != h.cfg.InboxID {
			continue
		}
		if v, _ := c.CustomAttributes[attrConversation].(string); v == string(conv.ID) && strconv.Itoa(c.ID) != string(old) {
			found = max(found, c.ID)
		}
	}
	return found, nil
}

// followUpOf is the closed conversation conv's new one follows up, if any: the router
// moved the old ticket there when the player wrote after an agent resolved it (closed_ticket:
// follow_up). Chatwoot has no links between conversations, so the new one carries the old
// one's number in its follow_up_of attribute and the label follow-up, and its subject says so.
func followUpOf(conv normalize.Conversation) normalize.Ref {
	if conv.Ticket != "" {
		return ""
	}
	return conv.FollowUpOf
}

// postedMessages returns the messages of conversation id the gateway created, by source_id.
func (h *Helpdesk) postedMessages(ctx context.Context, id int) (map[string]int, error) {
	out := map[string]int{}
	err := h.walkMessages(ctx, id, func(m message) bool {
		if strings.HasPrefix(m.SourceID, sourcePrefix) {
			out[m.SourceID] = m.ID
		}
		return true
	})
	return out, err
}

// walkMessages hands conversation id's messages to visit, a page at a time, newest page
// first: Chatwoot lists 20 a page, oldest first within it, and older pages with
// before=<the oldest id seen>. It stops after the page on which visit returned false.
func (h *Helpdesk) walkMessages(ctx context.Context, id int, visit func(message) bool) error {
	before := 0
	for {
		q := url.Values{}
		if before > 0 {
			q.Set("before", strconv.Itoa(before))
		}
		var res struct {
			Payload []message `json:"payload"`
		}
		if err := h.api.do(ctx, http.MethodGet, fmt.Sprintf("/conversations/%d/messages", id), q, nil, &res); err != nil {
			return err
		}
		oldest, more := 0, len(res.Payload) > 0
		for _, m := range res.Payload {
			if oldest == 0 || m.ID < oldest {
				oldest = m.ID
			}
			if !visit(m) {
				more = false
			}
		}
		if !more || (before > 0 && oldest >= before) {
			return nil
		}
		before = oldest
	}
}

// postMessage adds a player's message as an incoming message of the contact: JSON without
// files, multipart/form-data with attachments[] with them, the one way Chatwoot takes files.
func (h *Helpdesk) postMessage(ctx context.Context, ticket int, m normalize.Message) (int, error) {
	path := fmt.Sprintf("/conversations/%d/messages", ticket)
	content := messageText(m)
	var res message
	if len(m.Attachments) == 0 {
		err := h.api.do(ctx, http.MethodPost, path, nil, map[string]any{"content": content, "message_type": "incoming",
			"private": false, "content_type": "text", "source_id": sourcePrefix + string(m.ID)}, &res)
		return res.ID, answered(err, res.ID)
	}
	if h.blobs == nil {
		return 0, connectors.Permanent(fmt.Errorf("message %s: %w", m.ID, errNoBlobs))
	}
	files := make([]part, 0, len(m.Attachments))
	for _, a := range m.Attachments {
		rc, err := h.blobs.Open(ctx, a.BlobRef)
		if err != nil {
			return 0, fmt.Errorf("attachment %q of %s: %w", a.Name, m.ID, err)
		}
		defer rc.Close()
		typ := a.MediaType
		if typ == "" {
			typ = "application/octet-stream"
		}
		files = append(files, part{name: fileName(a.Name), mediaType: typ, content: rc})
	}
	fields := map[string]string{"content": content, "message_type": "incoming", "private": "false", "source_id": sourcePrefix + string(m.ID)}
	err := h.api.multipart(ctx, path, fields, files, &res)
	return res.ID, answered(err, res.ID)
}

// answered checks that a 2xx answer named the message it created.
func answered(err error, id int) error {
	if err == nil && id <= 0 {
		return fmt.Errorf("Chatwoot answered no message id")
	}
	return err
}

// applyUpdate applies a change of the conversation's metadata: the custom attributes, the
// priority, and a private note saying it in words for the agents.
func (h *Helpdesk) applyUpdate(ctx context.Context, ticket int, m normalize.Message) (int, error) {
	u := m.Update
	attrs := map[string]any{"language": u.Language, "vip_tier": u.VIPTier, "priority": string(u.Priority), "sla_state": string(u.SLA.State())}
	if u.PlayerID != "" {
		attrs["player_id"] = u.PlayerID
	}
	if !u.SLA.DueAt.IsZero() {
		attrs["sla_due_at"] = u.SLA.DueAt.UTC().Format("2006-01-02T15:04:05Z")
	}
	if err := h.api.do(ctx, http.MethodPost, fmt.Sprintf("/conversations/%d/custom_attributes", ticket), nil,
		map[string]any{"custom_attributes": attrs}, nil); err != nil {
		return 0, fmt.Errorf("set custom attributes: %w", err)
	}
	if err := h.setPriority(ctx, ticket, chatwootPriority(u.Priority, u.VIPTier, u.SLA.State() == normalize.SLABreached)); err != nil {
		return 0, err
	}
	text := strings.TrimSpace(m.Text)
	if text == "" {
		text = "Conversation details changed."
	}
	var res message
	err := h.api.do(ctx, http.MethodPost, fmt.Sprintf("/conversations/%d/messages", ticket), nil, map[string]any{"content": text,
		"message_type": "outgoing", "private": true, "content_type": "text", "source_id": sourcePrefix + string(m.ID)}, &res)
	return res.ID, answered(err, res.ID)
}

// setPriority sets the conversation's priority (toggle_priority sets the value given).
func (h *Helpdesk) setPriority(ctx context.Context, ticket int, p string) error {
	if err := h.api.do(ctx, http.MethodPost, fmt.Sprintf("/conversations/%d/toggle_priority", ticket), nil, map[string]any{"priority": p}, nil); err != nil {
		return fmt.Errorf("chatwoot: set the priority of conversation %d: %w", ticket, err)
	}
	return nil
}

// chatwootPriority maps a priority to Chatwoot's (low, medium, high, urgent): a VIP player or
// a missed first-response target moves the conversation up one step, both together two.
func chatwootPriority(p normalize.Priority, vipTier int, breached bool) string {
	steps := []string{"low", "medium", "high", "urgent"}
	n := p.Rank()
	if vipTier > 0 {
		n++
	}
	if breached {
		n++
	}
	return steps[min(n, len(steps)-1)]
}

// ticketPriority is the priority of a new conversation: from the first message's Update when
// it is one (the newest word on the conversation), else from the conversation.
func ticketPriority(conv normalize.Conversation, first normalize.Message) string {
	if u := first.Update; u != nil {
		return chatwootPriority(u.Priority, u.VIPTier, u.SLA.State() == normalize.SLABreached)
	}
	tier := max(conv.Player.VIPTier, first.Author.VIPTier)
	return chatwootPriority(conv.Priority, tier, conv.SLA.State() == normalize.SLABreached)
}

// conversationAttributes are the custom attributes a conversation is opened with.
func conversationAttributes(conv normalize.Conversation, first normalize.Message) map[string]any {
	tier := max(conv.Player.VIPTier, first.Author.VIPTier)
	attrs := map[string]any{
		attrConversation: string(conv.ID),
		"channel":        string(conv.Channel),
		"channel_kind":   string(conv.ChannelKind),
		"language":       conv.Language,
		"vip_tier":       tier,
		"priority":       string(conv.Priority),
		"sla_state":      string(conv.SLA.State()),
	}
	if conv.Player.PlayerID != "" {
		attrs["player_id"] = conv.Player.PlayerID
	}
	if !conv.SLA.DueAt.IsZero() {
		attrs["sla_due_at"] = conv.SLA.DueAt.UTC().Format("2006-01-02T15:04:05Z")
	}
	if old := followUpOf(conv); old != "" {
		attrs[attrFollowUpOf] = string(old)
	}
	return attrs
}

// labelsOf are the conversation's tags as Chatwoot labels (lower case, no blanks), and
// "vip" for a VIP player, so agents can filter on them.
func labelsOf(conv normalize.Conversation) []string {
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		s = strings.ToLower(strings.Join(strings.Fields(s), "-"))
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, t := range conv.Tags {
		add(t)
	}
	if conv.Player.VIPTier > 0 {
		add("vip")
	}
	if followUpOf(conv) != "" {
		add("follow-up")
	}
	return out
}

// messageText is what an agent reads of a player's message. Chatwoot refuses a message
// without content or files (422 "Content can't be blank"), which would dead-letter a sticker
// or a reaction without words, so such a message says what it was.
func messageText(m normalize.Message) string {
	text := m.Text
	if m.Location != nil {
		text = strings.TrimSpace(text + fmt.Sprintf("\nLocation: %.6f,%.6f", m.Location.Latitude, m.Location.Longitude))
	}
	if strings.TrimSpace(text) == "" && len(m.Attachments) == 0 {
		text = "(" + cmp.Or(string(m.Kind), "empty message") + ")"
	}
	return text
}

// followUpSubject names the conversation a follow-up continues in its subject, where agents
// see it first.
func followUpSubject(conv normalize.Conversation, subject string) string {
	if old := followUpOf(conv); old != "" {
		return fmt.Sprintf("%s (follow-up of #%s)", subject, old)
	}
	return subject
}

// fileName is a file's name without path separators or quotes, which a multipart header
// cannot carry.
func fileName(name string) string {
	name = strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == '"' || r < 0x20 {
			return '_'
		}
		return r
	}, name)
	if strings.TrimSpace(name) == "" {
		return "attachment"
	}
	return name
}
