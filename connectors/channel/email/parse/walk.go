package parse

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/emersion/go-message/textproto"

	"github.com/casino-support/gateway/normalize"
)

// Bounds on the MIME tree. Real mail nests four or five deep (mixed, alternative, related, a
// forwarded mail) and has tens of parts; a hostile one must not cost a stack or an hour.
const (
	maxDepth = 20
	maxParts = 500
)

// walker reads one mail's MIME tree: it collects the inline text, stores the files as it
// meets them, and keeps what a delivery report says.
type walker struct {
	ctx      context.Context
	store    func(ctx context.Context, r io.Reader, name, mediaType string) (normalize.Attachment, error)
	msg      *Message
	fallback string // the charset unlabelled 8-bit text is read in
	parts    int
	stopped  bool // the part limit was reached: nothing more is read
	deep     bool // a part nested too deep was left out (noted once)
	report   report
}

// body is the inline text a part contributes: its text/plain and text/html parts in order.
type body struct {
	plain, html []string
}

// walk reads the part with header h and raw (still transfer-encoded) content r. parent is
// the media type of the enclosing multipart, "" for the mail itself.
func (w *walker) walk(h textproto.Header, r io.Reader, depth int, parent string) (body, error) {
	if err := w.ctx.Err(); err != nil {
		return body{}, fmt.Errorf("parse: %w", err)
	}
	w.parts++
	if w.parts > maxParts {
		if !w.stopped {
			w.stopped = true
			w.note("the rest of the mail", fmt.Sprintf("not read, the mail has more than %d parts", maxParts))
		}
		return body{}, nil
	}
	mt, params := contentType(h, parent, w.fallback)
	disp, dparams := parseValue(h.Get("Content-Disposition"), w.fallback)
	name := dparams["filename"]
	if name == "" {
		name = params["name"]
	}
	switch {
	case strings.HasPrefix(mt, "multipart/"):
		if depth >= maxDepth {
			if !w.deep {
				w.deep = true
				w.note("parts nested deeper than "+fmt.Sprint(maxDepth)+" levels", "not read")
			}
			return body{}, nil
		}
		return w.multipart(mt, params, r, depth)
	case parent == "multipart/report" && isReportPart(mt):
		w.reportPart(h, mt, r)
		return body{}, nil
	case signature(mt):
		// A signature proves nothing to an agent, who cannot check it, and is no file the
		// player meant to send.
		return body{}, nil
	case (mt == "text/plain" || mt == "text/html") && disp != "attachment" && name == "":
		text := w.text(h, mt, params, r)
		if mt == "text/html" {
			return body{html: []string{text}}, nil
		}
		return body{plain: []string{text}}, nil
	}
	return body{}, w.attach(h, mt, name, r)
}

// multipart walks the parts of a multipart and combines their text as its subtype says.
func (w *walker) multipart(mt string, params map[string]string, r io.Reader, depth int) (body, error) {
	mr := textproto.NewMultipartReader(r, params["boundary"])
	var kids []body
	for !w.stopped {
		p, err := mr.NextPart()
		if err != nil {
			// io.EOF ends a multipart; anything else is a mail cut short or a broken part
			// header, and what was read so far is kept.
			break
		}
		b, err := w.walk(p.Header, p, depth+1, mt)
		if err != nil {
			return body{}, err
		}
		kids = append(kids, b)
	}
	if mt == "multipart/report" && w.report.kind == "" {
		w.report.kind = strings.ToLower(params["report-type"])
		if w.report.kind == "" {
			w.report.kind = "unknown"
		}
	}
	if mt != "multipart/alternative" {
		var out body
		for _, k := range kids {
			out.plain = append(out.plain, k.plain...)
			out.html = append(out.html, k.html...)
		}
		return out, nil
	}
	// Alternatives say the same thing: the first plain text one (players' words as they typed
	// them) and the last HTML one (the richest, as RFC 2046 orders them).
	var out body
	for _, k := range kids {
		if out.plain == nil && hasText(k.plain) {
			out.plain = k.plain
		}
		if len(k.html) > 0 {
			out.html = k.html
		}
	}
	return out, nil
}

func hasText(texts []string) bool {
	for _, t := range texts {
		if strings.TrimSpace(t) != "" {
			return true
		}
	}
	return false
}

// contentType is a part's media type and parameters. Without a Content-Type a part is
// text/plain, or message/rfc822 inside a multipart/digest (RFC 2046); an unreadable one is
// text/plain too (RFC 2045 section 5.2), unless it names a file.
func contentType(h textproto.Header, parent, fallback string) (string, map[string]string) {
	v := h.Get("Content-Type")
	if strings.TrimSpace(v) == "" {
		if parent == "multipart/digest" {
			return "message/rfc822", map[string]string{}
		}
		return "text/plain", map[string]string{}
	}
	mt, params := parseValue(v, fallback)
	if alias, ok := aliases[mt]; ok {
		mt = alias
	}
	if !validMediaType(mt) {
		if params["name"] != "" {
			return "application/octet-stream", params
		}
		return "text/plain", params
	}
	if strings.HasPrefix(mt, "multipart/") && params["boundary"] == "" {
		// A multipart without a boundary cannot be split: read as the text it most likely is.
		return "text/plain", params
	}
	return mt, params
}

// validMediaType reports whether mt is type/subtype of token characters.
func validMediaType(mt string) bool {
	typ, sub, ok := strings.Cut(mt, "/")
	return ok && token(typ) && token(sub)
}

func token(s string) bool {
	if s == "" || len(s) > 127 {
		return false
	}
	for _, c := range []byte(s) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?=`, c) >= 0 {
			return false
		}
	}
	return true
}

// signature reports whether mt is a detached signature (PGP/MIME, S/MIME).
func signature(mt string) bool {
	switch mt {
	case "application/pgp-signature", "application/pkcs7-signature", "application/x-pkcs7-signature":
		return true
	}
	return false
}

// note records that a file (or a piece of the mail) was not kept, or not as sent, and why.
func (w *walker) note(name, reason string) {
	w.msg.Skipped = append(w.msg.Skipped, name+": "+reason)
}
