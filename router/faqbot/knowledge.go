// Package faqbot is the FAQ bot that answers a route's players before a human does
// (issue 17, docs/policy.md "The FAQ bot"): it matches the player's words against the
// question variants of a multilingual knowledge file, answers from the player directory
// where the question is about the player's own data (a withdrawal, the verification), and
// hands the conversation to the helpdesk when the player asks for a person, when it fails to
// answer twice in a row, on excluded topics (payment disputes, complaints, self-exclusion)
// and whenever duty of care flagged the conversation. What it resolved never becomes a
// ticket; what it hands off reaches the helpdesk whole, its own answers included.
package faqbot

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Knowledge is a knowledge file: the questions the bot answers and, optionally, words and
// texts that replace or add to the built-in ones.
type Knowledge struct {
	// Version names the file's content in logs.
	Version string  `yaml:"version"`
	Entries []Entry `yaml:"entries"`
	// Texts replace built-in texts, by language and key (see Text*).
	Texts map[string]map[string]string `yaml:"texts"`
	// HandoffWords, Thanks and Excluded add phrases, by language, to the built-in lists.
	// A phrase is words matched whole after folding case and diacritics; a word ending in
	// "*" matches any word it begins (router/dutyofcare's matching).
	HandoffWords map[string][]string `yaml:"handoff_words"`
	Thanks       map[string][]string `yaml:"thanks"`
	Excluded     map[string][]string `yaml:"excluded"`
}

// Entry is one question the bot answers, in several languages.
type Entry struct {
	ID string `yaml:"id"`
	// Questions are the ways players ask it, by language.
	Questions map[string][]string `yaml:"questions"`
	// Answers by language; the question's language is answered in, else the conversation's,
	// else English.
	Answers map[string]string `yaml:"answers"`
	// Data, when set, answers from the player directory: "withdrawals" (the player's pending
	// withdrawals) or "verification" (the KYC status). Answers are then what the bot says
	// when the directory does not know the player.
	Data string `yaml:"data"`
	// QuickReplies offered with the answer, by language; the bot adds its own two ("That
	// helped", "Talk to an agent") when none are given.
	QuickReplies map[string][]string `yaml:"quick_replies"`
}

// Data answers the bot knows.
const (
	DataWithdrawals  = "withdrawals"
	DataVerification = "verification"
)

// Languages the built-in words and texts cover.
var Languages = []string{"en", "ro", "ru", "sv", "de", "es", "pt", "it", "fr", "tr"}

// LoadKnowledge reads and checks the knowledge file at path. Unknown keys, an entry without
// ID or questions, an ID used twice, an unknown data answer and a question without an
// answer in some language (nor an English one) are errors naming the entry.
func LoadKnowledge(path string) (Knowledge, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Knowledge{}, fmt.Errorf("faqbot: %w", err)
	}
	var k Knowledge
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	dec.KnownFields(true)
	if err := dec.Decode(&k); err != nil {
		return Knowledge{}, fmt.Errorf("faqbot: %s: %w", path, err)
	}
	if err := k.check(); err != nil {
		return Knowledge{}, fmt.Errorf("faqbot: %s: %w", path, err)
	}
	return k, nil
}

func (k Knowledge) check() error {
	var errs []error
	if len(k.Entries) == 0 {
		errs = append(errs, errors.New("no entries"))
	}
	seen := map[string]bool{}
	for i, e := range k.Entries {
		name := fmt.Sprintf("entries[%d]", i)
		if e.ID != "" {
			name += " (" + e.ID + ")"
		}
		switch {
		case e.ID == "":
			errs = append(errs, fmt.Errorf("%s: id is required", name))
		case seen[e.ID]:
			errs = append(errs, fmt.Errorf("%s: id is used twice", name))
		}
		seen[e.ID] = true
		if len(e.Questions) == 0 {
			errs = append(errs, fmt.Errorf("%s: questions are required", name))
		}
		if e.Data != "" && e.Data != DataWithdrawals && e.Data != DataVerification {
			errs = append(errs, fmt.Errorf("%s: data %q is neither %s nor %s", name, e.Data, DataWithdrawals, DataVerification))
		}
		for _, lang := range sortedKeys(e.Questions) {
			if strings.TrimSpace(e.Answers[lang]) == "" && strings.TrimSpace(e.Answers["en"]) == "" {
				errs = append(errs, fmt.Errorf("%s: no answer in %s (nor in en)", name, lang))
			}
			for j, q := range e.Questions[lang] {
				if len(words(q)) == 0 {
					errs = append(errs, fmt.Errorf("%s: questions.%s[%d]: no words", name, lang, j))
				}
			}
		}
	}
	for lang, keys := range k.Texts {
		for key := range keys {
			if !slices.Contains(textKeys, key) {
				errs = append(errs, fmt.Errorf("texts.%s.%s: unknown text (known: %s)", lang, key, strings.Join(textKeys, ", ")))
			}
		}
	}
	return errors.Join(errs...)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
