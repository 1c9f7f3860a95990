package settings

import (
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// The checks that several connectors' Validate share, and the loader too. Each reports to p
// under key and says whether the value passed.

var (
	// namePattern keeps names usable as a URL path segment (/hooks/{name}), a metric label
	// and a file name without escaping.
	namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
	// languagePattern is a loose BCP 47 shape: "de", "pt-BR", "zh-Hant-TW".
	languagePattern = regexp.MustCompile(`^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$`)
	// pagePathPattern is one or more segments without empty ones or a trailing slash,
	// because the connectors serve the path and the path + "/...".
	pagePathPattern = regexp.MustCompile(`^(/[a-z0-9][a-z0-9_-]*)+$`)
)

// ReservedPaths are served by the gateway itself, with everything below them; no page may
// claim them.
var ReservedPaths = []string{"/api", "/hooks", "/metrics", "/healthz", "/readyz"}

// CheckName requires a name of lower-case letters, digits, '-' and '_' (an instance's or an
// agent's).
func CheckName(p *Problems, key, name string) bool {
	switch {
	case name == "":
		p.Add(key, "required")
	case !namePattern.MatchString(name):
		p.Addf(key, "want lower-case letters, digits, '-' and '_', starting with a letter or digit, at most 63 characters; got %s", Quote(name))
	default:
		return true
	}
	return false
}

// LanguageTag reports whether tag looks like a BCP 47 language tag ("de", "pt-BR").
func LanguageTag(tag string) bool { return languagePattern.MatchString(tag) }

// CheckLanguageKeys requires every key of m (greetings by language) to be a language tag.
// Problems come in sorted order, so messages are stable.
func CheckLanguageKeys(p *Problems, key string, m map[string]string) bool {
	ok := true
	for _, lang := range slices.Sorted(maps.Keys(m)) {
		if !LanguageTag(lang) {
			p.Add(Key(key, lang), "want a language tag such as en or pt-BR as key")
			ok = false
		}
	}
	return ok
}

// CheckHTTPURL requires an absolute http or https URL with a host, because these URLs are
// used as they are to make requests or links. An empty one is fine unless required.
func CheckHTTPURL(p *Problems, key, raw string, required bool) bool {
	if raw == "" {
		if required {
			p.Add(key, "required")
			return false
		}
		return true
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.Addf(key, "want an absolute http or https URL, got %s", Quote(RedactURL(raw))) // problems are printed and logged
		return false
	}
	return true
}

// CheckPagePath requires a page path that the gateway does not serve itself.
func CheckPagePath(p *Problems, key, v string) bool {
	if !ValidPagePath(v) {
		p.Addf(key, "want a URL path such as /chat, not one the gateway uses itself, got %s", Quote(v))
		return false
	}
	return true
}

// ValidPagePath reports whether v is a page path a connector may serve.
func ValidPagePath(v string) bool {
	if !pagePathPattern.MatchString(v) {
		return false
	}
	for _, r := range ReservedPaths {
		if PathWithin(v, r) {
			return false
		}
	}
	return true
}

// PathWithin reports whether the page path v is base or below it.
func PathWithin(v, base string) bool {
	return v == base || strings.HasPrefix(v, base+"/")
}
