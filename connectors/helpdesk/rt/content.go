package rt

import (
	"bufio"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/casino-support/gateway/connectors"
)

// REST2 5.0.3 sends a file only whole: GET /attachment/{id} answers a JSON object with the
// file base64-encoded in its "Content" string (wrapped every 76 characters). Decoding that
// answer into a struct holds the answer, the string and then the file, all before the blob
// store sees a byte of it. contentOf instead hands the file on as the answer arrives, so a
// download holds a few small buffers whatever the file's size, and the blob store's limit
// stops it as soon as it is passed.

// errCutShort is an answer that ends before the content does: the connection broke, and
// asking again may bring all of it.
var errCutShort = fmt.Errorf("the answer ends early: %w", io.ErrUnexpectedEOF)

// contentOf reads body, a JSON object, up to its top-level "Content" key, and returns a reader
// of the decoded content, which reads on in body. Other keys and their order do not matter.
//
// A null Content is an empty file: RT answers null for a part without content. What asking
// again cannot mend is a permanent error: no Content, a Content neither a string nor null,
// anything in the string that cannot be base64, or any other flaw once the answer has begun
// as a JSON object. An answer that is not a JSON object at all is not, as in doAt: it may be
// a proxy's page while RT restarts. Nor is a failed read or an answer that ends early: the
// connection broke.
func contentOf(body io.Reader) (io.Reader, error) {
	s := &scanner{r: bufio.NewReader(body)}
	c, err := s.seekContent()
	if err != nil {
		return nil, err
	}
	switch c {
	case 'n':
		if err := s.literal("ull"); err != nil {
			return nil, err
		}
		return strings.NewReader(""), nil
	case '"':
		str := &stringReader{s: s}
		return &base64Reader{dec: base64.NewDecoder(base64.StdEncoding, str), str: str}, nil
	}
	return nil, malformed(`"Content" is neither a string nor null but starts with %q`, c)
}

// malformed is an error in an answer that is a JSON object: permanent, see contentOf.
func malformed(format string, args ...any) error {
	return connectors.Permanent(fmt.Errorf("attachment answer: "+format, args...))
}

// scanner reads as much of a JSON answer as it takes to find a key. It checks no more than
// it must to find it: RT writes JSON with an encoder, so what is malformed is garbage to be
// refused, not JSON to be told apart from it.
type scanner struct {
	r *bufio.Reader
}

// next returns the next byte of the answer.
func (s *scanner) next() (byte, error) {
	c, err := s.r.ReadByte()
	if err == io.EOF {
		err = errCutShort
	}
	return c, err
}

// token returns the next byte that is not JSON white space.
func (s *scanner) token() (byte, error) {
	for {
		c, err := s.next()
		if err != nil || (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
			return c, err
		}
	}
}

// expect reads the next token, which must be want.
func (s *scanner) expect(want byte) error {
	c, err := s.token()
	if err == nil && c != want {
		err = malformed("%q where %q belongs", c, want)
	}
	return err
}

// literal reads rest, the bytes of a literal after its first.
func (s *scanner) literal(rest string) error {
	for i := range len(rest) {
		c, err := s.next()
		if err != nil {
			return err
		}
		if c != rest[i] {
			return malformed("%q in a literal where %q belongs", c, rest[i])
		}
	}
	return nil
}

// seekContent reads the answer up to the value of its top-level "Content" key and returns
// the value's first byte.
func (s *scanner) seekContent() (byte, error) {
	c, err := s.token()
	if err != nil {
		return 0, err
	}
	if c != '{' {
		return 0, fmt.Errorf("the attachment answer is not a JSON object: it starts with %q", c)
	}
	if c, err = s.token(); err != nil {
		return 0, err
	}
	if c == '}' {
		return 0, malformed(`no "Content"`)
	}
	for {
		if c != '"' {
			return 0, malformed("%q where a key belongs", c)
		}
		found, err := s.isContentKey()
		if err != nil {
			return 0, err
		}
		if err := s.expect(':'); err != nil {
			return 0, err
		}
		if c, err = s.token(); err != nil || found {
			return c, err
		}
		if err := s.skipValue(c); err != nil {
			return 0, err
		}
		if c, err = s.token(); err != nil {
			return 0, err
		}
		switch c {
		case '}':
			return 0, malformed(`no "Content"`)
		case ',':
		default:
			return 0, malformed("%q where ',' or '}' belongs", c)
		}
		if c, err = s.token(); err != nil {
			return 0, err
		}
	}
}

// isContentKey reads a key, whose opening quote was read, and reports whether it is Content.
func (s *scanner) isContentKey() (bool, error) {
	const key = "Content"
	n, same := 0, true
	for {
		r, end, err := s.char()
		if err != nil {
			return false, err
		}
		if end {
			return same && n == len(key), nil
		}
		same = same && n < len(key) && r == rune(key[n])
		n++
	}
}

// skipValue reads the rest of the value that starts with c.
func (s *scanner) skipValue(c byte) error {
	switch c {
	case '"':
		return s.skipString()
	case '{', '[':
		return s.skipNested()
	case ',', ':', '}', ']':
		return malformed("%q where a value belongs", c)
	}
	return s.skipScalar()
}

// skipNested reads the rest of an object or array whose opening bracket was read. Brackets
// are only counted, not matched: see scanner.
func (s *scanner) skipNested() error {
	for depth := 1; depth > 0; {
		c, err := s.next()
		if err != nil {
			return err
		}
		switch c {
		case '"':
			if err := s.skipString(); err != nil {
				return err
			}
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		}
	}
	return nil
}

// skipString reads the rest of a string whose opening quote was read.
func (s *scanner) skipString() error {
	for {
		_, end, err := s.char()
		if err != nil || end {
			return err
		}
	}
}

// skipScalar reads the rest of a number, true, false or null, up to the byte after it.
func (s *scanner) skipScalar() error {
	for {
		c, err := s.next()
		if err != nil {
			return err
		}
		if strings.IndexByte(",}] \t\n\r", c) >= 0 {
			return s.r.UnreadByte()
		}
	}
}

// char reads the next character of a string whose opening quote was read, unescaping it, or
// reports the end of the string at its closing quote. A character past ASCII comes as some
// rune past ASCII rather than decoded: neither the key sought nor base64 has one.
func (s *scanner) char() (r rune, end bool, err error) {
	c, err := s.next()
	switch {
	case err != nil:
		return 0, false, err
	case c == '"':
		return 0, true, nil
	case c < 0x20:
		return 0, false, malformed("control character %q in a string", c)
	case c != '\\':
		return rune(c), false, nil
	}
	if c, err = s.next(); err != nil {
		return 0, false, err
	}
	switch c {
	case '"', '\\', '/':
		return rune(c), false, nil
	case 'b':
		return '\b', false, nil
	case 'f':
		return '\f', false, nil
	case 'n':
		return '\n', false, nil
	case 'r':
		return '\r', false, nil
	case 't':
		return '\t', false, nil
	case 'u':
		var hex [4]byte
		for i := range hex {
			if hex[i], err = s.next(); err != nil {
				return 0, false, err
			}
		}
		n, err := strconv.ParseUint(string(hex[:]), 16, 16)
		if err != nil {
			return 0, false, malformed(`escape \u%q in a string`, hex[:])
		}
		return rune(n), false, nil
	}
	return 0, false, malformed(`escape \%q in a string`, c)
}

// stringReader reads the Content string, unescaped, up to its closing quote.
type stringReader struct {
	s   *scanner
	end bool
	err error // the first error but io.EOF, for base64Reader to tell from the decoder's
}

func (t *stringReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) && !t.end && t.err == nil {
		r, end, err := t.s.char()
		switch {
		case err != nil:
			t.err = err
		case end:
			t.end = true
		case r >= utf8.RuneSelf:
			t.err = malformed("content is not base64: a character past ASCII")
		default:
			p[n] = byte(r)
			n++
		}
	}
	if t.err != nil {
		return n, t.err
	}
	if t.end {
		return n, io.EOF
	}
	return n, nil
}

// base64Reader decodes the Content string. The decoder skips the line breaks RT wraps it
// with.
type base64Reader struct {
	dec io.Reader
	str *stringReader
}

func (b *base64Reader) Read(p []byte) (int, error) {
	n, err := b.dec.Read(p)
	if err != nil && err != io.EOF && !errors.Is(err, b.str.err) {
		// The decoder's own complaint, about what RT sent.
		err = malformed("content is not base64: %w", err)
	}
	return n, err
}
