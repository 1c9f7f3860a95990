// Package dutyofcare recognises players' messages that signal gambling harm or distress:
// self-exclusion requests, addiction, losing control, losing everything, self-harm. The
// router gives such conversations top priority, the responsible-gambling tag and an
// immediate escalation (docs/policy.md, "Duty of care").
//
// Phrases are sequences of words compared after folding case and diacritics, on word
// boundaries; a word ending in "*" matches any word it begins ("autoexclu*" matches
// "autoexclusión"), which covers inflection without a stemmer. Matching costs one pass over
// the message's words and a map look-up per word, whatever the number of phrases: no regular
// expression runs per message.
package dutyofcare

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Phrase is one signal in one language.
type Phrase struct {
	// ID names the phrase in logs and escalations ("ru.self-exclusion.1"); an override file
	// replaces the built-in phrase of the same ID.
	ID string `yaml:"id"`
	// Language is the ISO 639-1 code of the language the phrase is in.
	Language string `yaml:"language"`
	// Text is the words, "*" ending a word that may be followed by more letters.
	Text string `yaml:"text"`
}

// List is a versioned phrase list. Version goes with every escalation, so that a case can be
// traced to the list that flagged it.
type List struct {
	Version string   `yaml:"version"`
	Phrases []Phrase `yaml:"phrases"`
	// Remove lists IDs of built-in phrases an override file drops.
	Remove []string `yaml:"remove"`
}

// Hit is a message's match.
type Hit struct {
	PhraseID string
	Language string
	Version  string
}

// Matcher finds the first phrase of its list in a text. It is safe for concurrent use.
type Matcher struct {
	version string
	// first indexes the phrases by their first word: exact words in exact, and words ending
	// in "*" in prefix, by the prefix (looked up once per distinct prefix length).
	exact, prefix map[string][]compiled
	prefixLens    []int
	count         int
}

type compiled struct {
	phrase Phrase
	words  []word
}

type word struct {
	text   string
	prefix bool
}

// New compiles list. A phrase without ID, language or words, or an ID used twice, is an
// error.
func New(list List) (*Matcher, error) {
	m := &Matcher{version: list.Version, exact: map[string][]compiled{}, prefix: map[string][]compiled{}}
	seen := map[string]bool{}
	for _, p := range list.Phrases {
		if p.ID == "" || p.Language == "" {
			return nil, fmt.Errorf("dutyofcare: phrase %q: id and language are required", p.Text)
		}
		if seen[p.ID] {
			return nil, fmt.Errorf("dutyofcare: phrase id %q is used twice", p.ID)
		}
		seen[p.ID] = true
		vs := variants(p.Text)
		if len(vs) == 0 {
			return nil, fmt.Errorf("dutyofcare: phrase %s has no words", p.ID)
		}
		for _, ws := range vs {
			c := compiled{phrase: p, words: ws}
			if first := ws[0]; first.prefix {
				m.prefix[first.text] = append(m.prefix[first.text], c)
				if !slices.Contains(m.prefixLens, len(first.text)) {
					m.prefixLens = append(m.prefixLens, len(first.text))
				}
			} else {
				m.exact[first.text] = append(m.exact[first.text], c)
			}
		}
		m.count++
	}
	if list.Version == "" {
		return nil, fmt.Errorf("dutyofcare: the phrase list has no version")
	}
	return m, nil
}

// variants compiles text into word sequences: one, or two when it holds an apostrophe
// ("can't" as "can t" and as "cant", as players type either).
func variants(text string) [][]word {
	compile := func(t string) []word {
		var ws []word
		for _, f := range strings.Fields(strings.ReplaceAll(t, "*", "* ")) {
			// Fold the word as messages are folded; a "*" binds to the word before it.
			prefix := strings.HasSuffix(f, "*")
			for i, w := range words(f) {
				ws = append(ws, word{text: w, prefix: prefix && i == len(words(f))-1})
			}
		}
		return ws
	}
	var out [][]word
	if ws := compile(text); len(ws) > 0 {
		out = append(out, ws)
	}
	if strings.ContainsFunc(text, isApostrophe) {
		joined := strings.Map(func(r rune) rune {
			if isApostrophe(r) {
				return -1
			}
			return r
		}, text)
		if ws := compile(joined); len(ws) > 0 {
			out = append(out, ws)
		}
	}
	return out
}

// Version is the list's version.
func (m *Matcher) Version() string { return m.version }

// Len is the number of phrases.
func (m *Matcher) Len() int { return m.count }

// Match returns the first phrase found in text, scanning from its start.
func (m *Matcher) Match(text string) (Hit, bool) {
	if text == "" {
		return Hit{}, false
	}
	ws := words(text)
	for i, w := range ws {
		if c, ok := firstAt(m.exact[w], ws[i:]); ok {
			return Hit{PhraseID: c.phrase.ID, Language: c.phrase.Language, Version: m.version}, true
		}
		for _, n := range m.prefixLens {
			if len(w) < n {
				continue
			}
			if c, ok := firstAt(m.prefix[w[:n]], ws[i:]); ok {
				return Hit{PhraseID: c.phrase.ID, Language: c.phrase.Language, Version: m.version}, true
			}
		}
	}
	return Hit{}, false
}

// firstAt returns the first of cs whose words begin ws.
func firstAt(cs []compiled, ws []string) (compiled, bool) {
	for _, c := range cs {
		if len(c.words) > len(ws) {
			continue
		}
		ok := true
		for j, w := range c.words {
			if w.text != ws[j] && (!w.prefix || !strings.HasPrefix(ws[j], w.text)) {
				ok = false
				break
			}
		}
		if ok {
			return c, true
		}
	}
	return compiled{}, false
}

// Load returns the built-in list with the override file at path applied: its phrases are
// added, replacing built-in ones of the same ID, its remove list drops built-in ones, and its
// version is appended to the built-in one ("2026-12.1+casino-7"), so both are traced.
// An empty path returns the built-in list.
func Load(path string) (List, error) {
	list := Builtin()
	if path == "" {
		return list, nil
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return List{}, fmt.Errorf("dutyofcare: %w", err)
	}
	var over List
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	dec.KnownFields(true)
	if err := dec.Decode(&over); err != nil {
		return List{}, fmt.Errorf("dutyofcare: %s: %w", path, err)
	}
	if over.Version == "" {
		return List{}, fmt.Errorf("dutyofcare: %s: version is required", path)
	}
	drop := map[string]bool{}
	for _, id := range over.Remove {
		drop[id] = true
	}
	for _, p := range over.Phrases {
		drop[p.ID] = true
	}
	list.Phrases = slices.DeleteFunc(list.Phrases, func(p Phrase) bool { return drop[p.ID] })
	list.Phrases = append(list.Phrases, over.Phrases...)
	list.Version += "+" + over.Version
	return list, nil
}
