package email

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"strings"

	"github.com/emersion/go-message/mail"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/normalize/htmltext"
)

// compose builds the reply mail: text/plain and text/html alternatives, and the attachments
// from the blob store.
func (c *Channel) compose(ctx context.Context, conv normalize.Conversation, msg normalize.Message, th replyThread, mid string) ([]byte, error) {
	var h mail.Header
	h.SetDate(c.now())
	h.SetAddressList("From", []*mail.Address{{Name: c.cfg.FromName, Address: c.from}})
	h.SetAddressList("To", []*mail.Address{{Name: th.toName, Address: th.to}})
	if c.cfg.PlusTokens {
		h.SetAddressList("Reply-To", []*mail.Address{{Name: c.cfg.FromName, Address: plusAddress(c.from, conv.Address)}})
	}
	h.SetSubject(c.tokens.subject(th.subject, conv.Address))
	h.SetMessageID(mid)
	if th.inReplyTo != "" {
		h.SetMsgIDList("In-Reply-To", []string{th.inReplyTo})
	}
	h.SetMsgIDList("References", th.references)
	// Asks Exchange and Outlook not to answer with out-of-office notices; bounces still come.
	h.Set("X-Auto-Response-Suppress", "OOF, AutoReply")
	if th.auto {
		h.Set("Auto-Submitted", "auto-replied") // RFC 3834: no vacation notice answers it
	}

	var buf bytes.Buffer
	if len(msg.Attachments) == 0 {
		iw, err := mail.CreateInlineWriter(&buf, h)
		if err != nil {
			return nil, err
		}
		if err := writeBodies(iw, msg); err != nil {
			return nil, err
		}
		return buf.Bytes(), iw.Close()
	}
	mw, err := mail.CreateWriter(&buf, h)
	if err != nil {
		return nil, err
	}
	iw, err := mw.CreateInline()
	if err != nil {
		return nil, err
	}
	if err := writeBodies(iw, msg); err != nil {
		return nil, err
	}
	if err := iw.Close(); err != nil {
		return nil, err
	}
	for _, a := range msg.Attachments {
		if err := c.attach(ctx, mw, a); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), mw.Close()
}

// writeBodies writes the text and its HTML form (the agent's own HTML when the helpdesk gave
// one, else the text escaped with its line breaks kept).
func writeBodies(iw *mail.InlineWriter, msg normalize.Message) error {
	text, body := msg.Text, msg.HTML
	if text == "" && body != "" {
		text = htmltext.Text(body)
	}
	if body == "" {
		body = "<!DOCTYPE html><html><body><div>" +
			strings.ReplaceAll(html.EscapeString(text), "\n", "<br>\n") + "</div></body></html>"
	}
	for _, part := range []struct{ mediaType, content string }{{"text/plain", text}, {"text/html", body}} {
		var ph mail.InlineHeader
		ph.SetContentType(part.mediaType, map[string]string{"charset": "utf-8"})
		w, err := iw.CreatePart(ph)
		if err != nil {
			return err
		}
		if _, err := io.WriteString(w, part.content); err != nil {
			return err
		}
		if err := w.Close(); err != nil {
			return err
		}
	}
	return nil
}

// attach copies a file of the reply from the blob store. A file retention already deleted
// can never be sent: that is permanent.
func (c *Channel) attach(ctx context.Context, mw *mail.Writer, a normalize.Attachment) error {
	rc, err := c.blobs.Open(ctx, a.BlobRef)
	if errors.Is(err, connectors.ErrNotFound) {
		return connectors.Permanent(fmt.Errorf("attachment %q: %w", a.Name, err))
	}
	if err != nil {
		return fmt.Errorf("attachment %q: %w", a.Name, err)
	}
	defer rc.Close()
	var ah mail.AttachmentHeader
	mediaType := a.MediaType
	if mediaType == "" {
		mediaType = "application/octet-stream"
	}
	ah.SetContentType(mediaType, nil)
	ah.SetFilename(a.Name)
	w, err := mw.CreateAttachment(ah)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, rc); err != nil {
		return fmt.Errorf("attachment %q: %w", a.Name, err)
	}
	return w.Close()
}

// literal is a mail for IMAP APPEND, which needs its length first.
func literal(raw []byte) *bytes.Reader { return bytes.NewReader(raw) }
