package parse

import (
	"encoding/base64"
	"io"
	"mime/quotedprintable"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message/textproto"
	htmlcharset "golang.org/x/net/html/charset"
)

// The transfer encoding is undone here rather than by go-message's Entity, which also converts
// every text/* part to UTF-8 by its own strict reading of the charset parameter: attachments
// must stay byte for byte as sent (their SHA-256 is their identity in the blob store), and
// the charset must come from the lenient parameters (see parseValue).

// transferDecoder undoes a part's Content-Transfer-Encoding. An unknown encoding passes the
// bytes through: shown as they are, they still say more than nothing.
func transferDecoder(h textproto.Header, r io.Reader) io.Reader {
	switch strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding"))) {
	case "quoted-printable":
		return quotedprintable.NewReader(r)
	case "base64":
		return base64.NewDecoder(base64.StdEncoding, base64Filter{r})
	}
	return r
}

// base64Filter drops what is not base64 from the input: line ends (which the decoder skips
// anyway), and the spaces, tabs and stray characters some mailers leave in.
type base64Filter struct{ r io.Reader }

func (f base64Filter) Read(p []byte) (int, error) {
	for {
		n, err := f.r.Read(p)
		j := 0
		for _, c := range p[:n] {
			if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=' {
				p[j] = c
				j++
			}
		}
		if j > 0 || err != nil {
			return j, err
		}
	}
}

// text reads an inline text part as UTF-8 with "\n" line ends. A part damaged in transit
// keeps what could be read of it.
func (w *walker) text(h textproto.Header, mt string, params map[string]string, r io.Reader) string {
	data, _ := io.ReadAll(transferDecoder(h, r))
	label := params["charset"]
	if label == "" && mt == "text/html" && !utf8.Valid(data) {
		// HTML may name its charset in a <meta> instead.
		_, label, _ = htmlcharset.DetermineEncoding(data, "text/html")
	}
	s := newlines(decodeCharset(data, label, w.fallback))
	if mt == "text/plain" && strings.EqualFold(params["format"], "flowed") {
		s = unflow(s, strings.EqualFold(params["delsp"], "yes"))
	}
	return s
}

// newlines turns CR LF and lone CRs into "\n".
func newlines(s string) string {
	if !strings.Contains(s, "\r") {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
}
