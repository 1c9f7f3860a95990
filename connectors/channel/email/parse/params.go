package parse

import (
	"strconv"
	"strings"
)

// Bounds on what one header's parameters may cost: mail in the wild has a handful, and a
// file name split into RFC 2231 sections rarely needs more than ten.
const (
	maxParams   = 64
	maxSections = 128
)

// parseValue reads a Content-Type or Content-Disposition value: the value before the first
// ";" (lower case, trimmed) and its parameters (names in lower case), with RFC 2231 sections
// and charsets and RFC 2047 encoded words (how Outlook and Gmail name files) decoded.
//
// mime.ParseMediaType is not used: it refuses a whole header for one unquoted space in a file
// name or a repeated parameter, and drops RFC 2231 names in any charset but UTF-8 and ASCII,
// all of which real mail has. This reads what a mail client would show.
func parseValue(v, fallback string) (string, map[string]string) {
	head, rest, _ := strings.Cut(v, ";")
	raw := splitParams(rest)
	params := make(map[string]string, len(raw))
	type sections struct {
		parts    map[int]string
		extended map[int]bool
	}
	split := map[string]*sections{}
	for _, kv := range raw {
		name, section, extended := paramName(kv.key)
		if section < 0 {
			if extended {
				params[name] = decode2231(kv.value, fallback)
				continue
			}
			if _, ok := params[name]; !ok {
				params[name] = headerValue(kv.value, fallback)
			}
			continue
		}
		s := split[name]
		if s == nil {
			s = &sections{parts: map[int]string{}, extended: map[int]bool{}}
			split[name] = s
		}
		if _, dup := s.parts[section]; !dup {
			s.parts[section] = kv.value
			s.extended[section] = extended
		}
	}
	for name, s := range split {
		// The sections make one value: extended ones percent-encoded in the charset the first
		// one names. They take precedence over a plain parameter of the same name, which
		// senders add as an ASCII stand-in for old readers.
		// Percent escapes are undone over each run of extended sections together: a sender
		// that split an escape across two sections still names the file.
		var b, run strings.Builder
		cs := ""
		anyExtended := false
		for i := 0; i < maxSections; i++ {
			part, ok := s.parts[i]
			if !ok {
				break
			}
			if !s.extended[i] {
				b.WriteString(percentDecode(run.String()))
				run.Reset()
				b.WriteString(part)
				continue
			}
			anyExtended = true
			if i == 0 {
				cs, part = splitCharset(part)
			}
			run.WriteString(part)
		}
		b.WriteString(percentDecode(run.String()))
		value := b.String()
		if anyExtended {
			value = decodeCharset([]byte(value), cs, fallback)
		}
		params[name] = headerValue(value, fallback)
	}
	return strings.ToLower(strings.TrimSpace(head)), params
}

type param struct{ key, value string }

// splitParams splits `; a=1; b="x; y"` into its parameters: values quoted or not, quotes
// with backslash escapes, an unquoted value running to the next ";".
func splitParams(s string) []param {
	var out []param
	for len(s) > 0 && len(out) < maxParams {
		s = strings.TrimLeft(s, " \t\r\n;")
		if s == "" {
			break
		}
		eq := strings.IndexAny(s, "=;")
		if eq < 0 || s[eq] == ';' {
			// A parameter without a value says nothing; skip it.
			if eq < 0 {
				break
			}
			s = s[eq:]
			continue
		}
		key := strings.ToLower(strings.TrimSpace(s[:eq]))
		s = strings.TrimLeft(s[eq+1:], " \t\r\n")
		var value string
		if strings.HasPrefix(s, `"`) {
			value, s = unquote(s[1:])
			if i := strings.IndexByte(s, ';'); i >= 0 {
				s = s[i:]
			} else {
				s = ""
			}
		} else {
			i := strings.IndexByte(s, ';')
			if i < 0 {
				i = len(s)
			}
			value, s = strings.TrimSpace(s[:i]), s[i:]
		}
		if key != "" {
			out = append(out, param{key, value})
		}
	}
	return out
}

// unquote reads a quoted string up to its closing quote (or the end) and returns its content
// unescaped and what follows the quote.
func unquote(s string) (string, string) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			}
		case '"':
			return b.String(), s[i+1:]
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), ""
}

// paramName splits an RFC 2231 parameter name: "name*1*" is section 1, extended; "name*" is
// no section, extended; "name" is neither. section is -1 for no section.
func paramName(key string) (name string, section int, extended bool) {
	if strings.HasSuffix(key, "*") {
		key, extended = key[:len(key)-1], true
	}
	name, num, found := strings.Cut(key, "*")
	if !found {
		return name, -1, extended
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 || n >= maxSections || (len(num) > 1 && num[0] == '0') {
		// Not a section number: keep the whole key, so it cannot pose as another parameter.
		return key, -1, extended
	}
	return name, n, extended
}

// decode2231 decodes an extended value charset'language'percent-encoded.
func decode2231(v, fallback string) string {
	cs, rest := splitCharset(v)
	return decodeCharset([]byte(percentDecode(rest)), cs, fallback)
}

// splitCharset splits "utf-8'en'rest" into the charset and rest; a value without the two
// quotes is all rest.
func splitCharset(v string) (string, string) {
	first := strings.IndexByte(v, '\'')
	if first < 0 {
		return "", v
	}
	second := strings.IndexByte(v[first+1:], '\'')
	if second < 0 {
		return "", v
	}
	return v[:first], v[first+1+second+1:]
}

// percentDecode undoes %XX escapes, keeping a malformed one as it is.
func percentDecode(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(n))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
