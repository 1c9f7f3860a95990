package freshdesk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/helpdesk/hdkit"
	"github.com/casino-support/gateway/normalize"
)

// subjectRunes caps a ticket subject taken from the first message.
const subjectRunes = 80

// maxFiles is Freshdesk's limit of the attachments of one ticket or note, together.
const maxFiles = 20 << 20

// followUpTag, with the ticket's id, tags a follow-up with the ticket it follows up.
const followUpTag = "follow_up_of_"

// Post creates the conversation's ticket when it has none (or the one it had is closed) and
// adds each message as an incoming public note of the player, in order; an Update instead
// sets the ticket's priority and fields with a private note. The external ID of a message is
// the note's ID ("ticket-<id>" for the description that opened the ticket).
//
// A message with Attempt > 1 may be in Freshdesk already: Post then finds the ticket by its
// conversation marker and the note by its message marker instead of writing it again.
func (h *Helpdesk) Post(ctx context.Context, conv normalize.Conversation, msgs []connectors.Delivery) (normalize.Ref, []normalize.ExternalID, error) {
	if len(msgs) == 0 {
		return conv.Ticket, nil, nil
	}
	id, err := hdkit.TicketID(conv.Ticket, "freshdesk", "Freshdesk ticket")
	if err != nil {
		return conv.Ticket, nil, err
	}
	// Attempts of one conversation's post may overlap (a replica stalled past its lease while
	// another took the lane over); in this process they take turns, and the look-ups below
	// find what the one before wrote.
	unlock := h.convLocks.Lock(string(conv.ID))
	defer unlock()
	requester, remembered, err := h.requester(ctx, conv)
	if err != nil {
		return conv.Ticket, nil, err
	}
	p := &poster{h: h, conv: conv, requester: requester, ticket: ticket{ID: id}}
	if id == 0 || conv.Status == normalize.StatusClosed {
		// No ticket yet (or the store moved a closed one to FollowUpOf), or the router saw the
		// ticket closed: the ticket to write to is the conversation's newest that takes notes,
		// if any (a retry's, a follow-up made before), else a new one.
		if err := p.resolve(ctx); err != nil {
			return p.ref(), nil, h.staleRequester(ctx, conv, remembered, err)
		}
	}
	ids := make([]normalize.ExternalID, 0, len(msgs))
	for _, d := range msgs {
		ext, err := p.post(ctx, d)
		if err != nil {
			return p.ref(), ids, h.staleRequester(ctx, conv, remembered, err)
		}
		ids = append(ids, ext)
	}
	if err := p.reopen(ctx); err != nil {
		// The messages are on the ticket; the retry finds them and reopens it then.
		return p.ref(), nil, err
	}
	return p.ref(), ids, nil
}

// poster is one Post call's state: the ticket written to and what is known of its notes.
type poster struct {
	h         *Helpdesk
	conv      normalize.Conversation
	requester int64
	ticket    ticket // ID 0 until a ticket exists
	// followUp is the ticket a new one follows up (resolved or closed).
	followUp int64
	// found says the conversation had a ticket the router did not know of: an earlier
	// attempt's, so every message is looked for before it is written, whatever its Attempt.
	found bool
	// posted maps the gateway message IDs found on the ticket to their external IDs; loaded
	// once per Post, when a retried message needs it.
	posted map[normalize.MessageID]normalize.ExternalID
}

func (p *poster) ref() normalize.Ref {
	if p.ticket.ID == 0 {
		return ""
	}
	return normalize.Ref(itoa(p.ticket.ID))
}

// resolve looks the conversation's tickets up among the requester's (by the conversation
// marker of their descriptions) and picks the one to write to.
func (p *poster) resolve(ctx context.Context) error {
	h := p.h
	key := h.conversationKey(p.conv.ID)
	var mine []ticket
	// Freshdesk lists only the last 30 days' tickets unless updated_since says otherwise;
	// oldest first, so a ticket created meanwhile joins the last page instead of shifting the
	// pages still to read.
	next := "/api/v2/tickets?requester_id=" + itoa(p.requester) + "&include=description&per_page=100" +
		"&order_by=created_at&order_type=asc&updated_since=" + url.QueryEscape("2000-01-01T00:00:00Z")
	for next != "" {
		var page []ticket
		hdr, err := h.api.do(ctx, http.MethodGet, next, nil, &page)
		if err != nil {
			return fmt.Errorf("freshdesk: find the tickets of %s: %w", p.conv.ID, err)
		}
		for _, t := range page {
			if k, ok := markedConversation(t.Description); ok && k == key {
				mine = append(mine, t)
			}
		}
		next = nextPage(hdr)
	}
	slices.SortFunc(mine, func(a, b ticket) int { return int(b.ID - a.ID) })
	p.ticket, p.posted = ticket{}, nil
	for _, t := range mine {
		if normalize.Ref(itoa(t.ID)) == p.conv.FollowUpOf {
			continue // the gateway decided on a follow-up, even if an agent reopened it since
		}
		if h.takesNotes(t.Status) {
			p.ticket, p.found = t, p.conv.Ticket != normalize.Ref(itoa(t.ID))
			return nil
		}
	}
	switch {
	case p.conv.FollowUpOf != "":
		p.followUp, _ = strconv.ParseInt(string(p.conv.FollowUpOf), 10, 64)
	case len(mine) > 0:
		p.followUp = mine[0].ID
	}
	return nil
}

// takesNotes reports whether a player's message goes onto a ticket of status: onto a
// resolved or closed one only under closed_ticket: reopen.
func (h *Helpdesk) takesNotes(status int) bool {
	if status == statusResolved || status == statusClosed {
		return h.cfg.ClosedTicket.Reopens()
	}
	return true
}

// post writes one message: the ticket with it when none exists, else a note (or an Update)
// on the ticket.
func (p *poster) post(ctx context.Context, d connectors.Delivery) (normalize.ExternalID, error) {
	h := p.h
	if p.ticket.ID != 0 && (d.Attempt > 1 || p.found) {
		if ext, ok, err := p.find(ctx, d.ID); err != nil || ok {
			if ok {
				h.log.InfoContext(ctx, "freshdesk: message already on the ticket", "helpdesk", h.name, "conv", p.conv.ID, "msg_id", d.ID, "ticket", p.ticket.ID)
			}
			return ext, err
		}
	}
	if p.ticket.ID == 0 {
		return p.create(ctx, d.Message)
	}
	return p.append(ctx, d.Message)
}

// find returns the external ID of the description or note carrying message id, if any.
func (p *poster) find(ctx context.Context, id normalize.MessageID) (normalize.ExternalID, bool, error) {
	if p.posted == nil {
		t := p.ticket
		if t.Description == "" {
			var out ticket
			if _, err := p.h.api.do(ctx, http.MethodGet, "/api/v2/tickets/"+itoa(t.ID), nil, &out); err != nil {
				return "", false, fmt.Errorf("freshdesk: ticket %d: %w", t.ID, err)
			}
			t = out
		}
		posted, err := p.h.postedMessages(ctx, t)
		if err != nil {
			return "", false, err
		}
		p.posted = posted
	}
	ext, ok := p.posted[id]
	return ext, ok, nil
}

// create opens the ticket with m as its description.
func (p *poster) create(ctx context.Context, m normalize.Message) (normalize.ExternalID, error) {
	h := p.h
	f := form{
		"requester_id": {itoa(p.requester)},
		"subject":      {hdkit.Subject(p.conv, m, subjectRunes)},
		"description":  {htmlBody(hdkit.Body(m), conversationMarker(h.conversationKey(p.conv.ID)), marker(m.ID))},
		"status":       {strconv.Itoa(statusOpen)},
		"priority":     {strconv.Itoa(freshdeskPriority(p.conv, m))},
		"source":       {strconv.Itoa(h.cfg.Source)},
	}
	if h.cfg.GroupID != 0 {
		f["group_id"] = []string{itoa(h.cfg.GroupID)}
	}
	tags := hdkit.Tags(h.cfg.Tags, p.conv, m, tagPart)
	if p.followUp != 0 {
		// Freshdesk links tickets only as parent and child or to a tracker, both features of
		// some plans: the subject and a tag, which views and searches find, name the old one.
		f["subject"] = []string{fmt.Sprintf("%s (follow-up to #%d)", f["subject"][0], p.followUp)}
		tags = append(tags, followUpTag+itoa(p.followUp))
	}
	var out ticket
	if err := h.send(ctx, "/api/v2/tickets", f, tags, h.fields(p.conv, m.Update), m, &out); err != nil {
		return "", fmt.Errorf("freshdesk: create the ticket of %s: %w", p.conv.ID, err)
	}
	if out.ID == 0 {
		return "", fmt.Errorf("freshdesk: create the ticket of %s: the answer has no ticket id", p.conv.ID)
	}
	p.ticket = out
	h.log.InfoContext(ctx, "freshdesk: ticket created", "helpdesk", h.name, "conv", p.conv.ID, "msg_id", m.ID, "ticket", out.ID,
		"follow_up_of", p.followUp)
	return descriptionID(out.ID), nil
}

// append adds m to the ticket: a player's incoming public note, or an Update's changes with a
// private note.
func (p *poster) append(ctx context.Context, m normalize.Message) (normalize.ExternalID, error) {
	h := p.h
	path := "/api/v2/tickets/" + itoa(p.ticket.ID)
	f := form{"body": {htmlBody(hdkit.Body(m), marker(m.ID))}}
	switch {
	case m.Update != nil:
		// The fields first: a retry that finds the note finds the fields set as well.
		upd := map[string]any{"priority": updatePriority(m.Update)}
		if cf := h.fields(p.conv, m.Update); len(cf) > 0 {
			upd["custom_fields"] = cf
		}
		if _, err := h.api.do(ctx, http.MethodPut, path, upd, nil); err != nil {
			return "", fmt.Errorf("freshdesk: update ticket %d: %w", p.ticket.ID, err)
		}
		f["private"] = []string{"true"}
	case m.Kind == normalize.KindSystem:
		// The gateway speaking (a notice), not the player: a private note by the API agent.
		f["private"] = []string{"true"}
	default:
		f["private"], f["incoming"], f["user_id"] = []string{"false"}, []string{"true"}, []string{itoa(p.requester)}
	}
	var out conversation
	if err := h.send(ctx, path+"/notes", f, nil, nil, m, &out); err != nil {
		return "", fmt.Errorf("freshdesk: note on ticket %d: %w", p.ticket.ID, err)
	}
	if out.ID == 0 {
		// The write went through (2xx) but its answer does not say the note: the retry finds
		// it by its marker.
		return "", fmt.Errorf("freshdesk: the answer of the note on ticket %d has no id", p.ticket.ID)
	}
	h.own.Put(out.ID, true)
	return normalize.ExternalID(itoa(out.ID)), nil
}

// reopen sets a resolved or closed ticket the player wrote to open again (closed_ticket:
// reopen); Freshdesk leaves a ticket's status alone when a note is added.
func (p *poster) reopen(ctx context.Context) error {
	if p.ticket.Status != statusResolved && p.ticket.Status != statusClosed {
		return nil
	}
	path := "/api/v2/tickets/" + itoa(p.ticket.ID)
	if _, err := p.h.api.do(ctx, http.MethodPut, path, map[string]any{"status": statusOpen}, nil); err != nil {
		return fmt.Errorf("freshdesk: reopen ticket %d: %w", p.ticket.ID, err)
	}
	p.h.log.InfoContext(ctx, "freshdesk: ticket reopened", "helpdesk", p.h.name, "conv", p.conv.ID, "ticket", p.ticket.ID)
	p.ticket.Status = statusOpen
	return nil
}

// form is the fields of a ticket or note, each with its values.
type form map[string][]string

// send posts f to path with m's files: as JSON when there are none, as multipart/form-data
// with attachments[] otherwise (the only way Freshdesk takes files).
func (h *Helpdesk) send(ctx context.Context, path string, f form, tags []string, fields map[string]any, m normalize.Message, out any) error {
	if len(m.Attachments) == 0 {
		body := map[string]any{}
		for k, v := range f {
			body[k] = jsonValue(k, v[0])
		}
		if len(tags) > 0 {
			body["tags"] = tags
		}
		if len(fields) > 0 {
			body["custom_fields"] = fields
		}
		_, err := h.api.do(ctx, http.MethodPost, path, body, out)
		return err
	}
	if h.blobs == nil {
		return connectors.Permanent(errors.New("the message has files but the gateway has no blob store configured"))
	}
	var total int64
	for _, a := range m.Attachments {
		total += a.Size
	}
	if total > maxFiles {
		return connectors.Permanent(fmt.Errorf("the message's files are %d bytes together, more than Freshdesk's %d", total, maxFiles))
	}
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		_ = w.WriteField(k, f[k][0])
	}
	for _, t := range tags {
		_ = w.WriteField("tags[]", t)
	}
	for _, k := range sortedKeys(fields) {
		_ = w.WriteField("custom_fields["+k+"]", fmt.Sprint(fields[k]))
	}
	for _, a := range m.Attachments {
		if err := h.writeFile(ctx, w, a); err != nil {
			return fmt.Errorf("attachment %q of %s: %w", a.Name, m.ID, err)
		}
	}
	if err := w.Close(); err != nil {
		return connectors.Permanent(err)
	}
	return h.api.doMultipart(ctx, http.MethodPost, path, w.FormDataContentType(), &buf, out)
}

// writeFile copies one stored attachment into the form as attachments[].
func (h *Helpdesk) writeFile(ctx context.Context, w *multipart.Writer, a normalize.Attachment) error {
	rc, err := h.blobs.Open(ctx, a.BlobRef)
	if err != nil {
		return fmt.Errorf("open the stored file: %w", err)
	}
	defer rc.Close()
	typ := a.MediaType
	if typ == "" {
		typ = "application/octet-stream"
	}
	name := strings.TrimSpace(strings.NewReplacer("/", "_", "\\", "_", `"`, "'", "\r", "", "\n", "").Replace(a.Name))
	if name == "" {
		name = "attachment"
	}
	hdr := textproto.MIMEHeader{}
	hdr.Set("Content-Disposition", fmt.Sprintf(`form-data; name="attachments[]"; filename="%s"`, name))
	hdr.Set("Content-Type", typ)
	part, err := w.CreatePart(hdr)
	if err != nil {
		return connectors.Permanent(err)
	}
	if _, err := io.Copy(part, io.LimitReader(rc, maxFiles+1)); err != nil {
		return fmt.Errorf("read the stored file: %w", err)
	}
	return nil
}

// jsonValue is a form value as the JSON type Freshdesk wants for key.
func jsonValue(key, v string) any {
	switch key {
	case "requester_id", "status", "priority", "source", "group_id", "user_id":
		n, _ := strconv.ParseInt(v, 10, 64)
		return n
	case "private", "incoming":
		return v == "true"
	}
	return v
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// staleRequester turns Freshdesk's refusal of a contact the gateway remembered (an admin
// merged or deleted it since) into a retryable error and forgets the contact, so the retry
// finds or creates the player's contact afresh instead of the message being dead-lettered.
// A contact just looked up that is refused stays refused: retrying would change nothing.
func (h *Helpdesk) staleRequester(ctx context.Context, conv normalize.Conversation, remembered bool, err error) error {
	msg := err.Error()
	if !remembered || !connectors.IsPermanent(err) || !strings.Contains(msg, "HTTP 400") || !(strings.Contains(msg, "requester_id") || strings.Contains(msg, "user_id")) {
		return err
	}
	h.contacts.Delete(requesterKey(conv))
	h.log.WarnContext(ctx, "freshdesk: the player's contact is gone in Freshdesk; looking it up again", "helpdesk", h.name, "conv", conv.ID)
	return fmt.Errorf("freshdesk: the contact of %s was refused (merged or deleted in Freshdesk), found again on the retry: %v", conv.ID, err)
}

// requesterKey is the identity a player's Freshdesk contact is remembered by.
func requesterKey(conv normalize.Conversation) string {
	if email := hdkit.PlayerEmail(conv); email != "" {
		return "email:" + email
	}
	return "ext:" + externalContactID(conv)
}

// externalContactID is the unique_external_id of a player known without e-mail: channel and
// address, which no mail server delivers to.
func externalContactID(conv normalize.Conversation) string {
	return string(conv.Channel) + ":" + string(conv.Address)
}

// requester returns the Freshdesk contact of the player, found by e-mail when the player has
// one, else by unique_external_id, and created when there is none; remembered says it came
// from the memo of earlier posts, not from Freshdesk just now.
func (h *Helpdesk) requester(ctx context.Context, conv normalize.Conversation) (id int64, remembered bool, err error) {
	key := requesterKey(conv)
	if id, ok := h.contacts.Get(key); ok {
		return id, true, nil
	}
	id, err = h.findOrCreateContact(ctx, conv)
	if err != nil {
		return 0, false, err
	}
	h.contacts.Put(key, id)
	return id, false, nil
}

// findOrCreateContact looks the player's contact up in Freshdesk and creates it when there is
// none.
func (h *Helpdesk) findOrCreateContact(ctx context.Context, conv normalize.Conversation) (int64, error) {
	c := contact{Name: hdkit.PlayerName(conv)}
	q := "/api/v2/contacts?"
	if email := hdkit.PlayerEmail(conv); email != "" {
		c.Email = email
		q += "email=" + url.QueryEscape(email)
	} else {
		c.UniqueExternalID = externalContactID(conv)
		q += "unique_external_id=" + url.QueryEscape(c.UniqueExternalID)
	}
	find := func() (int64, error) {
		var found []contact
		if _, err := h.api.do(ctx, http.MethodGet, q, nil, &found); err != nil {
			return 0, fmt.Errorf("freshdesk: find the contact of %s: %w", conv.ID, err)
		}
		if len(found) > 0 {
			return found[0].ID, nil
		}
		return 0, nil
	}
	id, err := find()
	if err != nil {
		return 0, err
	}
	if id == 0 {
		var out contact
		_, err := h.api.do(ctx, http.MethodPost, "/api/v2/contacts", c, &out)
		switch {
		case err != nil && strings.Contains(err.Error(), "HTTP 409"):
			// Created meanwhile (another replica, or a deleted contact holding the address):
			// the look-up finds the live one.
			if id, err = find(); err == nil && id == 0 {
				err = fmt.Errorf("freshdesk: the contact of %s exists but is not listed (deleted?): %w", conv.ID, connectors.ErrNotFound)
			}
		case err != nil:
			err = fmt.Errorf("freshdesk: create the contact of %s: %w", conv.ID, err)
		default:
			id = out.ID
		}
		if err != nil {
			return 0, err
		}
	}
	if id == 0 {
		return 0, fmt.Errorf("freshdesk: the contact of %s has no id", conv.ID)
	}
	return id, nil
}

// conversationKey is what the conversation marker of the conversation's tickets names.
func (h *Helpdesk) conversationKey(conv normalize.ConversationID) string {
	return h.cfg.MarkerPrefix + string(conv)
}

// conversationOf is the conversation a ticket's description names, if the gateway made it.
func (h *Helpdesk) conversationOf(description string) (normalize.ConversationID, bool) {
	key, ok := markedConversation(description)
	if !ok {
		return "", false
	}
	c, ok := strings.CutPrefix(key, h.cfg.MarkerPrefix)
	return normalize.ConversationID(c), ok && c != ""
}

// tagPart makes s a Freshdesk tag: lower case, no commas, at most 32 characters.
func tagPart(s string) string {
	s = strings.ToLower(strings.NewReplacer(" ", "_", ",", "_", "\t", "_", "\n", "_").Replace(strings.TrimSpace(s)))
	if utf8.RuneCountInString(s) > 32 {
		s = string([]rune(s)[:32])
	}
	return s
}

// fields are the configured custom fields' values from the conversation, or from u when the
// message is an Update (it holds the newest values).
func (h *Helpdesk) fields(conv normalize.Conversation, u *normalize.Update) map[string]any {
	lang, tier, player, sla := conv.Language, conv.Player.VIPTier, conv.Player.PlayerID, conv.SLA.State()
	if u != nil {
		lang, tier, player, sla = u.Language, u.VIPTier, u.PlayerID, u.SLA.State()
	}
	f := h.cfg.Fields
	out := map[string]any{}
	add := func(name string, v string) {
		if name != "" {
			out[name] = v
		}
	}
	add(f.Language, lang)
	add(f.VIPTier, strconv.Itoa(tier))
	if u == nil {
		add(f.Channel, externalContactID(conv))
	}
	add(f.SLA, string(sla))
	add(f.PlayerID, player)
	return out
}

// freshdeskPriority is a new ticket's priority (1 low to 4 urgent): the conversation's (or
// an Update's), one step up when its first-response target is missed.
func freshdeskPriority(conv normalize.Conversation, first normalize.Message) int {
	if first.Update != nil {
		return updatePriority(first.Update)
	}
	return priorityNumber(conv.Priority, conv.SLA.State() == normalize.SLABreached)
}

func updatePriority(u *normalize.Update) int {
	return priorityNumber(u.Priority, u.SLA.State() == normalize.SLABreached)
}

func priorityNumber(p normalize.Priority, breached bool) int {
	r := p.Rank()
	if breached {
		r++
	}
	return min(r, 3) + 1
}
