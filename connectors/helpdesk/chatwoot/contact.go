package chatwoot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/casino-support/gateway/connectors/helpdesk/hdkit"
	"github.com/casino-support/gateway/normalize"
)

// contactRef is a player's contact and its contact inbox in the configured inbox: the
// source_id a conversation is opened with.
type contactRef struct {
	id       int
	sourceID string
	// fresh is set when the contact was created by this call: it has no conversations yet.
	fresh bool
}

// player is how a conversation's player is known to Chatwoot: by e-mail address when the
// player has one (Chatwoot mails nobody for an API inbox, and agents see the real address),
// else by the contact identifier "<channel>:<address>", which says where the player writes
// from and can receive no mail, unlike a made-up address.
type player struct {
	email      string
	identifier string
	name       string
	phone      string
}

// key is what the player is looked up and cached by.
func (p player) key() string {
	if p.email != "" {
		return "email:" + p.email
	}
	return "id:" + p.identifier
}

// e164 is a phone number as Chatwoot's contact validation takes it.
var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// playerOf returns the player of conv.
func playerOf(conv normalize.Conversation) player {
	p := player{name: hdkit.PlayerName(conv), email: hdkit.PlayerEmail(conv)}
	if p.email == "" {
		p.identifier = string(conv.Channel) + ":" + string(conv.Address)
		// Messengers whose address is the phone number: Chatwoot shows it and agents can call.
		if (conv.ChannelKind == normalize.KindWhatsApp || conv.ChannelKind == normalize.KindVoice) && e164.MatchString(string(conv.Address)) {
			p.phone = string(conv.Address)
		}
	}
	return p
}

// contactOf finds or creates the player's contact and its contact inbox.
func (h *Helpdesk) contactOf(ctx context.Context, conv normalize.Conversation) (contactRef, error) {
	p := playerOf(conv)
	h.mu.Lock()
	ref, ok := h.sources[p.key()]
	h.mu.Unlock()
	if ok {
		return ref, nil
	}
	c, found, err := h.findContact(ctx, p)
	fresh := false
	if err != nil {
		return contactRef{}, fmt.Errorf("chatwoot: find the contact of %s: %w", conv.ID, err)
	}
	if !found {
		if c, fresh, err = h.createContact(ctx, p); err != nil {
			return contactRef{}, fmt.Errorf("chatwoot: create the contact of %s: %w", conv.ID, err)
		}
		if fresh {
			h.log.InfoContext(ctx, "chatwoot: contact created", "helpdesk", h.name, "conv", conv.ID, "contact", c.ID)
		}
	}
	// A source_id of our own, derived from the player, makes the contact inbox idempotent:
	// Chatwoot answers the existing one for a source_id it knows.
	sum := sha256.Sum256([]byte(fmt.Sprintf("%d\x00%s", h.cfg.InboxID, p.key())))
	ref = contactRef{id: c.ID, sourceID: "gw-" + hex.EncodeToString(sum[:16])}
	var ci struct {
		SourceID string `json:"source_id"`
	}
	err = h.api.do(ctx, http.MethodPost, fmt.Sprintf("/contacts/%d/contact_inboxes", c.ID), nil,
		map[string]any{"inbox_id": h.cfg.InboxID, "source_id": ref.sourceID}, &ci)
	if err != nil {
		return contactRef{}, fmt.Errorf("chatwoot: add contact %d to inbox %d: %w", c.ID, h.cfg.InboxID, err)
	}
	if ci.SourceID != "" {
		ref.sourceID = ci.SourceID
	}
	h.mu.Lock()
	h.sources[p.key()] = ref
	h.mu.Unlock()
	ref.fresh = fresh
	return ref, nil
}

// maxSearchPages bounds the pages of a contact search: the match is exact, and Chatwoot
// orders it among the first; more pages mean a query matching many others' addresses.
const maxSearchPages = 5

// findContact searches the contacts for p's e-mail or identifier and returns the exact match.
func (h *Helpdesk) findContact(ctx context.Context, p player) (contact, bool, error) {
	q := p.email
	if q == "" {
		q = p.identifier
	}
	for page := 1; page <= maxSearchPages; page++ {
		var res struct {
			Payload []contact `json:"payload"`
		}
		if err := h.api.do(ctx, http.MethodGet, "/contacts/search", url.Values{"q": {q}, "page": {strconv.Itoa(page)}}, nil, &res); err != nil {
			return contact{}, false, err
		}
		for _, c := range res.Payload {
			if (p.email != "" && strings.EqualFold(c.Email, p.email)) || (p.email == "" && c.Identifier == p.identifier) {
				return c, true, nil
			}
		}
		if len(res.Payload) == 0 {
			break
		}
	}
	return contact{}, false, nil
}

// createContact creates p's contact and reports whether it did. Another replica or
// conversation may have created it a moment ago: Chatwoot then refuses the taken identifier
// or e-mail with 422, and the search finds it.
func (h *Helpdesk) createContact(ctx context.Context, p player) (contact, bool, error) {
	body := map[string]any{"inbox_id": h.cfg.InboxID, "name": p.name}
	if p.email != "" {
		body["email"] = p.email
	} else {
		body["identifier"] = p.identifier
	}
	if p.phone != "" {
		body["phone_number"] = p.phone
	}
	var res struct {
		Payload struct {
			Contact *contact `json:"contact"`
			contact
		} `json:"payload"`
	}
	err := h.api.do(ctx, http.MethodPost, "/contacts", nil, body, &res)
	if is(err, http.StatusUnprocessableEntity) {
		if c, found, ferr := h.findContact(ctx, p); ferr == nil && found {
			return c, false, nil
		}
		return contact{}, false, err
	}
	if err != nil {
		return contact{}, false, err
	}
	// Chatwoot answers {"payload": {"contact": {...}, "contact_inbox": {...}}}; releases
	// before 2.0 answered the contact itself in payload.
	c := res.Payload.contact
	if res.Payload.Contact != nil {
		c = *res.Payload.Contact
	}
	if c.ID <= 0 {
		return contact{}, false, errors.New("POST /contacts answered no contact id")
	}
	return c, true, nil
}
