// Package language owns the choice of a player's language for each message: detected from
// the text with lingua-go, restricted to the languages the operator configured, else the
// channel's hint (Telegram's language_code, the browser's language, an e-mail's
// Content-Language) when it names one of them, else nothing, so the conversation keeps the
// language it had.
package language

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/pemistahl/lingua-go"
)

// DefaultMinLetters is how many letters a text needs before its words decide the language:
// below it statistics guess ("Am uitat parola" reads as Italian) and the hint is surer.
const DefaultMinLetters = 20

// Accuracy modes of the detector.
const (
	// AccuracyLow uses trigram models only: about 10 MB of memory for ten languages, ready in
	// well under a second; right on sentences, shakier on a few words (which the hint covers).
	AccuracyLow = "low"
	// AccuracyHigh uses every n-gram model: slightly better on short texts, but about 300 MB
	// of memory for ten languages and a second or more to load.
	AccuracyHigh = "high"
)

// Options tune a Detector; the zero value is low accuracy and DefaultMinLetters.
type Options struct {
	MinLetters int
	Accuracy   string
}

// Detector picks a message's language among the configured ones. It is safe for concurrent
// use.
type Detector struct {
	detector   lingua.LanguageDetector
	langs      []lingua.Language
	high       bool
	codes      map[lingua.Language]string // lingua's language → configured code
	configured map[string]bool
	minLetters int
}

// New returns a detector of languages, ISO 639-1 codes ("en", "ro"). It loads no model yet:
// loading ten languages' takes the better part of a second and would hold up the gateway's
// start (issue 16: start-up under 1 s). Warm loads them; a detection before that loads what
// it needs itself.
func New(languages []string, opts Options) (*Detector, error) {
	if err := Check(languages); err != nil {
		return nil, fmt.Errorf("language: %w", err)
	}
	if opts.Accuracy != "" && opts.Accuracy != AccuracyLow && opts.Accuracy != AccuracyHigh {
		return nil, fmt.Errorf("language: accuracy %q is neither %s nor %s", opts.Accuracy, AccuracyLow, AccuracyHigh)
	}
	d := &Detector{codes: map[lingua.Language]string{}, configured: map[string]bool{}, minLetters: opts.MinLetters}
	if d.minLetters <= 0 {
		d.minLetters = DefaultMinLetters
	}
	var langs []lingua.Language
	for _, code := range languages {
		code = strings.ToLower(code)
		l := lingua.GetLanguageFromIsoCode639_1(lingua.GetIsoCode639_1FromValue(code))
		langs = append(langs, l)
		d.codes[l] = code
		d.configured[code] = true
	}
	d.langs, d.high = langs, opts.Accuracy == AccuracyHigh
	d.detector = d.builder(langs...).Build()
	return d, nil
}

func (d *Detector) builder(langs ...lingua.Language) lingua.LanguageDetectorBuilder {
	b := lingua.NewLanguageDetectorBuilder().FromLanguages(langs...)
	if !d.high {
		b = b.WithLowAccuracyMode()
	}
	return b
}

// Warm loads the configured languages' models, two at a time; the gateway runs it in the
// background once it started, so the first players' messages do not wait for them. lingua-go
// keeps loaded models in one cache that every detector shares, so a detector preloading two
// of the languages loads them for d. Two at a time, not all at once: each load decompresses
// and decodes a model, and ten at once would add their buffers to the peak resident set
// (38 against 28 MB measured for the ten languages, low accuracy).
func (d *Detector) Warm() {
	for i := 0; i < len(d.langs); i += 2 {
		// A builder wants two languages; with an odd count, the last goes with the first again,
		// whose models are loaded by then.
		other := d.langs[0]
		if i+1 < len(d.langs) {
			other = d.langs[i+1]
		}
		d.builder(d.langs[i], other).WithPreloadedLanguageModels().Build()
	}
}

// Check reports the first of languages lingua-go does not know, or fewer than two of them
// (with one there is nothing to detect).
func Check(languages []string) error {
	if len(languages) < 2 {
		return fmt.Errorf("want at least two languages to tell apart, got %d", len(languages))
	}
	seen := map[string]bool{}
	for _, code := range languages {
		code = strings.ToLower(code)
		if lingua.GetIsoCode639_1FromValue(code) == lingua.UnknownIsoCode639_1 || lingua.GetLanguageFromIsoCode639_1(lingua.GetIsoCode639_1FromValue(code)) == lingua.Unknown {
			return fmt.Errorf("%q is not an ISO 639-1 code of a language the detector knows", code)
		}
		if seen[code] {
			return fmt.Errorf("%q is listed twice", code)
		}
		seen[code] = true
	}
	return nil
}

// Detect returns the configured language text is written in, or "" when text has fewer
// letters than the minimum or no configured language stands out.
func (d *Detector) Detect(text string) string {
	if !hasLetters(text, d.minLetters) {
		return ""
	}
	l, ok := d.detector.DetectLanguageOf(text)
	if !ok {
		return ""
	}
	return d.codes[l]
}

// Choose returns a message's language: the one its text is written in, else the channel's
// hint reduced to a configured code ("pt-BR" → "pt"), else "" (the conversation keeps the
// language it had). Codes are always configured ones, so a conversation does not flip
// between "pt" and "pt-BR" as long and short messages alternate.
func (d *Detector) Choose(text, hint string) string {
	if l := d.Detect(text); l != "" {
		return l
	}
	base, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(hint)), "-")
	base, _, _ = strings.Cut(base, "_")
	if d.configured[base] {
		return base
	}
	return ""
}

// hasLetters reports whether text has at least min letters: digits, emoji and punctuation
// say nothing of a language.
func hasLetters(text string, min int) bool {
	n := 0
	for _, r := range text {
		if unicode.IsLetter(r) {
			if n++; n >= min {
				return true
			}
		}
	}
	return n >= min
}
