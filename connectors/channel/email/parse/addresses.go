package parse

import (
	"io"
	"mime"
	"net/mail"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/casino-support/gateway/normalize"
)

// maxAddresses bounds an address list: a mail to a thousand recipients is not a player's.
const maxAddresses = 100

// addressList parses an address header leniently: net/mail's parser for the list, and where
// it refuses (a trailing comma, an unquoted "@" in a name, a bare address with a comment),
// each comma-separated piece alone, and where that fails too, whatever looks like an address.
func addressList(v, fallback string) []Address {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil
	}
	v = headerValueRaw(v, fallback)
	p := mail.AddressParser{WordDecoder: &mime.WordDecoder{CharsetReader: func(label string, r io.Reader) (io.Reader, error) {
		data, err := io.ReadAll(r)
		if err != nil {
			return nil, err
		}
		return strings.NewReader(decodeCharset(data, label, fallback)), nil
	}}}
	var out []Address
	if list, err := p.ParseList(v); err == nil {
		for _, a := range list {
			out = appendAddress(out, a.Name, a.Address)
		}
		return out
	}
	for _, piece := range splitAddresses(v) {
		if a, err := p.Parse(piece); err == nil {
			out = appendAddress(out, a.Name, a.Address)
			continue
		}
		if a, ok := looseAddress(piece, fallback); ok {
			out = appendAddress(out, a.Name, a.Email)
		}
	}
	return out
}

// headerValueRaw makes v valid UTF-8 without decoding encoded words, which the address parser
// does itself (decoding them first would let a decoded comma or quote change the list).
func headerValueRaw(v, fallback string) string {
	if !utf8.ValidString(v) {
		return decodeCharset([]byte(v), fallback, "")
	}
	return v
}

func appendAddress(out []Address, name, email string) []Address {
	if len(out) >= maxAddresses {
		return out
	}
	email = strings.TrimSpace(email)
	if email == "" {
		return out
	}
	if at := strings.LastIndexByte(email, '@'); at >= 0 {
		email = email[:at] + strings.ToLower(email[at:])
	}
	return append(out, Address{Name: normalize.CleanName(name), Email: normalize.CleanName(email)})
}

// splitAddresses splits a list at commas outside quotes, angle brackets and comments.
func splitAddresses(v string) []string {
	var out []string
	depthAngle, depthParen, inQuote, start := 0, 0, false, 0
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '\\' && inQuote:
			i++
		case c == '"':
			inQuote = !inQuote
		case inQuote:
		case c == '<':
			depthAngle++
		case c == '>' && depthAngle > 0:
			depthAngle--
		case c == '(':
			depthParen++
		case c == ')' && depthParen > 0:
			depthParen--
		case (c == ',' || c == ';') && depthAngle == 0 && depthParen == 0:
			out = append(out, v[start:i])
			start = i + 1
		}
		if len(out) >= maxAddresses {
			return out
		}
	}
	return append(out, v[start:])
}

var (
	angleAddr = regexp.MustCompile(`<\s*([^<>\s@]+@[^<>\s@]+)\s*>`)
	bareAddr  = regexp.MustCompile(`[^<>\s@",;()]+@[^<>\s@",;()]+`)
)

// looseAddress finds an address in a piece net/mail refused: the one in angle brackets with
// what precedes it as the name, else the first word with an "@".
func looseAddress(piece, fallback string) (Address, bool) {
	if m := angleAddr.FindStringSubmatchIndex(piece); m != nil {
		name := strings.Trim(strings.TrimSpace(piece[:m[0]]), `"' `)
		return Address{Name: decodeWords(name, fallback), Email: piece[m[2]:m[3]]}, true
	}
	if m := bareAddr.FindString(piece); m != "" {
		return Address{Email: m}, true
	}
	return Address{}, false
}
