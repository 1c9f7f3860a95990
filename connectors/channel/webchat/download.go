package webchat

import (
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/media"
	"github.com/casino-support/gateway/normalize"
)

// serveAttachment streams an attachment of the visitor's own conversation: a KYC document is
// readable only with the token of the player who sent it (or received it from an agent).
// Anything else, including another visitor's valid message ID, is 404, so IDs cannot be probed.
func (c *Channel) serveAttachment(w http.ResponseWriter, r *http.Request) {
	s, ferr := c.authenticate(bearer(r, true), connectors.ClientKey(r))
	if ferr != nil {
		writeFrameError(w, ferr)
		return
	}
	id := normalize.MessageID(r.PathValue("id"))
	index, err := strconv.Atoi(r.PathValue("index"))
	if err != nil || index < 0 || !messageIDPattern.MatchString(string(id)) {
		writeError(w, http.StatusNotFound, codeNotFound, "no such attachment")
		return
	}
	msgs, err := c.messages(r.Context(), s.addr, lookupLimit)
	if err != nil {
		c.log.Error("attachment lookup failed", "conv", s.addr, "msg_id", id, "err", err)
		writeFrameError(w, unavailable(""))
		return
	}
	var att *normalize.Attachment
	for _, m := range msgs {
		if m.ID == id && !hidden(m) && index < len(m.Attachments) {
			att = &m.Attachments[index]
		}
	}
	if att == nil {
		writeError(w, http.StatusNotFound, codeNotFound, "no such attachment in this chat")
		return
	}
	body, err := c.blobs.Open(r.Context(), att.BlobRef)
	if err != nil {
		c.log.Error("attachment content missing", "conv", s.addr, "msg_id", id, "blob", att.BlobRef, "err", err)
		writeError(w, http.StatusNotFound, codeNotFound, "the attachment's content is no longer available")
		return
	}
	defer body.Close()
	mediaType := att.MediaType
	if !media.SafeInline(mediaType) {
		mediaType = "application/octet-stream"
	}
	h := w.Header()
	h.Set("Content-Type", mediaType)
	disposition := mime.FormatMediaType("attachment", map[string]string{"filename": att.Name})
	if disposition == "" {
		disposition = "attachment"
	}
	h.Set("Content-Disposition", disposition)
	h.Set("X-Content-Type-Options", "nosniff")
	// Opened on its own, the file gets no script, no plugins, no origin.
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cache-Control", "private, no-store")
	h.Set("Referrer-Policy", "no-referrer")
	if att.Size > 0 {
		h.Set("Content-Length", strconv.FormatInt(att.Size, 10))
	}
	if _, err := io.Copy(w, body); err != nil {
		c.log.Debug("attachment download interrupted", "conv", s.addr, "msg_id", id, "err", err)
	}
}
