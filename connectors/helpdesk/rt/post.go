package rt

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/helpdesk/hdkit"
	"github.com/casino-support/gateway/normalize"
)

// subjectRunes caps a ticket subject taken from the first message.
const subjectRunes = 80

// Post creates the conversation's ticket when it has none and adds each message as a
// correspondence, in order; an Update (a system message with Update set) instead sets the
// ticket's priority and becomes an internal comment (see applyUpdate). The external ID of a
// message is its gateway message ID: REST2 does not answer the transaction id of a
// correspondence, and the ID written into the marker is what a retry finds again, so a
// retry reports the same IDs.
//
// A message with Attempt > 1 may already be in RT, even if the request that posted it is
// still committing there. Post then waits SettleDelay once, and looks the message up by its
// marker (the ticket by requestor and the marker of its first message when the conversation
// has no ticket yet) instead of posting it a second time.
func (h *Helpdesk) Post(ctx context.Context, conv normalize.Conversation, msgs []connectors.Delivery) (normalize.Ref, []normalize.ExternalID, error) {
	if len(msgs) == 0 {
		return conv.Ticket, nil, nil
	}
	ticket := 0
	if conv.Ticket != "" {
		n, err := strconv.Atoi(string(conv.Ticket))
		if err != nil || n <= 0 {
			return conv.Ticket, nil, connectors.Permanent(fmt.Errorf("rt: ticket reference %q is not an RT ticket id", conv.Ticket))
		}
		ticket = n
	}
	requestor := h.requestor(conv)
	uncertain := false
	for _, d := range msgs {
		uncertain = uncertain || d.Attempt > 1
	}
	if uncertain {
		if !connectors.Sleep(ctx, h.cfg.SettleDelay) {
			return conv.Ticket, nil, fmt.Errorf("rt: wait before look-up: %w", context.Cause(ctx))
		}
	}

	ids := make([]normalize.ExternalID, 0, len(msgs))
	rest := msgs
	created := false
	if ticket == 0 {
		if msgs[0].Attempt > 1 {
			found, err := h.findTicket(ctx, requestor, msgs[0].ID)
			if err != nil {
				return "", nil, err
			}
			ticket = found
		}
		if ticket == 0 {
			n, err := h.createTicket(ctx, conv, msgs[0].Message, requestor)
			if err != nil {
				return "", nil, err
			}
			ticket, created = n, true
		} else {
			h.log.InfoContext(ctx, "rt: found the ticket of an earlier attempt", "helpdesk", h.name, "conv", conv.ID, "msg_id", msgs[0].ID, "ticket", ticket)
		}
		ids = append(ids, normalize.ExternalID(msgs[0].ID))
		rest = msgs[1:]
	}
	ref := normalize.Ref(strconv.Itoa(ticket))
	h.poller.track(ticket, requestor)

	var posted map[normalize.MessageID]int
	if !created && needsLookup(rest) {
		var err error
		if posted, err = h.postedMessages(ctx, ticket); err != nil {
			return ref, ids, err
		}
	}
	for _, d := range rest {
		if _, ok := posted[d.ID]; ok && d.Attempt > 1 {
			h.log.InfoContext(ctx, "rt: message already on the ticket", "helpdesk", h.name, "conv", conv.ID, "msg_id", d.ID, "ticket", ticket)
			ids = append(ids, normalize.ExternalID(d.ID))
			continue
		}
		var err error
		if d.Update != nil {
			err = h.applyUpdate(ctx, ticket, d.Message)
		} else {
			err = h.correspond(ctx, ticket, d.Message)
		}
		if err != nil {
			return ref, ids, err
		}
		ids = append(ids, normalize.ExternalID(d.ID))
	}
	return ref, ids, nil
}

// correspond adds a player's message to the ticket as a correspondence.
func (h *Helpdesk) correspond(ctx context.Context, ticket int, m normalize.Message) error {
	fields, err := h.content(ctx, m)
	if err != nil {
		return fmt.Errorf("rt: correspond on ticket %d: %w", ticket, err)
	}
	if err := h.rt.correspond(ctx, ticket, fields); err != nil {
		return fmt.Errorf("rt: correspond on ticket %d: %w", ticket, err)
	}
	return nil
}

func needsLookup(ds []connectors.Delivery) bool {
	for _, d := range ds {
		if d.Attempt > 1 {
			return true
		}
	}
	return false
}

// createTicket creates the ticket with the first message as its content.
func (h *Helpdesk) createTicket(ctx context.Context, conv normalize.Conversation, first normalize.Message, requestor string) (int, error) {
	fields, err := h.content(ctx, first)
	if err != nil {
		return 0, fmt.Errorf("rt: create ticket for %s: %w", conv.ID, err)
	}
	if note := playerNote(conv, h.name); note != "" {
		fields["Content"] = note + "\n\n" + fields["Content"].(string)
	}
	fields["Queue"] = h.cfg.Queue
	fields["Subject"] = hdkit.Subject(conv, first, subjectRunes)
	fields["Requestor"] = requestor
	fields["Priority"] = priority(conv, first)
	if h.cfg.CustomField != "" {
		fields["CustomFields"] = map[string]any{h.cfg.CustomField: string(conv.Channel) + ":" + string(conv.Address)}
	}
	if conv.FollowUpOf != "" {
		// The player wrote after an agent resolved the last ticket (closed_ticket: follow_up):
		// the new one refers to it, so its history is a click away (issue 18).
		fields["RefersTo"] = string(conv.FollowUpOf)
	}
	id, err := h.rt.createTicket(ctx, fields)
	if err != nil {
		return 0, fmt.Errorf("rt: create ticket for %s: %w", conv.ID, err)
	}
	h.log.InfoContext(ctx, "rt: ticket created", "helpdesk", h.name, "conv", conv.ID, "msg_id", first.ID, "ticket", id)
	return id, nil
}

// content renders a message as REST2 Content (with its marker) and Attachments. JSON
// Attachments are used rather than multipart; REST2 5.0.3 answers 500 to a non-ASCII
// FileName there, so names are made ASCII.
//
// An e-mail's inline images (those with a ContentID) go as plain files beside the text, not
// in place in the mail's HTML: RT shows a cid: image in place only when the HTML and the
// image are parts of one multipart/related and the image part has that Content-ID
// (RT::Interface::Web::RewriteInlineImages), but REST2 builds every message, in JSON and in
// multipart/form-data alike, as a multipart/mixed of the body and files made of FileName,
// FileType and FileContent alone, with no way to give a part a Content-ID (RT 5.0.3, and
// REST2 upstream the same). Posting the HTML would show RT's agents broken images; the text
// and the files lose nothing.
func (h *Helpdesk) content(ctx context.Context, m normalize.Message) (map[string]any, error) {
	fields := map[string]any{"Content": hdkit.WithMarker(hdkit.Body(m), m.ID), "ContentType": "text/plain"}
	if len(m.Attachments) == 0 {
		return fields, nil
	}
	if h.blobs == nil {
		return nil, fmt.Errorf("message %s has attachments but no blob store is configured", m.ID)
	}
	atts := make([]map[string]string, 0, len(m.Attachments))
	for _, a := range m.Attachments {
		b, err := h.readBlob(ctx, a.BlobRef)
		if err != nil {
			return nil, fmt.Errorf("attachment %q of %s: %w", a.Name, m.ID, err)
		}
		typ := a.MediaType
		if typ == "" {
			typ = "application/octet-stream"
		}
		atts = append(atts, map[string]string{"FileName": asciiName(a.Name), "FileType": typ, "FileContent": base64.StdEncoding.EncodeToString(b)})
	}
	fields["Attachments"] = atts
	return fields, nil
}

func (h *Helpdesk) readBlob(ctx context.Context, ref string) ([]byte, error) {
	rc, err := h.blobs.Open(ctx, ref)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// asciiName replaces what is not printable ASCII (and path separators) in a file name.
func asciiName(name string) string {
	var b strings.Builder
	for _, r := range name {
		switch {
		case r == '/' || r == '\\' || r == '"':
			b.WriteByte('_')
		case r >= 0x20 && r < 0x7f:
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	if s := strings.TrimSpace(b.String()); s != "" {
		return s
	}
	return "attachment"
}

// RT's 0-99 priority of a ticket: the conversation's priority sets the base, each VIP tier
// adds vipStep, and a missed first-response target adds slaBreachBoost, which moves the
// ticket up about one class (a late normal one ranks with a high one); capped at 99.
var basePriority = map[normalize.Priority]int{
	normalize.PriorityLow:    20,
	normalize.PriorityNormal: 50,
	normalize.PriorityHigh:   70,
	normalize.PriorityUrgent: 90,
}

const (
	vipStep        = 5
	slaBreachBoost = 20
	maxPriority    = 99
)

// rtPriority maps a priority, a VIP tier and whether the SLA is breached to RT's scale.
func rtPriority(p normalize.Priority, vipTier int, breached bool) int {
	n, ok := basePriority[p]
	if !ok {
		n = basePriority[normalize.PriorityNormal]
	}
	n += vipStep * max(vipTier, 0)
	if breached {
		n += slaBreachBoost
	}
	return min(n, maxPriority)
}

// priority is the priority of a new ticket: from the first message's Update when it is one
// (it is the newest word on the conversation), else from the conversation.
func priority(conv normalize.Conversation, first normalize.Message) int {
	if u := first.Update; u != nil {
		return rtPriority(u.Priority, u.VIPTier, u.SLA.State() == normalize.SLABreached)
	}
	tier := max(conv.Player.VIPTier, first.Author.VIPTier)
	return rtPriority(conv.Priority, tier, conv.SLA.State() == normalize.SLABreached)
}

// addressPart is what may go into a synthetic address unchanged.
var addressPart = regexp.MustCompile(`^[a-z0-9_+-]{1,40}$`)

// requestor is the player's e-mail address when the channel knows it (Player.Email, set by
// the e-mail channel, whose conversation addresses are thread tokens), else a synthetic
// address <channel>.<address>@requestor_domain (the address hashed when it does not fit),
// stable per channel address so one player's tickets share one RT user.
func (h *Helpdesk) requestor(conv normalize.Conversation) string {
	if email := hdkit.PlayerEmail(conv); email != "" {
		return email
	}
	addr := string(conv.Address)
	if !addressPart.MatchString(addr) {
		sum := sha256.Sum256([]byte(addr))
		addr = "h" + hex.EncodeToString(sum[:10])
	}
	return string(conv.Channel) + "." + addr + "@" + h.cfg.RequestorDomain
}
