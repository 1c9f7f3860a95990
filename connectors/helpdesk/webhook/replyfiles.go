package webhook

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/media"
	"github.com/casino-support/gateway/normalize"
)

const (
	// maxReplyFiles caps the attachments of one reply: more is a runaway integration, not an
	// agent at work, and each file is one more message in the player's chat.
	maxReplyFiles = 10
	// maxFileName is the longest name kept, in characters as the contract's maxLength counts
	// them; it is shown to the player.
	maxFileName = 255
)

// refusal is a request the gateway will not store, with the status to answer; its message
// tells the operator what to fix.
type refusal struct {
	status int
	msg    string
}

func (r *refusal) Error() string { return r.msg }

func refuse(status int, format string, args ...any) error {
	return &refusal{status: status, msg: fmt.Sprintf(format, args...)}
}

// replyFile is a decoded attachment, checked but not stored yet.
type replyFile struct {
	name, mediaType string
	content         []byte
}

// decodeFiles decodes and checks the attachments of a reply before anything is stored, so a
// bad third file does not leave the first two behind. Refusals are 400, or 413 when the files
// together exceed the limit.
func (h *Helpdesk) decodeFiles(in []InAttachment) ([]replyFile, error) {
	if len(in) > maxReplyFiles {
		return nil, refuse(http.StatusBadRequest, "at most %d attachments per reply, got %d", maxReplyFiles, len(in))
	}
	files := make([]replyFile, 0, len(in))
	var total int64
	for i, a := range in {
		f, err := decodeFile(i, a)
		if err != nil {
			return nil, err
		}
		if total += int64(len(f.content)); total > h.maxAttach {
			return nil, refuse(http.StatusRequestEntityTooLarge, "attachments: over the limit of %d bytes of content per reply (at attachments[%d], %s)", h.maxAttach, i, f.name)
		}
		files = append(files, f)
	}
	return files, nil
}

// decodeFile checks one attachment: a name to show, a media type, content in base64 that is
// not empty and, where the type can be sniffed, is of that type.
func decodeFile(i int, a InAttachment) (replyFile, error) {
	at := fmt.Sprintf("attachments[%d]", i)
	name := strings.TrimSpace(a.Name)
	switch {
	case name == "":
		return replyFile{}, refuse(http.StatusBadRequest, "%s: name is required", at)
	case utf8.RuneCountInString(name) > maxFileName:
		return replyFile{}, refuse(http.StatusBadRequest, "%s: name is over %d characters", at, maxFileName)
	case strings.ContainsFunc(name, media.Hidden):
		// The player sees the name: a bidi override can disguise "fdp.exe" as "exe.pdf".
		return replyFile{}, refuse(http.StatusBadRequest, "%s: name contains control or bidirectional characters", at)
	}
	at += " (" + name + ")"
	mediaType, _, err := mime.ParseMediaType(a.MediaType)
	if err != nil || strings.Count(mediaType, "/") != 1 || strings.HasPrefix(mediaType, "/") || strings.HasSuffix(mediaType, "/") {
		return replyFile{}, refuse(http.StatusBadRequest, "%s: media_type %q is not a media type such as application/pdf", at, a.MediaType)
	}
	content, err := base64.StdEncoding.DecodeString(a.ContentBase64)
	switch {
	case err != nil:
		return replyFile{}, refuse(http.StatusBadRequest, "%s: content_base64 is not standard base64: %v", at, err)
	case len(content) == 0:
		return replyFile{}, refuse(http.StatusBadRequest, "%s: the file is empty", at)
	}
	if sniffed, ok := media.Check(mediaType, content); !ok {
		return replyFile{}, refuse(http.StatusBadRequest, "%s: media_type is %s but the content is not (it looks like %s)", at, mediaType, sniffed)
	}
	// Players' pages show images inline: one declaring gigapixels would take the player's
	// browser down. The operator's system hears why at once, and the agent can send it smaller.
	if _, err := media.CheckImage(bytes.NewReader(content), mediaType); err != nil {
		return replyFile{}, refuse(http.StatusBadRequest, "%s: %v; send a smaller image", at, err)
	}
	return replyFile{name: name, mediaType: mediaType, content: content}, nil
}

// storeFiles puts the files into the blob store. A file over the store's limit is a 413
// refusal; other failures are the store's and worth a retry. The store is content-addressed,
// so a retried reply stores nothing twice.
func (h *Helpdesk) storeFiles(ctx context.Context, files []replyFile) ([]normalize.Attachment, error) {
	if len(files) == 0 {
		return nil, nil
	}
	if h.blobs == nil {
		return nil, refuse(http.StatusUnprocessableEntity, "this gateway has no attachment store; send the reply without attachments")
	}
	atts := make([]normalize.Attachment, 0, len(files))
	for i, f := range files {
		att, err := h.blobs.Put(ctx, bytes.NewReader(f.content), f.name, f.mediaType)
		switch {
		case errors.Is(err, connectors.ErrTooLarge):
			return nil, refuse(http.StatusRequestEntityTooLarge, "attachments[%d] (%s): too large for the attachment store (at most %d bytes)", i, f.name, h.maxAttach)
		case err != nil:
			return nil, fmt.Errorf("attachments[%d] (%s): %w", i, f.name, err)
		}
		atts = append(atts, att)
	}
	return atts, nil
}

// replyKind is a note, or what the files make it (media.Kind: an image when every file is one
// channels show inline, a document when there are other files, or text). Channels send the
// attachments of any kind but a note.
func replyKind(note bool, atts []normalize.Attachment) normalize.MessageKind {
	if note {
		return normalize.KindNote
	}
	return media.Kind(atts)
}
