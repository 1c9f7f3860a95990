package webchat

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/casino-support/gateway/connectors/settings"
)

// The chat page's own words (placeholder, button, status, notices) in the players'
// languages. The server picks the language when it renders the page, writes the static words
// into the HTML and hands the rest to chat.js as JSON in a data attribute: the page's CSP
// allows no inline script, and a player on a slow phone sees no English flash first.
//
// Error frames keep their English message (other clients and the logs read it); the page
// translates them by their code and shows the server's text only for a code it has no
// words for.

// fallbackLanguage has every key; every other language falls back to it key by key.
const fallbackLanguage = "en"

// maxAcceptLanguages bounds the work a hostile Accept-Language header can cause.
const maxAcceptLanguages = 16

// placeholderPattern finds the {name}s in a string.
var placeholderPattern = regexp.MustCompile(`\{[a-z_]+\}`)

// stringPlaceholders are the {name}s a key's text may hold: chat.js fills {limit} (it knows
// the limits from the welcome frame and formats them for the language), the server fills
// {types} (the names of the accepted file types) and {megapixels} when it builds the page.
func stringPlaceholders() map[string][]string {
	return map[string][]string{
		"too_long":        {"{limit}"},
		"file_too_large":  {"{limit}"},
		"file_type":       {"{types}"},
		"image_too_large": {"{megapixels}"},
		// chat.js fills {phone} with the number the player asked to be called on.
		"callback_requested": {"{phone}"},
	}
}

// stringKeys returns every key the page knows, sorted.
func stringKeys() []string {
	return slices.Sorted(maps.Keys(builtinStrings()[fallbackLanguage]))
}

// checkStrings validates the strings setting: language tags as keys, known string keys
// below them, no empty text, and no placeholder the page would leave unfilled.
func checkStrings(p *settings.Problems, key string, overrides map[string]map[string]string) {
	known := builtinStrings()[fallbackLanguage]
	allowed := stringPlaceholders()
	seen := map[string]string{} // lower-cased → as written
	for _, lang := range slices.Sorted(maps.Keys(overrides)) {
		langKey := settings.Key(key, lang)
		if lang == "" || !validLanguage(lang) {
			p.Add(langKey, "want a language tag such as en or pt-BR as key")
			continue
		}
		// Tags ignore case, so two spellings would be one language with two texts per key.
		if other, dup := seen[strings.ToLower(lang)]; dup {
			p.Addf(langKey, "the same language as %s; merge the two", other)
			continue
		}
		seen[strings.ToLower(lang)] = lang
		for _, k := range slices.Sorted(maps.Keys(overrides[lang])) {
			textKey := settings.Key(langKey, k)
			text := overrides[lang][k]
			if _, ok := known[k]; !ok {
				p.Addf(textKey, "unknown string key; want one of %s", strings.Join(stringKeys(), ", "))
				continue
			}
			if strings.TrimSpace(text) == "" {
				p.Add(textKey, "must not be empty (leave the key out to keep the built-in text)")
				continue
			}
			for _, ph := range placeholderPattern.FindAllString(text, -1) {
				if !slices.Contains(allowed[k], ph) {
					want := "none"
					if len(allowed[k]) > 0 {
						want = strings.Join(allowed[k], ", ")
					}
					p.Addf(textKey, "unknown placeholder %s; this text may use %s", ph, want)
				}
			}
		}
	}
}

// translations are the page's words in every language it offers, each complete: a key a
// language lacks is taken from its base language ("pt" for "pt-BR"), then from "en".
type translations struct {
	byTag map[string]pageLanguage // lower-cased tag → language
}

// pageLanguage is one language's words as the page gets them.
type pageLanguage struct {
	Tag  string            // as configured or built in, e.g. "pt-PT"
	Text map[string]string // every key
	JSON string            // Text for chat.js
}

// newTranslations merges the operator's overrides into the built-in words. fill replaces
// the placeholders only the server can fill ({types}) in every text.
func newTranslations(overrides map[string]map[string]string, fill map[string]string) (*translations, error) {
	builtin := builtinStrings()
	tags := map[string]string{} // lower-cased → as written, the built-in spelling winning
	for _, m := range []map[string]map[string]string{overrides, builtin} {
		for tag := range m {
			tags[strings.ToLower(tag)] = tag
		}
	}
	// lookup finds tag's own maps whatever their case ("pt-br" configured, "pt-BR" asked).
	lookup := func(m map[string]map[string]string, tag string) map[string]string {
		for k, v := range m {
			if strings.EqualFold(k, tag) {
				return v
			}
		}
		return nil
	}
	t := &translations{byTag: make(map[string]pageLanguage, len(tags))}
	for lower, tag := range tags {
		base, _, _ := strings.Cut(tag, "-")
		// Most specific first; at each level the operator's text beats the built-in one.
		var layers []map[string]string
		for _, level := range slices.Compact([]string{tag, base, fallbackLanguage}) {
			layers = append(layers, lookup(overrides, level), lookup(builtin, level))
		}
		text := map[string]string{}
		for key := range builtin[fallbackLanguage] {
			for _, layer := range layers {
				if s, ok := layer[key]; ok {
					text[key] = s
					break
				}
			}
			for ph, v := range fill {
				text[key] = strings.ReplaceAll(text[key], ph, v)
			}
		}
		js, err := json.Marshal(text)
		if err != nil {
			return nil, fmt.Errorf("strings of %s: %w", tag, err)
		}
		t.byTag[lower] = pageLanguage{Tag: tag, Text: text, JSON: string(js)}
	}
	return t, nil
}

// choose picks the page's language: the page's own (the lang query parameter, which the
// widget fills from data-lang), then the browser's languages in the order of its
// Accept-Language header (what navigator.languages holds), each by exact tag and then by
// its base language; English when none is offered.
func (t *translations) choose(pageLang, acceptLanguage string) pageLanguage {
	var wanted []string
	if pageLang != "" && validLanguage(pageLang) {
		wanted = append(wanted, pageLang)
	}
	wanted = append(wanted, acceptLanguages(acceptLanguage)...)
	for _, tag := range wanted {
		if l, ok := t.match(tag); ok {
			return l
		}
	}
	return t.byTag[fallbackLanguage]
}

// match finds tag itself, then its base language ("de" for "de-AT"), then another region of
// it ("pt-BR" for "pt", when only that is offered, as an operator may configure).
func (t *translations) match(tag string) (pageLanguage, bool) {
	tag = strings.ToLower(tag)
	base, _, _ := strings.Cut(tag, "-")
	if l, ok := t.byTag[tag]; ok {
		return l, true
	}
	if l, ok := t.byTag[base]; ok {
		return l, true
	}
	for _, other := range slices.Sorted(maps.Keys(t.byTag)) {
		if strings.HasPrefix(other, base+"-") {
			return t.byTag[other], true
		}
	}
	return pageLanguage{}, false
}

// acceptLanguages returns the language tags of an Accept-Language header, most wanted
// first; "*", malformed entries and q=0 are left out.
func acceptLanguages(header string) []string {
	type entry struct {
		tag string
		q   float64
	}
	var list []entry
	for i, part := range strings.Split(header, ",") {
		if i == maxAcceptLanguages {
			break
		}
		tag, params, _ := strings.Cut(part, ";")
		tag = strings.TrimSpace(tag)
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				continue
			}
			q = f
		}
		if q <= 0 || tag == "" || !validLanguage(tag) {
			continue
		}
		list = append(list, entry{tag, q})
	}
	slices.SortStableFunc(list, func(a, b entry) int { return cmp.Compare(b.q, a.q) })
	tags := make([]string, len(list))
	for i, e := range list {
		tags[i] = e.tag
	}
	return tags
}
