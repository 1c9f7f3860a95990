package rt

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/textproto"
	"strconv"
	"strings"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/media"
	"github.com/casino-support/gateway/normalize"
)

// An agent's files reach the player as attachments: the poller downloads each file of a
// correspondence from RT into the blob store and puts it on the reply. A file that can never
// be sent (over the blob store's limit, or a part RT will not give) must not cost the player
// the reply, so the reply goes with a line naming it instead.

// fileAttempts is how many polls in a row may fail to download one file before the reply
// goes without it: the poller's cursor is shared by every ticket, so a file RT keeps failing
// to give must not hold up every later reply for good.
const fileAttempts = 5

// Lines added to a reply's text for files that do not travel as attachments.
const (
	namedOnly   = "[attachment in RT: %s]" // no blob store configured
	tooLarge    = "[file too large to send: %s]"
	notSendable = "[file could not be sent: %s]"
	storageFull = "[file not sent, the gateway's attachment storage is full: %s]"
	notInline   = "[image not shown inline, attached as a file: %s: %v]"
)

// isFile reports whether a part of a transaction is a file rather than the multipart
// container or the text/plain or text/html body: it names a file (RT fills Filename from
// Content-Disposition's filename or Content-Type's name), or it is marked as an attachment.
func isFile(p attachment) bool {
	return p.Filename != "" || disposition(p.Headers) == "attachment"
}

// disposition returns the lower-cased disposition type of a part's Content-Disposition
// header, or "" when it has none or it does not parse.
func disposition(headers string) string {
	r := textproto.NewReader(bufio.NewReader(strings.NewReader(strings.TrimRight(headers, "\n") + "\n\n")))
	h, err := r.ReadMIMEHeader()
	if err != nil && len(h) == 0 {
		return ""
	}
	d, _, err := mime.ParseMediaType(h.Get("Content-Disposition"))
	if err != nil {
		return ""
	}
	return d
}

// fileName is the name a file goes out with: RT's name without the directories some mail
// clients put in it, or attachment-<id> when it has none.
func fileName(p attachment) string {
	name := p.Filename
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	if name = strings.TrimSpace(name); name != "" {
		return name
	}
	return fmt.Sprintf("attachment-%d", p.ID.int())
}

// mediaType is the part's content type, application/octet-stream when RT has none.
func mediaType(p attachment) string {
	if t := strings.ToLower(strings.TrimSpace(p.ContentType)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// files stores the files of an agent's correspondence t in the blob store. It returns the
// attachments of the reply and a line for each file that does not travel with it: without a
// blob store every file is only named, as before files were sent; a file over the blob
// store's limit or one RT will never give (a permanent error) is logged and named. Any other
// failure is returned, so the transaction is handled again on the next poll (the files stored
// before it are stored again then; the default blob store keeps one copy by digest), up to
// fileAttempts polls when RT fails, after which the file is named instead; without limit when
// the blob store fails.
func (h *Helpdesk) files(ctx context.Context, t txn, parts []attachment) ([]normalize.Attachment, []string, error) {
	var atts []normalize.Attachment
	var lines []string
	for _, p := range parts {
		name := fileName(p)
		if h.blobs == nil {
			lines = append(lines, fmt.Sprintf(namedOnly, name))
			continue
		}
		att, note, err := h.download(ctx, p, name)
		if errors.Is(err, errLocal) {
			// Not the file's fault: it is fetched again, however often, once the store is back.
			return nil, nil, fmt.Errorf("file %q (attachment %d): %w", name, p.ID.int(), err)
		}
		transient := err != nil && !errors.Is(err, connectors.ErrTooLarge) && !errors.Is(err, connectors.ErrQuota) &&
			!errors.Is(err, connectors.ErrPermanent)
		failures := h.poller.fileFailed(p.ID.int(), transient)
		switch {
		case err == nil && note == "":
			atts = append(atts, att)
			continue
		case err == nil:
			atts = append(atts, att)
			lines = append(lines, note)
			h.log.WarnContext(ctx, "rt: an agent's image goes as a file, not shown inline", "helpdesk", h.name,
				"ticket", t.Ticket, "txn", t.ID, "attachment", p.ID, "file", name)
			continue
		case errors.Is(err, connectors.ErrTooLarge):
			lines = append(lines, fmt.Sprintf(tooLarge, name))
		case errors.Is(err, connectors.ErrQuota):
			// Fetching it again would hold up every later reply until room is freed.
			lines = append(lines, fmt.Sprintf(storageFull, name))
		case errors.Is(err, connectors.ErrPermanent), failures >= fileAttempts:
			lines = append(lines, fmt.Sprintf(notSendable, name))
		default:
			return nil, nil, fmt.Errorf("file %q (attachment %d), attempt %d of %d: %w", name, p.ID.int(), failures, fileAttempts, err)
		}
		h.log.WarnContext(ctx, "rt: an agent's file is not sent; the reply names it instead", "helpdesk", h.name,
			"ticket", t.Ticket, "txn", t.ID, "attachment", p.ID, "file", name, "size", string(p.ContentLength), "err", err)
	}
	return atts, lines, nil
}

// sizeLimited is a blob store that tells the most it stores, as the gateway's does: a file
// RT lists as larger is named without being downloaded. With another store it is downloaded
// until the store refuses it.
type sizeLimited interface {
	MaxBytes() int64
}

// download reads one file part from RT into the blob store as it arrives. Content that is
// not base64 is a permanent error: asking again brings the same.
//
// An image that declares more than media.MaxImagePixels, or whose size cannot be read, would
// take down the player's browser that shows it inline; refusing it would cost the player the
// agent's file, and nobody waits to hear of a refusal. It is stored as a plain file to
// download instead, and note says so for the reply's text.
func (h *Helpdesk) download(ctx context.Context, p attachment, name string) (att normalize.Attachment, note string, err error) {
	if err := h.checkSize(p); err != nil {
		return normalize.Attachment{}, "", err
	}
	content, err := h.rt.attachmentContent(ctx, p.ID.int())
	if err != nil {
		return normalize.Attachment{}, "", fmt.Errorf("download: %w", err)
	}
	defer content.Close()
	src := &errReader{r: content}
	mt := mediaType(p)
	checked, imgErr := media.CheckImage(src, mt)
	if imgErr != nil {
		mt, note = "application/octet-stream", fmt.Sprintf(notInline, name, imgErr)
	}
	att, err = h.blobs.Put(ctx, checked, name, mt)
	if err != nil && src.err != nil {
		// Checked here rather than through err: a blob store need not wrap the reader's error.
		return normalize.Attachment{}, "", fmt.Errorf("download: %w", src.err)
	}
	if errors.Is(err, connectors.ErrTooLarge) || errors.Is(err, connectors.ErrQuota) {
		return normalize.Attachment{}, "", err
	}
	if err != nil {
		return normalize.Attachment{}, "", fmt.Errorf("store: %w: %w", errLocal, err)
	}
	return att, note, nil
}

// checkSize refuses a part whose ContentLength in RT's listing is over the blob store's limit.
// RT's ContentLength is the part's Content-Length header, which RT writes from the content
// when the part has none; a part without a usable one is left to the blob store.
func (h *Helpdesk) checkSize(p attachment) error {
	store, ok := h.blobs.(sizeLimited)
	if !ok {
		return nil
	}
	size, err := strconv.ParseInt(string(p.ContentLength), 10, 64)
	if limit := store.MaxBytes(); err == nil && size > limit {
		return fmt.Errorf("RT lists %d bytes, over the blob store's limit of %d: %w", size, limit, connectors.ErrTooLarge)
	}
	return nil
}

// errReader remembers the first error of r other than io.EOF.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(b []byte) (int, error) {
	n, err := e.r.Read(b)
	if err != nil && err != io.EOF && e.err == nil {
		e.err = err
	}
	return n, err
}

// replyKind is text when the reply has text (channels send the files with it), else what
// its first file is: an image or a document.
func replyKind(text string, atts []normalize.Attachment) normalize.MessageKind {
	switch {
	case text != "" || len(atts) == 0:
		return normalize.KindText
	case strings.HasPrefix(atts[0].MediaType, "image/"):
		return normalize.KindImage
	}
	return normalize.KindDocument
}
