package parse

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/emersion/go-message/textproto"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/media"
)

// aliases are media types mail clients write for the ones the media table knows.
var aliases = map[string]string{
	"image/jpg":               "image/jpeg",
	"image/pjpeg":             "image/jpeg",
	"image/x-png":             "image/png",
	"application/x-pdf":       "application/pdf",
	"application/x-zip":       "application/zip",
	"application/vnd.ms-tnef": "application/ms-tnef",
}

// extensions name a file that came without a name, for types the media table does not know.
var extensions = map[string]string{
	"message/rfc822":      ".eml",
	"message/global":      ".eml",
	"application/ms-tnef": ".dat",
	"text/calendar":       ".ics",
	"text/vcard":          ".vcf",
	"text/x-vcard":        ".vcf",
	"text/csv":            ".csv",
	"text/rfc822-headers": ".txt",
	"application/msword":  ".doc",
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
	"application/vnd.ms-excel": ".xls",
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
}

// attach stores one file of the mail through Options.Store. Limits of the store skip the
// file with a note; any other failure of the store fails the mail, to be read again.
func (w *walker) attach(h textproto.Header, mt, name string, r io.Reader) error {
	data, err := io.ReadAll(transferDecoder(h, r))
	if err != nil {
		w.note(displayName(name, mt), "not kept, its content was damaged in transit")
		return nil
	}
	mt = contentMediaType(mt, data)
	if (mt == "message/rfc822" || mt == "message/global") && w.report.attachedID == "" {
		nested := nestedHeader(data)
		w.report.attachedID = firstID(nested.Get("Message-Id"))
	}
	name = fileName(name, mt, data, w.fallback)
	if len(data) == 0 {
		w.note(name, "not kept, the file is empty")
		return nil
	}
	var content io.Reader = bytes.NewReader(data)
	if media.IsInlineImage(mt) {
		// An image declaring gigapixels would take down the agent's browser that shows it
		// inline; refusing it would lose what the player sent (a photo of a document), so it
		// is kept as a file to download.
		checked, imgErr := media.CheckImage(content, mt)
		content = checked
		if imgErr != nil {
			mt = "application/octet-stream"
			w.note(name, "attached as a file, not shown inline: "+imgErr.Error())
		}
	}
	if w.store == nil {
		w.note(name, "not kept, no attachment storage")
		return nil
	}
	att, err := w.store(w.ctx, content, name, mt)
	switch {
	case errors.Is(err, connectors.ErrTooLarge):
		w.note(name, "not kept, the file is over the size limit for attachments")
		return nil
	case errors.Is(err, connectors.ErrQuota):
		w.note(name, "not kept, the gateway's attachment storage is full")
		return nil
	case err != nil:
		return fmt.Errorf("parse: store attachment %q: %w", name, err)
	}
	// Set after storing: the store keeps content once, and two parts with the same bytes
	// under two Content-IDs are still two places in the HTML.
	att.ContentID = contentID(h, w.fallback)
	w.msg.Attachments = append(w.msg.Attachments, att)
	return nil
}

// contentID is the part's Content-ID, decoded and without angle brackets, which is how the
// mail's HTML names the part ("cid:" URLs); "" when there is none or it is no ID a mail
// system would write. Some clients write it bare, without brackets and without "@".
func contentID(h textproto.Header, fallback string) string {
	v := headerValue(h.Get("Content-Id"), fallback)
	if id := firstID(v); id != "" {
		return id
	}
	return cleanID(v)
}

// contentMediaType is the type a file is stored as. The content decides where it has a
// signature the media table knows, since that is how a browser will read it: a JPEG sent as
// application/octet-stream (as many clients do) is an image, and content that is not what
// a signature type claims is stored as an unknown file rather than shown.
func contentMediaType(declared string, data []byte) string {
	sniffed := media.Sniff(data[:min(len(data), 512)])
	if media.IsInlineImage(sniffed) || sniffed == "application/pdf" {
		return sniffed
	}
	if t, ok := media.Lookup(declared); ok && t.Sniffed != "" && t.Sniffed != sniffed {
		return "application/octet-stream"
	}
	return declared
}

// fileName is the name a file is stored under: the one the mail gives, made safe (no
// directories, hidden characters or quotes); else one made from what the file is (a
// forwarded mail's subject, winmail.dat). Images and PDFs, which pages show inline, get the
// extension of their content.
func fileName(name, mt string, data []byte, fallback string) string {
	if strings.TrimSpace(name) == "" {
		name = defaultName(mt, data, fallback)
	}
	if media.SafeInline(mt) {
		return media.FileName(name, mt)
	}
	// An empty media type keeps the extension as given: the system's MIME table, which
	// differs between hosts, must not rename a file.
	return media.FileName(name, "")
}

// defaultName names a file the mail left unnamed.
func defaultName(mt string, data []byte, fallback string) string {
	switch mt {
	case "message/rfc822", "message/global":
		if s := safeBase(nestedSubject(data, fallback)); s != "" {
			return s + ".eml"
		}
		return "message.eml"
	case "application/ms-tnef":
		return "winmail.dat"
	}
	ext := extensions[mt]
	if t, ok := media.Lookup(mt); ok && len(t.Exts) > 0 {
		ext = t.Exts[0]
	}
	if strings.HasPrefix(mt, "image/") {
		return "image" + ext
	}
	return "attachment" + ext
}

// displayName names a file in a note when its content could not be read.
func displayName(name, mt string) string {
	if strings.TrimSpace(name) != "" {
		return media.FileName(name, "")
	}
	return "a file (" + mt + ")"
}

// nestedSubject is the subject of a mail attached to this one.
func nestedSubject(data []byte, fallback string) string {
	h := nestedHeader(data)
	return headerValue(h.Get("Subject"), fallback)
}

// nestedHeader is the header of a mail attached to this one, as far as it can be read.
func nestedHeader(data []byte) textproto.Header {
	h, _ := textproto.ReadHeader(bufio.NewReader(io.LimitReader(bytes.NewReader(data), 256<<10)))
	return h
}

// safeBase turns a subject into a file name's base: characters that separate directories or
// that Windows refuses become "_", and it is cut to 80 characters.
func safeBase(s string) string {
	s = strings.Map(func(r rune) rune {
		if strings.ContainsRune(`/\:*?"<>|`, r) || media.Hidden(r) {
			return '_'
		}
		return r
	}, strings.Join(strings.Fields(s), " "))
	if r := []rune(s); len(r) > 80 {
		s = string(r[:80])
	}
	s = strings.TrimSpace(strings.TrimRight(s, ". "))
	if s == "" || path.Clean(s) == "." {
		return ""
	}
	return s
}
