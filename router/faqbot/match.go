package faqbot

import (
	"math"

	"github.com/casino-support/gateway/router/dutyofcare"
)

// The matcher compares a player's words with every question variant of the knowledge file
// and takes the entry of the best-scoring variant when the score reaches the threshold.
//
// Words are folded as duty of care folds them (case, diacritics), and cut to their first
// stemLen letters: "passwords", "password" and "password's" are one word, as are Swedish
// "lösenord" and "lösenordet", Russian "пароль" and "пароля", Turkish "şifre" and "şifremi",
// without a stemmer per language. Each word weighs by how rare it is among the entries
// (inverse document frequency, ln((N+1)/df)): "password" tells the entries apart, "my" and
// "I" do not. A word the knowledge file never uses weighs unknownWeight: greetings and
// politeness ("hi", "please") cost a little, not as much as a missing key word.
//
// The score is the weighted Dice coefficient of the two word sets, 2·W(common)/(W(msg)+
// W(variant)), between 0 and 1: a short variant fully inside a chatty message still scores
// well, and a variant whose key word is missing scores low however many small words match.
// The threshold (0.5 by default) is measured in match_test.go on a table of phrasings in
// several languages: the paraphrases score above it, the near misses below.

const (
	stemLen       = 5
	unknownWeight = 0.5
	// DefaultThreshold is the lowest score the bot answers at.
	DefaultThreshold = 0.5
)

// Matcher finds the knowledge entry a player's message asks about. It is safe for
// concurrent use once built.
type Matcher struct {
	variants []variant
	weight   map[string]float64
}

type variant struct {
	entry int
	lang  string
	stems []string
	w     float64
}

// Match is the best entry for a message.
type Match struct {
	Entry int     // index in Knowledge.Entries
	Lang  string  // the language of the variant that matched
	Score float64 // 0..1
}

// NewMatcher indexes the question variants of entries.
func NewMatcher(entries []Entry) *Matcher {
	m := &Matcher{weight: map[string]float64{}}
	df := map[string]int{}
	for i, e := range entries {
		seen := map[string]bool{}
		for _, lang := range sortedKeys(e.Questions) {
			for _, q := range e.Questions[lang] {
				st := stems(q)
				m.variants = append(m.variants, variant{entry: i, lang: lang, stems: st})
				for _, s := range st {
					if !seen[s] {
						seen[s] = true
						df[s]++
					}
				}
			}
		}
	}
	n := float64(len(entries))
	for s, d := range df {
		m.weight[s] = math.Log((n + 1) / float64(d))
	}
	for i := range m.variants {
		m.variants[i].w = m.sum(m.variants[i].stems)
	}
	return m
}

// Best returns the best-scoring entry for text; ok is false when the knowledge file has no
// words of it at all.
func (m *Matcher) Best(text string) (Match, bool) {
	msg := stems(text)
	if len(msg) == 0 || len(m.variants) == 0 {
		return Match{}, false
	}
	in := make(map[string]bool, len(msg))
	for _, s := range msg {
		in[s] = true
	}
	wMsg := m.sum(msg)
	best, found := Match{Entry: -1}, false
	for _, v := range m.variants {
		common := 0.0
		for _, s := range v.stems {
			if in[s] {
				common += m.w(s)
			}
		}
		if common == 0 {
			continue
		}
		score := 2 * common / (wMsg + v.w)
		if !found || score > best.Score {
			best, found = Match{Entry: v.entry, Lang: v.lang, Score: score}, true
		}
	}
	return best, found
}

func (m *Matcher) w(stem string) float64 {
	if w, ok := m.weight[stem]; ok {
		return w
	}
	return unknownWeight
}

func (m *Matcher) sum(st []string) float64 {
	total := 0.0
	for _, s := range st {
		total += m.w(s)
	}
	return total
}

// stems are the distinct cut words of text.
func stems(text string) []string {
	var out []string
	seen := map[string]bool{}
	for _, w := range words(text) {
		r := []rune(w)
		if len(r) > stemLen {
			w = string(r[:stemLen])
		}
		if !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out
}

// words folds text as duty of care does.
func words(text string) []string { return dutyofcare.Words(text) }
