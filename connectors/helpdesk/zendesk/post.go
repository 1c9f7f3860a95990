package zendesk

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/helpdesk/hdkit"
	"github.com/casino-support/gateway/normalize"
)

// subjectRunes caps a ticket subject taken from the first message.
const subjectRunes = 80

// followUpTag, with the ticket's id, tags a follow-up with the ticket it follows up.
const followUpTag = "follow_up_of_"

// Post creates the conversation's ticket when it has none (or the one it had is closed) and
// adds each message as a public comment of the player, in order; an Update instead sets the
// ticket's priority, fields and tags with an internal note. The external ID of a message is
// the Zendesk comment ID, which the hook recognises as the gateway's own.
//
// A message with Attempt > 1 may be in Zendesk already: Post then finds the ticket by its
// external_id and the comment by its marker instead of writing it a second time.
func (h *Helpdesk) Post(ctx context.Context, conv normalize.Conversation, msgs []connectors.Delivery) (normalize.Ref, []normalize.ExternalID, error) {
	if len(msgs) == 0 {
		return conv.Ticket, nil, nil
	}
	id, err := hdkit.TicketID(conv.Ticket, "zendesk", "Zendesk ticket")
	if err != nil {
		return conv.Ticket, nil, err
	}
	// Attempts of one conversation's post may overlap (a replica stalled past its lease while
	// another took the lane over); in this process they take turns, and the look-ups below
	// find what the one before wrote.
	unlock := h.convLocks.Lock(string(conv.ID))
	defer unlock()
	requester, err := h.requester(ctx, conv)
	if err != nil {
		return conv.Ticket, nil, err
	}
	p := &poster{h: h, conv: conv, requester: requester, ticket: id}
	if id == 0 || conv.Status == normalize.StatusClosed {
		// No ticket yet (or the store moved a closed one to FollowUpOf), or the router saw the
		// ticket solved or closed: the ticket to write to is the conversation's newest that
		// takes comments, if any (a retry's, a follow-up made before), else a new one.
		if err := p.resolve(ctx); err != nil {
			return p.ref(), nil, err
		}
	}
	ids := make([]normalize.ExternalID, 0, len(msgs))
	for _, d := range msgs {
		cid, err := p.post(ctx, d)
		if err != nil {
			return p.ref(), ids, h.staleRequester(ctx, conv, requester, err)
		}
		ids = append(ids, normalize.ExternalID(itoa(cid)))
	}
	return p.ref(), ids, nil
}

// poster is one Post call's state: the ticket written to and what is known of its comments.
type poster struct {
	h         *Helpdesk
	conv      normalize.Conversation
	requester int64
	ticket    int64 // 0 until a ticket exists
	// candidates are the conversation's tickets found by external_id, newest first.
	candidates []ticket
	// followUp is the ticket a new one follows up (closed, or solved under follow_up).
	followUp ticket
	// found says the conversation had a ticket the router did not know of: an earlier
	// attempt's, so every message is looked for before it is written, whatever its Attempt.
	found bool
	// posted maps the gateway message IDs found on the ticket's comments to their comment
	// IDs; loaded once per Post, when a retried message needs it.
	posted map[normalize.MessageID]int64
}

func (p *poster) ref() normalize.Ref {
	if p.ticket == 0 {
		return ""
	}
	return normalize.Ref(itoa(p.ticket))
}

// resolve looks the conversation's tickets up by external_id and picks the one to write to.
func (p *poster) resolve(ctx context.Context) error {
	h := p.h
	var out struct {
		Tickets []ticket `json:"tickets"`
	}
	q := "/api/v2/tickets?external_id=" + urlQuery(h.externalID(p.conv.ID))
	if err := h.api.do(ctx, http.MethodGet, q, nil, &out, nil); err != nil {
		return fmt.Errorf("zendesk: find the tickets of %s: %w", p.conv.ID, err)
	}
	slices.SortFunc(out.Tickets, func(a, b ticket) int { return int(b.ID - a.ID) })
	p.candidates = out.Tickets
	p.ticket = 0
	for _, t := range out.Tickets {
		if normalize.Ref(itoa(t.ID)) == p.conv.FollowUpOf {
			continue // the gateway decided on a follow-up, even if an agent reopened it since
		}
		if h.takesComments(t.Status) {
			p.ticket, p.found, p.posted = t.ID, p.conv.Ticket != normalize.Ref(itoa(t.ID)), nil
			return nil
		}
	}
	if len(out.Tickets) > 0 {
		p.followUp = out.Tickets[0]
	}
	if p.conv.FollowUpOf != "" {
		// The store names the ticket to follow up; it is among those found unless its
		// external_id was changed in Zendesk, and then its status is unknown: linked by subject.
		p.followUp = ticket{ID: parseID(string(p.conv.FollowUpOf))}
		for _, t := range out.Tickets {
			if t.ID == p.followUp.ID {
				p.followUp = t
			}
		}
	}
	return nil
}

// takesComments reports whether a player's message goes onto a ticket of status: never onto
// a closed one (Zendesk refuses it), onto a solved one only under closed_ticket: reopen.
func (h *Helpdesk) takesComments(status string) bool {
	switch status {
	case "closed", "deleted":
		return false
	case "solved":
		return h.cfg.ClosedTicket.Reopens()
	}
	return true
}

// post writes one message: the ticket with it when none exists, else a comment (or an
// Update) on the ticket, after looking for it there when an earlier write may have got
// through.
func (p *poster) post(ctx context.Context, d connectors.Delivery) (int64, error) {
	h := p.h
	if p.ticket != 0 && (d.Attempt > 1 || p.found) {
		if cid, ok, err := p.find(ctx, d.ID); err != nil || ok {
			if ok {
				h.log.InfoContext(ctx, "zendesk: message already on the ticket", "helpdesk", h.name, "conv", p.conv.ID, "msg_id", d.ID, "ticket", p.ticket)
			}
			return cid, err
		}
	}
	if p.ticket == 0 {
		return p.create(ctx, d.Message)
	}
	cid, err := p.append(ctx, d.Message)
	if isClosedRefusal(err) {
		// Closed in Zendesk since the router last heard (or the router never heard): the
		// message opens the follow-up instead of being refused for good.
		h.log.InfoContext(ctx, "zendesk: ticket closed, opening a follow-up", "helpdesk", h.name, "conv", p.conv.ID, "ticket", p.ticket)
		if err := p.resolve(ctx); err != nil {
			return 0, err
		}
		if p.ticket == 0 {
			return p.create(ctx, d.Message)
		}
		return p.append(ctx, d.Message)
	}
	return cid, err
}

// find returns the comment carrying message id on the ticket, if any.
func (p *poster) find(ctx context.Context, id normalize.MessageID) (int64, bool, error) {
	if p.posted == nil {
		posted, err := p.h.postedMessages(ctx, p.ticket)
		if err != nil {
			return 0, false, err
		}
		p.posted = posted
	}
	cid, ok := p.posted[id]
	return cid, ok, nil
}

// create opens the ticket with m as its first comment.
func (p *poster) create(ctx context.Context, m normalize.Message) (int64, error) {
	h := p.h
	c, err := h.comment(ctx, m, p.requester)
	if err != nil {
		return 0, fmt.Errorf("zendesk: create the ticket of %s: %w", p.conv.ID, err)
	}
	t := ticket{
		ExternalID:   h.externalID(p.conv.ID),
		Subject:      hdkit.Subject(p.conv, m, subjectRunes),
		Priority:     zendeskPriority(p.conv, m),
		RequesterID:  p.requester,
		GroupID:      h.cfg.GroupID,
		BrandID:      h.cfg.BrandID,
		Tags:         hdkit.Tags(h.cfg.Tags, p.conv, m, tagPart),
		CustomFields: h.fields(p.conv, m.Update),
		Comment:      c,
	}
	if f := p.followUp; f.ID != 0 {
		if f.Status == "closed" {
			t.ViaFollowupSourceID = f.ID
		}
		// A solved ticket cannot be a follow-up source in Zendesk: the subject and a tag, which
		// views and searches find, name it in any case.
		t.Subject = fmt.Sprintf("%s (follow-up to #%d)", t.Subject, f.ID)
		t.Tags = append(t.Tags, followUpTag+itoa(f.ID))
	}
	// The Idempotency-Key makes Zendesk answer a repeated create with the first one's ticket
	// for a while (two hours); the external_id look-up covers longer outages.
	hdr := http.Header{"Idempotency-Key": {string(p.conv.ID) + "/" + string(m.ID)}}
	var out struct {
		Ticket ticket `json:"ticket"`
		Audit  audit  `json:"audit"`
	}
	if err := h.api.do(ctx, http.MethodPost, "/api/v2/tickets", map[string]any{"ticket": t}, &out, hdr); err != nil {
		if strings.Contains(err.Error(), "HTTP 409") {
			// Another attempt with the same Idempotency-Key is still in progress (a replica that
			// lost its lease): the retry gets that attempt's ticket, so this is no refusal.
			return 0, fmt.Errorf("zendesk: create the ticket of %s: an earlier attempt is in progress: %v", p.conv.ID, err)
		}
		return 0, fmt.Errorf("zendesk: create the ticket of %s: %w", p.conv.ID, err)
	}
	if out.Ticket.ID == 0 {
		return 0, fmt.Errorf("zendesk: create the ticket of %s: the answer has no ticket id", p.conv.ID)
	}
	p.ticket = out.Ticket.ID
	cid, err := h.commentOf(out.Audit, p.ticket)
	if err != nil {
		return 0, err
	}
	h.log.InfoContext(ctx, "zendesk: ticket created", "helpdesk", h.name, "conv", p.conv.ID, "msg_id", m.ID, "ticket", p.ticket,
		"follow_up_of", p.followUp.ID)
	return cid, nil
}

// append adds m to the ticket: a player's public comment, or an Update's changes with an
// internal note.
func (p *poster) append(ctx context.Context, m normalize.Message) (int64, error) {
	h := p.h
	var t ticket
	if m.Update != nil {
		t = ticket{Priority: updatePriority(m.Update), CustomFields: h.fields(p.conv, m.Update),
			Comment: &comment{Body: hdkit.WithMarker(m.Text, m.ID), Public: false}}
	} else {
		c, err := h.comment(ctx, m, p.requester)
		if err != nil {
			return 0, fmt.Errorf("zendesk: comment on ticket %d: %w", p.ticket, err)
		}
		t = ticket{Comment: c}
	}
	var out struct {
		Audit audit `json:"audit"`
	}
	path := "/api/v2/tickets/" + itoa(p.ticket)
	if err := h.api.do(ctx, http.MethodPut, path, map[string]any{"ticket": t}, &out, nil); err != nil {
		return 0, fmt.Errorf("zendesk: comment on ticket %d: %w", p.ticket, err)
	}
	return h.commentOf(out.Audit, p.ticket)
}

// commentOf returns the comment an audit of the gateway's write created, and notes it as the
// gateway's own.
func (h *Helpdesk) commentOf(a audit, ticket int64) (int64, error) {
	for _, e := range a.Events {
		if e.Type == "Comment" && e.ID != 0 {
			h.own.Put(e.ID, true)
			return e.ID, nil
		}
	}
	// The write went through (2xx) but its answer does not say the comment: the retry finds
	// it by its marker.
	return 0, fmt.Errorf("zendesk: the answer of the write on ticket %d names no comment", ticket)
}

// isClosedRefusal reports whether err is Zendesk's 422 for a write on a closed ticket.
func isClosedRefusal(err error) bool {
	return err != nil && connectors.IsPermanent(err) && strings.Contains(err.Error(), "HTTP 422") &&
		strings.Contains(strings.ToLower(err.Error()), "closed")
}

// comment is a player's message as a public comment by the requester, with its files
// uploaded.
func (h *Helpdesk) comment(ctx context.Context, m normalize.Message, requester int64) (*comment, error) {
	c := &comment{Body: hdkit.WithMarker(hdkit.Body(m), m.ID), Public: true, AuthorID: requester}
	if m.Kind == normalize.KindSystem {
		// The gateway speaking (a notice), not the player: an internal note by the API user.
		c.Public, c.AuthorID = false, 0
	}
	for _, a := range m.Attachments {
		token, err := h.uploadFile(ctx, a)
		if err != nil {
			return nil, fmt.Errorf("attachment %q of %s: %w", a.Name, m.ID, err)
		}
		c.Uploads = append(c.Uploads, token)
	}
	return c, nil
}

// uploadFile sends one stored attachment to Zendesk's uploads and returns its token. Tokens
// live an hour, so files go up right before the comment that carries them, on every attempt.
func (h *Helpdesk) uploadFile(ctx context.Context, a normalize.Attachment) (string, error) {
	if h.blobs == nil {
		return "", connectors.Permanent(errors.New("the message has files but the gateway has no blob store configured"))
	}
	rc, err := h.blobs.Open(ctx, a.BlobRef)
	if err != nil {
		return "", fmt.Errorf("open the stored file: %w", err)
	}
	defer rc.Close()
	typ := a.MediaType
	if typ == "" {
		typ = "application/octet-stream"
	}
	name := strings.TrimSpace(strings.NewReplacer("/", "_", "\\", "_").Replace(a.Name))
	if name == "" {
		name = "attachment"
	}
	return h.api.upload(ctx, name, typ, rc, a.Size)
}

// staleRequester turns Zendesk's refusal of a requester or comment author the gateway
// remembered (an admin merged or deleted the user since) into a retryable error and forgets
// the user, so the retry finds or creates the player's user afresh instead of the message
// being dead-lettered for good.
func (h *Helpdesk) staleRequester(ctx context.Context, conv normalize.Conversation, requester int64, err error) error {
	msg := strings.ToLower(err.Error())
	if !connectors.IsPermanent(err) || !strings.Contains(msg, "http 422") || !(strings.Contains(msg, "requester") || strings.Contains(msg, "author")) {
		return err
	}
	h.requesters.Delete(requesterKey(conv))
	h.users.Delete(requester)
	h.log.WarnContext(ctx, "zendesk: the player's user is gone in Zendesk; looking it up again", "helpdesk", h.name, "conv", conv.ID, "user", requester)
	return fmt.Errorf("zendesk: user %d of %s was refused (merged or deleted in Zendesk), found again on the retry: %v", requester, conv.ID, err)
}

// requesterKey is the identity a player's Zendesk user is remembered by.
func requesterKey(conv normalize.Conversation) string {
	if email := hdkit.PlayerEmail(conv); email != "" {
		return "email:" + email
	}
	return "ext:" + string(conv.Channel) + ":" + string(conv.Address)
}

// requester returns the Zendesk user of the player, created or updated once per identity:
// by e-mail when the player has one, else by the external ID "<channel>:<address>".
func (h *Helpdesk) requester(ctx context.Context, conv normalize.Conversation) (int64, error) {
	u := user{Name: hdkit.PlayerName(conv)}
	key := requesterKey(conv)
	if email := hdkit.PlayerEmail(conv); email != "" {
		u.Email, u.SkipVerifyEmail = email, true
	} else {
		u.ExternalID = string(conv.Channel) + ":" + string(conv.Address)
	}
	if id, ok := h.requesters.Get(key); ok {
		return id, nil
	}
	var out struct {
		User user `json:"user"`
	}
	if err := h.api.do(ctx, http.MethodPost, "/api/v2/users/create_or_update", map[string]any{"user": u}, &out, nil); err != nil {
		return 0, fmt.Errorf("zendesk: find or create the requester of %s: %w", conv.ID, err)
	}
	if out.User.ID == 0 {
		return 0, fmt.Errorf("zendesk: find or create the requester of %s: the answer has no user id", conv.ID)
	}
	h.requesters.Put(key, out.User.ID)
	h.users.Put(out.User.ID, out.User)
	return out.User.ID, nil
}

// externalID is the external_id of the conversation's tickets.
func (h *Helpdesk) externalID(conv normalize.ConversationID) string {
	return h.cfg.ExternalIDPrefix + string(conv)
}

// conversationOf is the conversation a ticket's external_id names, if the gateway made it.
func (h *Helpdesk) conversationOf(externalID string) (normalize.ConversationID, bool) {
	c, ok := strings.CutPrefix(externalID, h.cfg.ExternalIDPrefix)
	return normalize.ConversationID(c), ok && c != ""
}

// tagPart makes s a Zendesk tag: lower case, no spaces or commas.
func tagPart(s string) string {
	return strings.ToLower(strings.NewReplacer(" ", "_", ",", "_", ":", "_", "\t", "_", "\n", "_").Replace(strings.TrimSpace(s)))
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
	add := func(id int64, v any) {
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
	add(f.PlayerID, player)
	return out
}

// zendeskPriority is a new ticket's priority: the conversation's (or an Update's), one step
// up when its first-response target is missed.
func zendeskPriority(conv normalize.Conversation, first normalize.Message) string {
	if first.Update != nil {
		return updatePriority(first.Update)
	}
	return priorityName(conv.Priority, conv.SLA.State() == normalize.SLABreached)
}

func updatePriority(u *normalize.Update) string {
	return priorityName(u.Priority, u.SLA.State() == normalize.SLABreached)
}

var priorities = []string{"low", "normal", "high", "urgent"}

func priorityName(p normalize.Priority, breached bool) string {
	r := p.Rank()
	if breached {
		r++
	}
	return priorities[min(r, len(priorities)-1)]
}
