package email

import (
	"crypto/sha256"
	"encoding/binary"
	"regexp"
	"strings"

	"github.com/casino-support/gateway/normalize"
)

// A conversation's Address is its thread token: tokenLen symbols of Crockford's base32
// (digits and capitals without I, L, O and U, so nobody misreads or mistypes one), 50 bits.
// Short enough for a subject, and collision-checked against the store when a thread opens.
const (
	tokenLen      = 10
	tokenAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
)

// tokenSymbols matches a token as players may retype it: any case, O for 0, I and L for 1.
const tokenSymbols = `[0-9A-HJ-NP-TV-Za-hj-np-tv-zOoIiLl]{10}`

// newToken derives a thread token from seed (the opening mail's Message-ID, and a counter
// after a collision): the same mail read again opens the same thread, so a redelivery that
// the store drops as a duplicate cannot leave a second token behind in anything sent.
func newToken(instance normalize.InstanceName, seed string) normalize.Address {
	sum := sha256.Sum256([]byte(string(instance) + "\x00" + seed))
	n := binary.BigEndian.Uint64(sum[:8])
	b := make([]byte, tokenLen)
	for i := range b {
		b[i] = tokenAlphabet[n&31]
		n >>= 5
	}
	return normalize.Address(b)
}

// canonicalToken returns a token as the gateway writes it, or ok false when s is none.
func canonicalToken(s string) (normalize.Address, bool) {
	if len(s) != tokenLen {
		return "", false
	}
	b := []byte(strings.ToUpper(s))
	for i, c := range b {
		switch c {
		case 'O':
			c = '0'
		case 'I', 'L':
			c = '1'
		}
		if strings.IndexByte(tokenAlphabet, c) < 0 {
			return "", false
		}
		b[i] = c
	}
	return normalize.Address(b), true
}

// tokenFormat is subject_token: where a token stands in a subject.
type tokenFormat struct {
	prefix, suffix string
	re             *regexp.Regexp
}

// newTokenFormat compiles format, which Validate checked holds {token} once.
func newTokenFormat(format string) tokenFormat {
	prefix, suffix, _ := strings.Cut(format, tokenPlaceholder)
	re := regexp.MustCompile(`(?i)` + regexp.QuoteMeta(prefix) + `(` + tokenSymbols + `)` + regexp.QuoteMeta(suffix))
	return tokenFormat{prefix: prefix, suffix: suffix, re: re}
}

// find returns the first token in subject.
func (f tokenFormat) find(subject string) (normalize.Address, bool) {
	for _, m := range f.re.FindAllStringSubmatch(subject, 4) {
		if tok, ok := canonicalToken(m[1]); ok {
			return tok, true
		}
	}
	return "", false
}

// format returns token as it stands in a subject.
func (f tokenFormat) format(token normalize.Address) string {
	return f.prefix + string(token) + f.suffix
}

// subject returns the subject of a reply in the thread of token: the player's subject with
// "Re: " (once) and the token (once, at the end), so the player's client threads it and a
// new mail with that subject finds the conversation.
func (f tokenFormat) subject(playerSubject string, token normalize.Address) string {
	s := strings.TrimSpace(playerSubject)
	if tok, ok := f.find(s); ok && tok == token {
		s = strings.TrimSpace(f.re.ReplaceAllString(s, ""))
	}
	for {
		lower := strings.ToLower(s)
		if !strings.HasPrefix(lower, "re:") && !strings.HasPrefix(lower, "aw:") && !strings.HasPrefix(lower, "sv:") {
			break
		}
		s = strings.TrimSpace(s[3:])
	}
	if s == "" {
		return f.format(token)
	}
	return "Re: " + s + " " + f.format(token)
}

// plusToken returns the token of an address local+TOKEN@domain of from, as replies carry in
// Reply-To when plus_tokens is on.
func plusToken(addr, from string) (normalize.Address, bool) {
	fromLocal, fromDomain, ok := strings.Cut(from, "@")
	if !ok {
		return "", false
	}
	local, domain, ok := strings.Cut(addr, "@")
	if !ok || !strings.EqualFold(domain, fromDomain) {
		return "", false
	}
	base, tag, ok := strings.Cut(local, "+")
	if !ok || !strings.EqualFold(base, fromLocal) {
		return "", false
	}
	return canonicalToken(tag)
}

// plusAddress is from with token as its tag.
func plusAddress(from string, token normalize.Address) string {
	local, domain, _ := strings.Cut(from, "@")
	return local + "+" + string(token) + "@" + domain
}
