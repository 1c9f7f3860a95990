package helpscout

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/helpdesk/hdkit"
	"github.com/casino-support/gateway/normalize"
)

// subjectRunes caps a conversation subject taken from the first message.
const subjectRunes = 80

// followUpTag, with the conversation's id, tags a follow-up with the conversation it follows
// up: Help Scout has no link between conversations, and tags are what its views and search find.
const followUpTag = "follow-up-of-"

// maxInlineFile is the largest file sent inline: Help Scout takes attachments of up to 10 MB.
const maxInlineFile = 10 << 20

// Post creates the conversation in Help Scout when it has none (or the one it had is closed)
// and adds each message as a customer thread of the player, in order; an Update instead sets
// the conversation's tags and custom fields with a note. The external ID of a message is the
// Help Scout thread ID, which the hook recognises as the gateway's own.
//
// Help Scout has no idempotency key: Post always looks the conversation up by its tag before
// creating one, and a message with Attempt > 1 (or on a conversation found that way) is
// looked for by its marker among the threads before it is written a second time.
func (h *Helpdesk) Post(ctx context.Context, conv normalize.Conversation, msgs []connectors.Delivery) (normalize.Ref, []normalize.ExternalID, error) {
	if len(msgs) == 0 {
		return conv.Ticket, nil, nil
	}
	id, err := hdkit.TicketID(conv.Ticket, "helpscout", "Help Scout conversation")
	if err != nil {
		return conv.Ticket, nil, err
	}
	if !tagPattern.MatchString(h.convTag(conv.ID)) {
		return conv.Ticket, nil, connectors.Permanent(fmt.Errorf("helpscout: conversation id %q cannot be a Help Scout tag", conv.ID))
	}
	// Attempts of one conversation's post may overlap (a replica stalled past its lease while
	// another took the lane over); in this process they take turns, and the look-ups below
	// find what the one before wrote.
	unlock := h.locks.Lock("post:" + string(conv.ID))
	defer unlock()
	p := &poster{h: h, conv: conv, ticket: id}
	if id == 0 || conv.Status == normalize.StatusClosed {
		if err := p.resolve(ctx); err != nil {
			return p.ref(), nil, err
		}
	}
	ids := make([]normalize.ExternalID, 0, len(msgs))
	for _, d := range msgs {
		tid, err := p.post(ctx, d)
		if err != nil {
			return p.ref(), ids, err
		}
		ids = append(ids, normalize.ExternalID(itoa(tid)))
	}
	return p.ref(), ids, nil
}

// poster is one Post call's state: the conversation written to and what is known of it.
type poster struct {
	h      *Helpdesk
	conv   normalize.Conversation
	ticket int64  // the Help Scout conversation, 0 until one exists
	status string // its status when resolve found it
	// followUp is the conversation a new one follows up (closed under follow_up).
	followUp int64
	// customer is the player's customer, once known.
	customer *customerRef
	// found says the conversation had a Help Scout conversation the router did not know of:
	// an earlier attempt's, so every message is looked for before it is written.
	found bool
	// posted maps the gateway message IDs found on the threads to their thread IDs; loaded
	// once per Post, when a retried message needs it.
	posted map[normalize.MessageID]int64
}

func (p *poster) ref() normalize.Ref {
	if p.ticket == 0 {
		return ""
	}
	return normalize.Ref(itoa(p.ticket))
}

// resolve looks the conversation's Help Scout conversations up by tag and picks the one to
// write to: the newest that takes threads and is not the one the store wants followed up.
func (p *poster) resolve(ctx context.Context) error {
	h := p.h
	q := url.Values{"mailbox": {itoa(h.cfg.MailboxID)}, "status": {"all"}, "tag": {h.convTag(p.conv.ID)},
		"sortField": {"createdAt"}, "sortOrder": {"desc"}}
	var out struct {
		Embedded struct {
			Conversations []conversation `json:"conversations"`
		} `json:"_embedded"`
	}
	if _, err := h.api.do(ctx, http.MethodGet, "/v2/conversations?"+q.Encode(), nil, &out); err != nil {
		return fmt.Errorf("helpscout: find the conversations of %s: %w", p.conv.ID, err)
	}
	found := out.Embedded.Conversations
	slices.SortFunc(found, func(a, b conversation) int { return int(b.ID - a.ID) })
	p.ticket = 0
	for _, c := range found {
		if normalize.Ref(itoa(c.ID)) == p.conv.FollowUpOf {
			continue // the gateway decided on a follow-up, even if an agent reopened it since
		}
		if h.takesThreads(c.Status) {
			p.ticket, p.status, p.posted = c.ID, c.Status, nil
			p.found = p.conv.Ticket != normalize.Ref(itoa(c.ID))
			if c.PrimaryCustomer != nil && c.PrimaryCustomer.ID != 0 {
				p.customer = &customerRef{ID: c.PrimaryCustomer.ID}
			}
			return nil
		}
	}
	if len(found) > 0 {
		p.followUp = found[0].ID
		if c := found[0].PrimaryCustomer; c != nil && c.ID != 0 {
			p.customer = &customerRef{ID: c.ID} // the follow-up keeps the player's customer
		}
	}
	if p.conv.FollowUpOf != "" {
		p.followUp, _ = strconv.ParseInt(string(p.conv.FollowUpOf), 10, 64)
	}
	return nil
}

// takesThreads reports whether a player's message goes into a conversation of status: a
// closed one only under closed_ticket: reopen; never spam.
func (h *Helpdesk) takesThreads(status string) bool {
	switch status {
	case "closed":
		return h.cfg.ClosedTicket.Reopens()
	case "spam":
		return false
	}
	return true
}

// post writes one message: the conversation with it when none exists, else a thread, after
// looking for it there when an earlier write may have got through.
func (p *poster) post(ctx context.Context, d connectors.Delivery) (int64, error) {
	h := p.h
	if p.ticket != 0 && (d.Attempt > 1 || p.found) {
		if tid, ok, err := p.find(ctx, d.ID); err != nil || ok {
			if ok {
				h.own.Put(tid, true)
				h.log.InfoContext(ctx, "helpscout: message already in the conversation", "helpdesk", h.name, "conv", p.conv.ID, "msg_id", d.ID, "ticket", p.ticket)
			}
			return tid, err
		}
	}
	if p.ticket == 0 {
		return p.create(ctx, d.Message)
	}
	if p.status == "closed" {
		// closed_ticket: reopen, and the agent closed it: set it active before the message goes in.
		patch := map[string]string{"op": "replace", "path": "/status", "value": "active"}
		if _, err := h.api.do(ctx, http.MethodPatch, "/v2/conversations/"+itoa(p.ticket), patch, nil); err != nil {
			return 0, fmt.Errorf("helpscout: reopen conversation %d: %w", p.ticket, err)
		}
		h.log.InfoContext(ctx, "helpscout: conversation reopened", "helpdesk", h.name, "conv", p.conv.ID, "ticket", p.ticket)
		p.status = "active"
	}
	return p.append(ctx, d.Message)
}

// find returns the thread carrying message id in the conversation, if any.
func (p *poster) find(ctx context.Context, id normalize.MessageID) (int64, bool, error) {
	if p.posted == nil {
		threads, err := p.h.threads(ctx, p.ticket)
		if err != nil {
			return 0, false, err
		}
		p.posted = map[normalize.MessageID]int64{}
		for _, t := range threads {
			if mid, ok := hdkit.MarkedID(plain(t.Body)); ok {
				p.posted[mid] = t.ID
			}
		}
	}
	tid, ok := p.posted[id]
	return tid, ok, nil
}

// create opens the Help Scout conversation with m as its first customer thread. Help Scout
// answers the creation with the conversation's ID only, so the thread's ID is read back by
// its marker.
func (p *poster) create(ctx context.Context, m normalize.Message) (int64, error) {
	h := p.h
	cust, err := p.requester(ctx)
	if err != nil {
		return 0, err
	}
	th, err := h.thread(ctx, m)
	if err != nil {
		return 0, fmt.Errorf("helpscout: create the conversation of %s: %w", p.conv.ID, err)
	}
	th.Type, th.Customer = "customer", cust
	c := map[string]any{
		"subject":   hdkit.Subject(p.conv, m, subjectRunes),
		"customer":  cust,
		"mailboxId": h.cfg.MailboxID,
		"type":      conversationType(p.conv),
		"status":    "active",
		"tags":      h.tags(p.conv, m, p.followUp),
		"threads":   []newThread{th},
		// The player hears from the gateway, not from Help Scout's auto reply by e-mail.
		"autoReply": false,
	}
	if f := h.fields(p.conv, m.Update); len(f) > 0 {
		c["fields"] = f
	}
	if p.followUp != 0 {
		c["subject"] = fmt.Sprintf("%s (follow-up to #%d)", c["subject"], p.followUp)
	}
	a, err := h.api.do(ctx, http.MethodPost, "/v2/conversations", c, nil)
	if err != nil {
		return 0, fmt.Errorf("helpscout: create the conversation of %s: %w", p.conv.ID, err)
	}
	if a.resourceID == 0 {
		// Created, but the answer does not say which: the retry finds it by its tag.
		return 0, fmt.Errorf("helpscout: create the conversation of %s: the answer has no Resource-ID", p.conv.ID)
	}
	p.ticket, p.status, p.posted = a.resourceID, "active", nil
	h.log.InfoContext(ctx, "helpscout: conversation created", "helpdesk", h.name, "conv", p.conv.ID, "msg_id", m.ID, "ticket", p.ticket,
		"follow_up_of", p.followUp)
	tid, ok, err := p.find(ctx, m.ID)
	switch {
	case err != nil:
		return 0, fmt.Errorf("helpscout: read back the first thread of conversation %d: %w", p.ticket, err)
	case !ok:
		return 0, fmt.Errorf("helpscout: conversation %d has no thread of %s yet", p.ticket, m.ID)
	}
	h.own.Put(tid, true)
	return tid, nil
}

// append adds m to the conversation: a player's customer thread, or a note for an Update
// (after setting its tags and fields) or the gateway's own notice.
func (p *poster) append(ctx context.Context, m normalize.Message) (int64, error) {
	h := p.h
	th, err := h.thread(ctx, m)
	if err != nil {
		return 0, fmt.Errorf("helpscout: thread in conversation %d: %w", p.ticket, err)
	}
	path := "/v2/conversations/" + itoa(p.ticket) + "/customer"
	switch {
	case m.Update != nil:
		if err := p.update(ctx, m.Update); err != nil {
			return 0, err
		}
		path = "/v2/conversations/" + itoa(p.ticket) + "/notes"
	case m.Kind == normalize.KindSystem:
		// The gateway speaking (a notice), not the player: a note by the app's user.
		path = "/v2/conversations/" + itoa(p.ticket) + "/notes"
	default:
		cust, err := p.requester(ctx)
		if err != nil {
			return 0, err
		}
		th.Customer = cust
	}
	a, err := h.api.do(ctx, http.MethodPost, path, th, nil)
	if err != nil {
		return 0, fmt.Errorf("helpscout: thread in conversation %d: %w", p.ticket, err)
	}
	if a.resourceID == 0 {
		// Written, but the answer does not say which thread: the retry finds it by its marker.
		return 0, fmt.Errorf("helpscout: the answer of the thread in conversation %d has no Resource-ID", p.ticket)
	}
	h.own.Put(a.resourceID, true)
	return a.resourceID, nil
}

// update sets the conversation's metadata tags and custom fields from an Update. Help Scout
// replaces a conversation's tags as a whole, so they are read first and only the gateway's
// metadata tags are swapped.
func (p *poster) update(ctx context.Context, u *normalize.Update) error {
	h := p.h
	path := "/v2/conversations/" + itoa(p.ticket)
	if f := h.fields(p.conv, u); len(f) > 0 {
		if _, err := h.api.do(ctx, http.MethodPut, path+"/fields", map[string]any{"fields": f}, nil); err != nil {
			return fmt.Errorf("helpscout: fields of conversation %d: %w", p.ticket, err)
		}
	}
	var c conversation
	if _, err := h.api.do(ctx, http.MethodGet, path, nil, &c); err != nil {
		return fmt.Errorf("helpscout: conversation %d: %w", p.ticket, err)
	}
	var tags []string
	for _, t := range c.Tags {
		if !isMetaTag(t.Tag) {
			tags = append(tags, t.Tag)
		}
	}
	tags = append(tags, metaTags(u.Language, u.VIPTier, u.Priority, u.SLA.State())...)
	slices.Sort(tags)
	if _, err := h.api.do(ctx, http.MethodPut, path+"/tags", map[string]any{"tags": slices.Compact(tags)}, nil); err != nil {
		return fmt.Errorf("helpscout: tags of conversation %d: %w", p.ticket, err)
	}
	return nil
}

// thread is a message as a thread's text (HTML, ending with the marker) with its files inline.
func (h *Helpdesk) thread(ctx context.Context, m normalize.Message) (newThread, error) {
	th := newThread{Text: toHTML(hdkit.WithMarker(hdkit.Body(m), m.ID))}
	for _, a := range m.Attachments {
		f, err := h.inlineFile(ctx, a)
		if err != nil {
			return th, fmt.Errorf("attachment %q of %s: %w", a.Name, m.ID, err)
		}
		th.Attachments = append(th.Attachments, f)
	}
	return th, nil
}

// inlineFile reads one stored attachment for a thread: Help Scout takes files base64 in the
// thread's JSON.
func (h *Helpdesk) inlineFile(ctx context.Context, a normalize.Attachment) (newFile, error) {
	if h.blobs == nil {
		return newFile{}, connectors.Permanent(errors.New("the message has files but the gateway has no blob store configured"))
	}
	if a.Size > maxInlineFile {
		return newFile{}, connectors.Permanent(fmt.Errorf("%d bytes: Help Scout takes files of up to %d: %w", a.Size, maxInlineFile, connectors.ErrTooLarge))
	}
	rc, err := h.blobs.Open(ctx, a.BlobRef)
	if err != nil {
		return newFile{}, fmt.Errorf("open the stored file: %w", err)
	}
	defer rc.Close()
	content, err := io.ReadAll(io.LimitReader(rc, maxInlineFile+1))
	if err != nil {
		return newFile{}, fmt.Errorf("read the stored file: %w", err)
	}
	if len(content) > maxInlineFile {
		return newFile{}, connectors.Permanent(fmt.Errorf("over %d bytes: %w", maxInlineFile, connectors.ErrTooLarge))
	}
	typ := a.MediaType
	if typ == "" {
		typ = "application/octet-stream"
	}
	name := strings.TrimSpace(strings.NewReplacer("/", "_", "\\", "_").Replace(a.Name))
	if name == "" {
		name = "attachment"
	}
	return newFile{FileName: name, MimeType: typ, Data: base64.StdEncoding.EncodeToString(content)}, nil
}

// requester is the player as the customer of a thread: by e-mail when the player has one
// (Help Scout finds or creates the customer by it), else a customer the gateway created with
// the channel and address as a chat handle and no e-mail at all.
func (p *poster) requester(ctx context.Context) (*customerRef, error) {
	if p.customer != nil {
		return p.customer, nil
	}
	h, conv := p.h, p.conv
	first, last := names(conv)
	if email := hdkit.PlayerEmail(conv); email != "" {
		p.customer = &customerRef{Email: email, FirstName: first, LastName: last}
		return p.customer, nil
	}
	handle := string(conv.Channel) + ":" + string(conv.Address)
	if id, ok := h.customers.Get(handle); ok {
		p.customer = &customerRef{ID: id}
		return p.customer, nil
	}
	body := map[string]any{"firstName": first, "lastName": last,
		"chats":      []map[string]string{{"type": "other", "value": handle}},
		"background": "Player on " + string(conv.ChannelKind) + " " + handle + " (created by the support gateway)"}
	a, err := h.api.do(ctx, http.MethodPost, "/v2/customers", body, nil)
	if err != nil {
		return nil, fmt.Errorf("helpscout: create the customer of %s: %w", conv.ID, err)
	}
	if a.resourceID == 0 {
		return nil, fmt.Errorf("helpscout: create the customer of %s: the answer has no Resource-ID", conv.ID)
	}
	h.customers.Put(handle, a.resourceID)
	p.customer = &customerRef{ID: a.resourceID}
	return p.customer, nil
}

// names splits the player's display name for Help Scout's first and last name fields (each
// at most 40 characters there).
func names(conv normalize.Conversation) (string, string) {
	n := strings.TrimSpace(conv.Player.DisplayName)
	if n == "" {
		return "Player", "on " + string(conv.ChannelKind)
	}
	first, last, _ := strings.Cut(n, " ")
	return cut(first, 40), cut(strings.TrimSpace(last), 40)
}

func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// conversationType is Help Scout's type of a new conversation: e-mail for players who wrote
// by e-mail, else chat, so Help Scout mails no agent reply to a player who chats (the gateway
// carries it to the player's channel).
func conversationType(conv normalize.Conversation) string {
	if conv.ChannelKind == normalize.KindEmail {
		return "email"
	}
	return "chat"
}

// convTag is the tag naming the gateway's conversation.
func (h *Helpdesk) convTag(conv normalize.ConversationID) string {
	return h.cfg.TagPrefix + strings.ToLower(string(conv))
}

// conversationOf is the gateway conversation a Help Scout conversation's tags name, if any.
func (h *Helpdesk) conversationOf(tags []tag) (normalize.ConversationID, bool) {
	for _, t := range tags {
		if c, ok := strings.CutPrefix(t.Tag, h.cfg.TagPrefix); ok && c != "" {
			return normalize.ConversationID(c), true
		}
	}
	return "", false
}

// tags are the configured tags and the conversation's, with its channel kind, language, VIP
// tier and priority as tags Help Scout workflows and views can use.
func (h *Helpdesk) tags(conv normalize.Conversation, first normalize.Message, followUp int64) []string {
	tags := slices.Clone(h.cfg.Tags)
	tags = append(tags, h.convTag(conv.ID), "channel-"+tagPart(string(conv.ChannelKind)))
	u := first.Update
	if u == nil {
		u = &normalize.Update{Language: conv.Language, VIPTier: max(conv.Player.VIPTier, first.Author.VIPTier), Priority: conv.Priority, SLA: conv.SLA}
	}
	tags = append(tags, metaTags(u.Language, u.VIPTier, u.Priority, u.SLA.State())...)
	for _, t := range conv.Tags {
		if t = tagPart(t); t != "" {
			tags = append(tags, t)
		}
	}
	if followUp != 0 {
		tags = append(tags, followUpTag+itoa(followUp))
	}
	slices.Sort(tags)
	return slices.Compact(tags)
}

// metaTagPrefixes start the tags an Update replaces.
var metaTagPrefixes = []string{"lang-", "vip-", "priority-", "sla-"}

func isMetaTag(t string) bool {
	return slices.ContainsFunc(metaTagPrefixes, func(p string) bool { return strings.HasPrefix(t, p) })
}

func metaTags(lang string, tier int, prio normalize.Priority, sla normalize.SLAState) []string {
	var out []string
	if lang != "" {
		out = append(out, "lang-"+tagPart(lang))
	}
	if tier > 0 {
		out = append(out, "vip-"+strconv.Itoa(tier))
	}
	if prio != "" {
		out = append(out, "priority-"+tagPart(string(prio)))
	}
	if sla == normalize.SLABreached {
		out = append(out, "sla-breached")
	}
	return out
}

// tagPart makes s part of a Help Scout tag: lower case, no spaces.
func tagPart(s string) string {
	return strings.ToLower(strings.NewReplacer(" ", "-", ",", "-", ":", "-", "\t", "-", "\n", "-").Replace(strings.TrimSpace(s)))
}

// fields are the configured custom fields' values from the conversation, or from u when the
// message is an Update (it holds the newest values).
func (h *Helpdesk) fields(conv normalize.Conversation, u *normalize.Update) []customField {
	lang, tier, player, sla := conv.Language, conv.Player.VIPTier, conv.Player.PlayerID, conv.SLA.State()
	if u != nil {
		lang, tier, player, sla = u.Language, u.VIPTier, u.PlayerID, u.SLA.State()
	}
	f := h.cfg.Fields
	var out []customField
	add := func(id int64, v string) {
		if id != 0 {
			out = append(out, customField{ID: id, Value: v})
		}
	}
	add(f.Language, lang)
	add(f.VIPTier, strconv.Itoa(tier))
	if u == nil {
		add(f.Channel, string(conv.Channel)+":"+string(conv.Address))
	}
	add(f.SLA, string(sla))
	add(f.PlayerID, string(player))
	return out
}
