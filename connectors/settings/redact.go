package settings

import "strings"

// RedactURL returns raw without what may be a credential: the query and the fragment (an
// operator's webhook URL may carry ?api_key=...) become "?[redacted]", and user information
// before the host ("key@", "user:password@") becomes "[redacted]@". Scheme, host and path stay,
// so a message still says where a request went. It works on text that does not parse as a URL
// too, since that is when a URL gets quoted in an error.
func RedactURL(raw string) string {
	s, _, hadFragment := strings.Cut(raw, "#")
	s, _, hadQuery := strings.Cut(s, "?")
	if hadQuery || hadFragment {
		s += "?[redacted]"
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return s
	}
	authority, path := rest, ""
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		authority, path = rest[:i], rest[i:]
	}
	if i := strings.LastIndexByte(authority, '@'); i >= 0 {
		authority = "[redacted]@" + authority[i+1:]
	}
	return scheme + "://" + authority + path
}
