package zammad

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/helpdesk/hdkit"
	"github.com/casino-support/gateway/normalize"
)

// subjectRunes caps a ticket title taken from the first message.
const subjectRunes = 80

// ticketsPage is the page size of the customer's tickets read for a look-up (Zammad's
// maximum for GET /api/v1/tickets).
const ticketsPage = 100

// Post creates the conversation's ticket when it has none (or the one it had is closed) and
// adds each message as an article of the customer, in order; an Update instead sets the
// ticket's priority and attributes with an internal note. The external ID of a message is
// the Zammad article ID, which the hook recognises as the gateway's own.
//
// A message with Attempt > 1 may be in Zammad already: Post then finds the ticket by its
// conversation attribute and the article by its marker instead of writing it a second time.
func (h *Helpdesk) Post(ctx context.Context, conv normalize.Conversation, msgs []connectors.Delivery) (normalize.Ref, []normalize.ExternalID, error) {
	if len(msgs) == 0 {
		return conv.Ticket, nil, nil
	}
	id, err := hdkit.TicketID(conv.Ticket, "zammad", "Zammad ticket")
	if err != nil {
		return conv.Ticket, nil, err
	}
	// Attempts of one conversation's post may overlap (a replica stalled past its lease
	// while another took the lane over); in this process they take turns, and the look-ups
	// below find what the one before wrote.
	unlock := h.convLocks.Lock(string(conv.ID))
	defer unlock()
	customer, err := h.customer(ctx, conv)
	if err != nil {
		return conv.Ticket, nil, err
	}
	p := &poster{h: h, conv: conv, customer: customer, ticket: id}
	if id == 0 || conv.Status == normalize.StatusClosed {
		if err := p.resolve(ctx); err != nil {
			return p.ref(), nil, err
		}
	}
	ids := make([]normalize.ExternalID, 0, len(msgs))
	for _, d := range msgs {
		aid, err := p.post(ctx, d)
		if err != nil {
			return p.ref(), ids, err
		}
		ids = append(ids, normalize.ExternalID(itoa(aid)))
	}
	return p.ref(), ids, nil
}

// poster is one Post call's state: the ticket written to and what is known of its articles.
type poster struct {
	h        *Helpdesk
	conv     normalize.Conversation
	customer int64
	ticket   int64 // 0 until a ticket exists
	// followUp is the closed ticket a new one follows up (ID 0: none); its Number, when
	// known, is what agents see.
	followUp ticket
	// found says the conversation had a ticket the router did not know of: an earlier
	// attempt's, so every message is looked for before it is written.
	found bool
	// posted maps the gateway message IDs found on the ticket's articles to their IDs;
	// loaded once per Post, when a retried message needs it.
	posted map[normalize.MessageID]int64
}

func (p *poster) ref() normalize.Ref {
	if p.ticket == 0 {
		return ""
	}
	return normalize.Ref(itoa(p.ticket))
}

// resolve finds the conversation's tickets among the customer's (read as the customer, so
// the list is theirs alone and needs no search index) and picks the one to write to.
func (p *poster) resolve(ctx context.Context) error {
	h := p.h
	var mine []ticket
	for page := 1; ; page++ {
		var list []ticket
		q := fmt.Sprintf("/api/v1/tickets?expand=true&page=%d&per_page=%d", page, ticketsPage)
		if err := h.api.do(ctx, http.MethodGet, q, nil, &list, p.customer); err != nil {
			return fmt.Errorf("zammad: find the tickets of %s: %w", p.conv.ID, err)
		}
		for _, t := range list {
			if t.attr(h.cfg.Attributes.Conversation) == string(p.conv.ID) {
				mine = append(mine, t)
			}
		}
		if len(list) < ticketsPage {
			break
		}
	}
	slices.SortFunc(mine, func(a, b ticket) int { return int(b.ID - a.ID) })
	p.ticket, p.followUp = 0, ticket{}
	for _, t := range mine {
		if normalize.Ref(itoa(t.ID)) == p.conv.FollowUpOf {
			continue // the gateway decided on a follow-up, even if an agent reopened it since
		}
		if h.takesArticles(t.State) {
			p.ticket, p.found, p.posted = t.ID, p.conv.Ticket != normalize.Ref(itoa(t.ID)), nil
			return nil
		}
	}
	switch {
	case p.conv.FollowUpOf != "":
		p.followUp.ID, _ = strconv.ParseInt(string(p.conv.FollowUpOf), 10, 64)
		for _, t := range mine {
			if t.ID == p.followUp.ID {
				p.followUp = t
			}
		}
	case len(mine) > 0:
		p.followUp = mine[0]
	}
	return nil
}

// takesArticles reports whether a player's message goes onto a ticket in state: never
// onto a merged one, onto a closed one only under closed_ticket: reopen.
func (h *Helpdesk) takesArticles(state string) bool {
	switch state {
	case "merged", "removed":
		return false
	case "closed":
		return h.cfg.ClosedTicket.Reopens()
	}
	return true
}

// post writes one message: the ticket with it when none exists, else an article.
func (p *poster) post(ctx context.Context, d connectors.Delivery) (int64, error) {
	h := p.h
	if p.ticket != 0 && (d.Attempt > 1 || p.found) {
		if aid, ok, err := p.find(ctx, d.ID); err != nil || ok {
			if ok {
				h.log.InfoContext(ctx, "zammad: message already on the ticket", "helpdesk", h.name, "conv", p.conv.ID, "msg_id", d.ID, "ticket", p.ticket)
				h.own.Put(aid, true)
			}
			return aid, err
		}
	}
	if p.ticket == 0 {
		return p.create(ctx, d.Message)
	}
	aid, err := p.append(ctx, d.Message)
	if isClosedRefusal(err) {
		// Closed in Zammad, whose group wants a new ticket for a follow-up: the message
		// opens the follow-up instead of being refused for good.
		h.log.InfoContext(ctx, "zammad: ticket closed, opening a follow-up", "helpdesk", h.name, "conv", p.conv.ID, "ticket", p.ticket)
		closed := p.ticket
		if err := p.resolve(ctx); err != nil {
			return 0, err
		}
		if p.ticket == 0 || p.ticket == closed {
			p.ticket = 0
			if p.followUp.ID != closed {
				p.followUp = ticket{ID: closed}
			}
			return p.create(ctx, d.Message)
		}
		return p.append(ctx, d.Message)
	}
	return aid, err
}

// find returns the article carrying message id on the ticket, if any.
func (p *poster) find(ctx context.Context, id normalize.MessageID) (int64, bool, error) {
	if p.posted == nil {
		posted, err := p.h.postedMessages(ctx, p.ticket)
		if err != nil {
			return 0, false, err
		}
		p.posted = posted
	}
	aid, ok := p.posted[id]
	return aid, ok, nil
}

// create opens the ticket with m as its first article, linked to the ticket it follows up.
func (p *poster) create(ctx context.Context, m normalize.Message) (int64, error) {
	h := p.h
	art, err := h.article(ctx, m)
	if err != nil {
		return 0, fmt.Errorf("zammad: create the ticket of %s: %w", p.conv.ID, err)
	}
	art.Subject = hdkit.Subject(p.conv, m, subjectRunes)
	if m.Kind != normalize.KindSystem {
		// Written by the API user for the customer, as Zammad's phone tickets are.
		art.OriginByID = p.customer
	}
	body := h.attributes(p.conv, m.Update)
	body["title"] = art.Subject
	body["group"] = h.cfg.Group
	body["customer_id"] = p.customer
	body["priority"] = h.priority(p.conv, m)
	body["tags"] = strings.Join(h.tags(p.conv, m), ",")
	body["article"] = art
	body[h.cfg.Attributes.Conversation] = string(p.conv.ID)
	if f := p.followUp; f.ID != 0 {
		number := f.Number
		if number == "" {
			number = itoa(f.ID) // its attribute was changed in Zammad: the link still names it
		}
		body["title"] = fmt.Sprintf("%s (follow-up to #%s)", art.Subject, number)
		body["links"] = map[string]any{"Ticket": map[string][]int64{"normal": {f.ID}}}
	}
	var out ticket
	if err := h.api.do(ctx, http.MethodPost, "/api/v1/tickets?expand=true", body, &out, 0); err != nil {
		return 0, fmt.Errorf("zammad: create the ticket of %s: %w", p.conv.ID, err)
	}
	if out.ID == 0 {
		return 0, fmt.Errorf("zammad: create the ticket of %s: the answer has no ticket id", p.conv.ID)
	}
	p.ticket = out.ID
	var articleIDs []int64
	if raw, ok := out.attrs["article_ids"]; ok {
		_ = json.Unmarshal(raw, &articleIDs)
	}
	h.log.InfoContext(ctx, "zammad: ticket created", "helpdesk", h.name, "conv", p.conv.ID, "msg_id", m.ID, "ticket", p.ticket,
		"follow_up_of", p.followUp.ID)
	if len(articleIDs) > 0 {
		h.own.Put(articleIDs[0], true)
		return articleIDs[0], nil
	}
	// The answer names no article: read it back by its marker.
	p.found, p.posted = true, nil
	aid, ok, err := p.find(ctx, m.ID)
	if err == nil && !ok {
		err = fmt.Errorf("zammad: ticket %d has no article of message %s", p.ticket, m.ID)
	}
	return aid, err
}

// append adds m to the ticket: a player's article written as the customer, a gateway notice
// as an internal note, or an Update's changes with an internal note.
func (p *poster) append(ctx context.Context, m normalize.Message) (int64, error) {
	h := p.h
	if m.Update != nil {
		upd := h.attributes(p.conv, m.Update)
		upd["priority"] = h.updatePriority(m.Update)
		if err := h.api.do(ctx, http.MethodPut, "/api/v1/tickets/"+itoa(p.ticket), upd, nil, 0); err != nil {
			return 0, fmt.Errorf("zammad: update ticket %d: %w", p.ticket, err)
		}
	}
	art, err := h.article(ctx, m)
	if err != nil {
		return 0, fmt.Errorf("zammad: article on ticket %d: %w", p.ticket, err)
	}
	art.TicketID = p.ticket
	as := p.customer
	if art.Internal {
		as = 0 // the gateway's own note, by the API user
	}
	var out article
	if err := h.api.do(ctx, http.MethodPost, "/api/v1/ticket_articles?expand=true", art, &out, as); err != nil {
		return 0, fmt.Errorf("zammad: article on ticket %d: %w", p.ticket, err)
	}
	if out.ID == 0 {
		return 0, fmt.Errorf("zammad: the answer of the article on ticket %d has no id", p.ticket)
	}
	h.own.Put(out.ID, true)
	return out.ID, nil
}

// isClosedRefusal reports whether err is Zammad's 422 for a customer's follow-up on a closed
// ticket whose group wants a new ticket instead.
func isClosedRefusal(err error) bool {
	return err != nil && connectors.IsPermanent(err) && strings.Contains(err.Error(), "HTTP 422") &&
		strings.Contains(strings.ToLower(err.Error()), "closed ticket")
}

// article is m as an article: the customer's public web article with the files inline, or
// an internal note for the gateway's notices and Updates.
func (h *Helpdesk) article(ctx context.Context, m normalize.Message) (articleOut, error) {
	a := articleOut{Body: hdkit.WithMarker(hdkit.Body(m), m.ID), ContentType: "text/plain", Type: "web", Sender: "Customer"}
	if m.Kind == normalize.KindSystem || m.Update != nil {
		a.Type, a.Sender, a.Internal = "note", "Agent", true
	}
	for _, att := range m.Attachments {
		f, err := h.file(ctx, att)
		if err != nil {
			return a, fmt.Errorf("attachment %q of %s: %w", att.Name, m.ID, err)
		}
		a.Attachments = append(a.Attachments, f)
	}
	return a, nil
}

// file reads one stored attachment for the article, base64 as Zammad takes it.
func (h *Helpdesk) file(ctx context.Context, a normalize.Attachment) (fileOut, error) {
	if h.blobs == nil {
		return fileOut{}, connectors.Permanent(errors.New("the message has files but the gateway has no blob store configured"))
	}
	if a.Size > h.cfg.MaxFileBytes {
		return fileOut{}, connectors.Permanent(fmt.Errorf("%w: %d bytes, max_file_bytes is %d", connectors.ErrTooLarge, a.Size, h.cfg.MaxFileBytes))
	}
	rc, err := h.blobs.Open(ctx, a.BlobRef)
	if err != nil {
		return fileOut{}, fmt.Errorf("open the stored file: %w", err)
	}
	defer rc.Close()
	content, err := io.ReadAll(io.LimitReader(rc, h.cfg.MaxFileBytes+1))
	if err != nil {
		return fileOut{}, fmt.Errorf("read the stored file: %w", err)
	}
	if int64(len(content)) > h.cfg.MaxFileBytes {
		return fileOut{}, connectors.Permanent(fmt.Errorf("%w: over max_file_bytes (%d)", connectors.ErrTooLarge, h.cfg.MaxFileBytes))
	}
	typ := a.MediaType
	if typ == "" {
		typ = "application/octet-stream"
	}
	name := strings.TrimSpace(strings.NewReplacer("/", "_", "\\", "_").Replace(a.Name))
	if name == "" {
		name = "attachment"
	}
	return fileOut{Filename: name, Data: base64.StdEncoding.EncodeToString(content), MimeType: typ}, nil
}

// customer returns the Zammad user of the player, found or created once per identity: by
// e-mail when the player has one, else by the login "<prefix><channel>:<address>".
func (h *Helpdesk) customer(ctx context.Context, conv normalize.Conversation) (int64, error) {
	u := user{Firstname: hdkit.PlayerName(conv), Roles: []string{"Customer"},
		Note: fmt.Sprintf("Player on %s (%s), created by the casino gateway.", conv.Channel, conv.Address)}
	field, value := "login", login(h.cfg.LoginPrefix, conv)
	if email := hdkit.PlayerEmail(conv); email != "" {
		field, value = "email", email
		u.Email, u.Login = email, email
	} else {
		u.Login = value
	}
	key := field + ":" + value
	if id, ok := h.customers.Get(key); ok {
		return id, nil
	}
	found, err := h.findUser(ctx, field, value)
	if err != nil || found != 0 {
		if found != 0 {
			h.customers.Put(key, found)
		}
		return found, err
	}
	var out user
	err = h.api.do(ctx, http.MethodPost, "/api/v1/users", u, &out, 0)
	if err != nil && connectors.IsPermanent(err) && strings.Contains(err.Error(), "already used") {
		// Created meanwhile (another replica, or the search index was behind), or Zammad runs
		// without its search index and searches by plain text: look again, both ways; if the
		// index is still behind, the retry finds it.
		found, ferr := h.findUser(ctx, field, value)
		if ferr == nil && found == 0 {
			found, ferr = h.findUser(ctx, "", value)
		}
		if ferr != nil || found != 0 {
			if found != 0 {
				h.customers.Put(key, found)
			}
			return found, ferr
		}
		return 0, fmt.Errorf("zammad: customer %s exists but is not found yet (search index behind): %w", value, errors.Unwrap(err))
	}
	if err != nil {
		return 0, fmt.Errorf("zammad: create the customer of %s: %w", conv.ID, err)
	}
	if out.ID == 0 {
		return 0, fmt.Errorf("zammad: create the customer of %s: the answer has no user id", conv.ID)
	}
	h.customers.Put(key, out.ID)
	h.users.Put(out.ID, out)
	return out.ID, nil
}

// login is the login of a player without an e-mail address: prefix, channel and address.
// Zammad lowercases logins, so an address with capitals (a web chat visitor's ID) gets a
// short hash of its exact spelling, and two visitors differing in case stay two customers.
func login(prefix string, conv normalize.Conversation) string {
	raw := prefix + string(conv.Channel) + ":" + string(conv.Address)
	l := strings.ToLower(raw)
	if l == raw {
		return l
	}
	f := fnv.New32a()
	_, _ = f.Write([]byte(raw))
	return fmt.Sprintf("%s~%08x", l, f.Sum32())
}

// findUser looks a user up by login or email through the search, with the search index's
// field syntax (field:"value"), or by plain text when field is "" (what Zammad without its
// index understands), and keeps only an exact match of login or email: the search is
// full-text.
func (h *Helpdesk) findUser(ctx context.Context, field, value string) (int64, error) {
	var list []user
	term := value
	if field != "" {
		term = field + `:"` + value + `"`
	}
	q := "/api/v1/users/search?expand=true&limit=10&query=" + query(term)
	if err := h.api.do(ctx, http.MethodGet, q, nil, &list, 0); err != nil {
		return 0, fmt.Errorf("zammad: find the customer %s: %w", value, err)
	}
	for _, u := range list {
		if strings.EqualFold(u.Login, value) || (u.Email != "" && strings.EqualFold(u.Email, value)) {
			h.users.Put(u.ID, u)
			return u.ID, nil
		}
	}
	return 0, nil
}

// tags are the configured tags and the conversation's, with its channel kind, language and
// VIP tier.
func (h *Helpdesk) tags(conv normalize.Conversation, first normalize.Message) []string {
	return hdkit.Tags(h.cfg.Tags, conv, first, tagPart)
}

func tagPart(s string) string {
	return strings.ToLower(strings.NewReplacer(" ", "_", ",", "_", "\t", "_", "\n", "_").Replace(strings.TrimSpace(s)))
}

// attributes are the configured custom attributes' values from the conversation, or from u
// when the message is an Update (it holds the newest values).
func (h *Helpdesk) attributes(conv normalize.Conversation, u *normalize.Update) map[string]any {
	lang, tier, player, sla := conv.Language, conv.Player.VIPTier, conv.Player.PlayerID, conv.SLA.State()
	if u != nil {
		lang, tier, player, sla = u.Language, u.VIPTier, u.PlayerID, u.SLA.State()
	}
	a := h.cfg.Attributes
	out := map[string]any{}
	add := func(name string, v any) {
		if name != "" {
			out[name] = v
		}
	}
	add(a.Language, lang)
	add(a.VIPTier, strconv.Itoa(tier))
	if u == nil {
		add(a.Channel, string(conv.Channel)+":"+string(conv.Address))
	}
	add(a.SLA, string(sla))
	add(a.PlayerID, player)
	return out
}

// priority is a new ticket's priority: the conversation's (or an Update's), one step up
// when its first-response target is missed.
func (h *Helpdesk) priority(conv normalize.Conversation, first normalize.Message) string {
	if first.Update != nil {
		return h.updatePriority(first.Update)
	}
	return h.priorityName(conv.Priority, conv.SLA.State() == normalize.SLABreached)
}

func (h *Helpdesk) updatePriority(u *normalize.Update) string {
	return h.priorityName(u.Priority, u.SLA.State() == normalize.SLABreached)
}

func (h *Helpdesk) priorityName(p normalize.Priority, breached bool) string {
	names := []string{h.cfg.Priorities.Low, h.cfg.Priorities.Normal, h.cfg.Priorities.High, h.cfg.Priorities.Urgent}
	r := p.Rank()
	if breached {
		r++
	}
	return names[max(0, min(r, len(names)-1))]
}
