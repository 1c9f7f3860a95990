package inbox

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/casino-support/gateway/connectors/media"
	"github.com/casino-support/gateway/normalize"
)

// attachmentLookupLimit is how far back a download may reach into a conversation; it is
// larger than the thread view so a link stays valid while the thread grows.
const attachmentLookupLimit = 5000

// handleAttachment serves one attachment of a message of the conversation in the path, and
// nothing else: the blob reference comes from the stored message, never from the request, so
// a download link cannot be bent to another conversation's files.
func (i *Inbox) handleAttachment(w http.ResponseWriter, r *http.Request, s session) {
	ctx := r.Context()
	conv, err := i.ownConversation(ctx, r.PathValue("conv"))
	if err != nil {
		i.plainConversationError(w, err)
		return
	}
	index, err := strconv.Atoi(r.PathValue("index"))
	if err != nil || index < 0 {
		http.Error(w, "No such attachment.", http.StatusNotFound)
		return
	}
	msgs, err := i.deps.Conversations.Thread(ctx, conv.ID, attachmentLookupLimit)
	if err != nil {
		i.plainConversationError(w, err)
		return
	}
	var att *normalize.Attachment
	for _, m := range msgs {
		if string(m.ID) == r.PathValue("msg") && index < len(m.Attachments) {
			att = &m.Attachments[index]
			break
		}
	}
	if att == nil || i.deps.Blobs == nil {
		http.Error(w, "No such attachment.", http.StatusNotFound)
		return
	}
	rc, err := i.deps.Blobs.Open(ctx, att.BlobRef)
	if err != nil {
		i.log.Error("open attachment", "conv", conv.ID, "msg_id", r.PathValue("msg"), "err", err)
		http.Error(w, "The attachment cannot be read.", http.StatusNotFound)
		return
	}
	defer rc.Close()
	h := w.Header()
	// Inline only for images the page previews; everything else downloads. nosniff and the
	// sandbox keep a player's upload from ever running as a page of the inbox.
	disposition := "attachment"
	contentType := "application/octet-stream"
	if media.IsInlineImage(att.MediaType) {
		disposition, contentType = "inline", att.MediaType
	} else if mt, _, err := mime.ParseMediaType(att.MediaType); err == nil && mt != "text/html" {
		contentType = mt
	}
	h.Set("Content-Type", contentType)
	cd := mime.FormatMediaType(disposition, map[string]string{"filename": firstNonEmpty(att.Name, "attachment")})
	if cd == "" { // a name mime cannot encode (control characters)
		cd = disposition + `; filename="attachment"`
	}
	h.Set("Content-Disposition", cd)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	// KYC documents: nothing stays in the browser after the agent signs out.
	h.Set("Cache-Control", "private, no-store")
	if _, err := io.Copy(w, rc); err != nil {
		i.log.Debug("send attachment", "conv", conv.ID, "err", err)
	}
}

func (i *Inbox) plainConversationError(w http.ResponseWriter, err error) {
	if errors.Is(err, errNotHere) {
		http.Error(w, "No such attachment.", http.StatusNotFound)
		return
	}
	i.log.Error("read conversation for attachment", "err", err)
	http.Error(w, "The gateway store cannot be read right now.", http.StatusInternalServerError)
}
