package parse

import (
	"io"
	"mime"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
)

// fallbackCharset is what unlabelled 8-bit text is read as when it is not UTF-8: the Windows
// code page that mail clients of Western Europe write and that HTML5 reads ISO-8859-1 as.
const fallbackCharset = "windows-1252"

// decodeCharset converts data in the charset labelled (a MIME charset name, any case) to
// valid UTF-8. It never fails: an unknown label, or none, is read as UTF-8 when the bytes are
// valid UTF-8 and as fallback (then windows-1252) otherwise, since a wrong guess shows some
// odd letters and a refusal shows nothing.
func decodeCharset(data []byte, label, fallback string) string {
	label = cleanLabel(label)
	if unlabelled(label) {
		// Clients label 8-bit text "us-ascii" or nothing at all; UTF-8 is the likelier truth
		// when it is valid, and the mail's own charset the next.
		if utf8.Valid(data) {
			return string(data)
		}
		label = cleanLabel(fallback)
		if unlabelled(label) {
			label = fallbackCharset
		}
	}
	if label == "iso-8859-1" || label == "latin1" || label == "iso_8859-1" || label == "l1" {
		// Mail labelled Latin-1 is Windows-1252 in practice (curly quotes at 0x93), as HTML5
		// assumes.
		label = fallbackCharset
	}
	if s, ok := convert(data, label); ok {
		return s
	}
	if utf8.Valid(data) {
		return string(data)
	}
	if fb := cleanLabel(fallback); !unlabelled(fb) && fb != label {
		if s, ok := convert(data, fb); ok {
			return s
		}
	}
	if s, ok := convert(data, fallbackCharset); ok {
		return s
	}
	return strings.ToValidUTF8(string(data), "\uFFFD") // unreachable: the table has windows-1252
}

func cleanLabel(label string) string {
	return strings.ToLower(strings.Trim(strings.TrimSpace(label), `"'`))
}

// unlabelled reports whether a charset label says nothing about 8-bit bytes.
func unlabelled(label string) bool {
	switch label {
	case "", "utf-8", "utf8", "us-ascii", "ascii", "unknown-8bit", "x-unknown", "8bit":
		return true
	}
	return false
}

// convert decodes data through go-message's charset table.
func convert(data []byte, label string) (string, bool) {
	r, err := charset.Reader(label, strings.NewReader(string(data)))
	if err != nil {
		return "", false
	}
	out, err := io.ReadAll(r)
	if err != nil {
		return "", false
	}
	return strings.ToValidUTF8(string(out), "\uFFFD"), true
}

// decodeWords decodes RFC 2047 encoded words ("=?koi8-r?B?...?=") in s, which must already be
// valid UTF-8. A word in an unknown charset keeps its decoded bytes, read like unlabelled
// text, rather than costing the whole field.
func decodeWords(s, fallback string) string {
	if !strings.Contains(s, "=?") {
		return s
	}
	d := mime.WordDecoder{CharsetReader: func(label string, r io.Reader) (io.Reader, error) {
		data, err := io.ReadAll(r)
		if err != nil {
			return nil, err
		}
		return strings.NewReader(decodeCharset(data, label, fallback)), nil
	}}
	out, err := d.DecodeHeader(s)
	if err != nil {
		return s
	}
	return strings.ToValidUTF8(out, "\uFFFD")
}

// headerValue is a header field's text: raw 8-bit bytes read in the fallback charset (RFC 6532
// allows UTF-8; older clients send their own code page), then its encoded words decoded.
func headerValue(v, fallback string) string {
	if !utf8.ValidString(v) {
		v = decodeCharset([]byte(v), fallback, "")
	}
	return decodeWords(v, fallback)
}
