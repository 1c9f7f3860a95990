package email

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"strings"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/channel/email/parse"
	"github.com/casino-support/gateway/normalize"
)

// item is one mail, read and decided on: a message to store, a bounce to record, or noise to
// drop (why says which, reason is its label on /metrics).
type item struct {
	uid       uint32
	messageID string
	msg       *normalize.Message
	bounce    *parse.Bounce
	why       string
	reason    string
	// notice, with a message, tells the player that the mail was not taken in whole.
	notice *notice
}

// prepare parses raw (size bytes in all; only the header when tooLarge) and decides what it
// is. An error is the store's (attachments, thread look-up) and worth a retry; a mail that
// cannot be parsed is kept whole as an attachment instead.
func (c *Channel) prepare(ctx context.Context, raw []byte, size int64, tooLarge bool) (item, error) {
	var leftOut []string // files the blob store refused for size or quota
	store := func(ctx context.Context, r io.Reader, name, mediaType string) (normalize.Attachment, error) {
		att, err := c.blobs.Put(ctx, r, name, mediaType)
		if errors.Is(err, connectors.ErrTooLarge) || errors.Is(err, connectors.ErrQuota) {
			leftOut = append(leftOut, name)
		}
		return att, err
	}
	pm, err := parse.Parse(ctx, bytes.NewReader(raw), parse.Options{MaxBytes: max(c.cfg.MaxMailBytes, int64(len(raw))), Store: store})
	switch {
	case errors.Is(err, parse.ErrMalformed):
		return c.unreadable(ctx, raw, err)
	case err != nil:
		return item{}, fmt.Errorf("parse: %w", err)
	}
	it := item{messageID: pm.MessageID}
	if it.messageID == "" {
		it.messageID = syntheticMessageID(raw)
	}
	if it.reason, it.why = c.noise(pm); it.why != "" {
		return it, nil
	}
	if pm.Auto == parse.AutoBounce {
		if it.bounce = pm.Bounce; it.bounce == nil {
			it.reason, it.why = dropBounce, "a delivery report that names no mail"
		}
		return it, nil
	}
	address, convLanguage, err := c.thread(ctx, pm, it.messageID)
	if err != nil {
		return item{}, err
	}
	msg := c.inbound(pm, it.messageID, address)
	msg.Author.Language = cmp.Or(contentLanguage(raw), convLanguage)
	if (tooLarge || len(leftOut) > 0) && msg.Author.Email != "" {
		it.notice = &notice{mailID: it.messageID, to: msg.Author.Email, subject: pm.Subject, address: address,
			language: msg.Author.Language, files: leftOut, limit: cmp.Or(c.maxFileBytes, c.cfg.MaxMailBytes)}
		if tooLarge {
			it.notice.size, it.notice.limit, it.notice.files = size, c.cfg.MaxMailBytes, nil
		}
	}
	if tooLarge {
		msg.Text = fmt.Sprintf("This e-mail was not taken in: it has %d bytes, over the limit of %d (max_mail_bytes). "+
			"Ask the player to send it again with fewer or smaller attachments.", size, c.cfg.MaxMailBytes)
		msg.HTML, msg.Attachments, msg.Kind = "", nil, normalize.KindText
		c.log.Warn("email: mail over the size limit, only its header taken in", "external_id", it.messageID,
			"bytes", size, "limit", c.cfg.MaxMailBytes)
	}
	it.msg = &msg
	return it, nil
}

// noise says why pm must neither open a ticket nor be answered, and the reason's label on
// /metrics; "" when a person wrote it.
func (c *Channel) noise(pm *parse.Message) (reason, why string) {
	if c.isOwn(pm.From.Email) {
		return dropOwn, "the gateway's own mail"
	}
	switch pm.Auto {
	case parse.AutoReply:
		return dropAuto, "an automatic reply"
	case parse.AutoBulk:
		return dropBulk, "bulk or list mail"
	}
	return "", ""
}

// contentLanguage returns the first language of the mail's Content-Language header (Outlook
// and Apple Mail write it), "" when it has none.
func contentLanguage(raw []byte) string {
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return ""
	}
	first, _, _ := strings.Cut(m.Header.Get("Content-Language"), ",")
	first = strings.TrimSpace(first)
	if len(first) > 35 || strings.ContainsAny(first, " ;\"") {
		return ""
	}
	return first
}

// isOwn reports whether addr is the support address or a plus address of it.
func (c *Channel) isOwn(addr string) bool {
	if strings.EqualFold(addr, c.from) {
		return true
	}
	_, ok := plusToken(addr, c.from)
	return ok
}

// inbound converts a parsed mail into the player's message at address.
func (c *Channel) inbound(pm *parse.Message, messageID string, address normalize.Address) normalize.Message {
	text := pm.Text
	if strings.TrimSpace(text) == "" {
		text = pm.FullText
	}
	for _, s := range pm.Skipped {
		text += "\n[" + s + "]"
	}
	text = strings.TrimSpace(text)
	kind := normalize.KindText
	if text == "" && len(pm.Attachments) > 0 {
		kind = normalize.KindDocument
	}
	name := pm.From.Name
	if name == "" {
		name = pm.From.Email
	}
	sent := pm.Date
	if sent.IsZero() {
		sent = c.now()
	}
	return normalize.Message{
		Direction: normalize.Inbound, Source: c.name, ExternalID: normalize.ExternalID(messageID),
		Channel: c.name, ChannelKind: normalize.KindEmail, Address: address,
		Author: normalize.Author{Role: normalize.RolePlayer, DisplayName: name, ExternalID: pm.From.Email, Email: c.replyAddress(pm)},
		Kind:   kind, Text: text, HTML: pm.HTML, Subject: pm.Subject, Attachments: pm.Attachments, SentAt: sent.UTC(),
	}
}

// replyAddress is where the player wants answers: the first Reply-To that is not the
// gateway's own address (a loop), else From.
func (c *Channel) replyAddress(pm *parse.Message) string {
	for _, a := range pm.ReplyTo {
		if a.Email != "" && !c.isOwn(a.Email) {
			return a.Email
		}
	}
	return pm.From.Email
}

// unreadable keeps a mail that has no readable header whole, as an attachment of a note to
// the agents, in a thread of its own: reading it again cannot help, and dropping it would lose
// a player's words.
func (c *Channel) unreadable(ctx context.Context, raw []byte, cause error) (item, error) {
	id := syntheticMessageID(raw)
	att, err := c.blobs.Put(ctx, bytes.NewReader(raw), "mail.eml", "message/rfc822")
	if err != nil && !errors.Is(err, connectors.ErrTooLarge) && !errors.Is(err, connectors.ErrQuota) {
		return item{}, fmt.Errorf("keep an unreadable mail: %w", err)
	}
	msg := normalize.Message{
		Direction: normalize.Inbound, Source: c.name, ExternalID: normalize.ExternalID(id),
		Channel: c.name, ChannelKind: normalize.KindEmail, Address: newToken(c.name, id),
		Author: normalize.Author{Role: normalize.RolePlayer},
		Kind:   normalize.KindDocument, Text: "An e-mail arrived that could not be read; it is attached as it came.", SentAt: c.now().UTC(),
	}
	if err == nil {
		msg.Attachments = []normalize.Attachment{att}
	} else {
		msg.Kind, msg.Text = normalize.KindText, "An e-mail arrived that could not be read, and could not be kept: "+err.Error()
	}
	c.log.Warn("email: unreadable mail kept as a file", "external_id", id, "bytes", len(raw), "err", cause)
	return item{messageID: id, msg: &msg}, nil
}
