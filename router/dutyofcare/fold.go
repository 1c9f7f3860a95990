package dutyofcare

import (
	"strings"
	"unicode"
)

// folded maps the accented letters of the ten built-in languages to the plain letter players
// often type instead (a Romanian phone keyboard without ș, a Swede writing "sjalv"), so a
// phrase matches with or without its diacritics. Letters that change the meaning within a
// language without being routinely dropped (none in these phrase lists) would not belong here.
var folded = map[rune]rune{
	'à': 'a', 'á': 'a', 'â': 'a', 'ã': 'a', 'ä': 'a', 'å': 'a', 'ă': 'a',
	'ç': 'c', 'è': 'e', 'é': 'e', 'ê': 'e', 'ë': 'e',
	'ì': 'i', 'í': 'i', 'î': 'i', 'ï': 'i', 'ı': 'i',
	'ñ': 'n', 'ò': 'o', 'ó': 'o', 'ô': 'o', 'õ': 'o', 'ö': 'o',
	'ù': 'u', 'ú': 'u', 'û': 'u', 'ü': 'u',
	'ș': 's', 'ş': 's', 'ț': 't', 'ţ': 't', 'ğ': 'g', 'ÿ': 'y', 'œ': 'o',
	'ё': 'е', 'й': 'и',
}

// apostrophes split words: French elisions ("l'auto-exclusion") must leave the word whole;
// English contractions ("can't") are matched both split and joined (see variants).
func isApostrophe(r rune) bool { return r == '\'' || r == '’' || r == '`' || r == 'ʼ' }

// Words returns the folded words of text as the matcher compares them: lower case,
// diacritics folded, split at anything not a letter or digit. Other matchers of players'
// words (the FAQ bot) fold alike, so a phrase matches the same way everywhere.
func Words(text string) []string { return words(text) }

// words returns the folded words of text: lower case, diacritics folded, split at anything
// that is not a letter or digit. It allocates one slice and one string per call.
func words(text string) []string {
	var b strings.Builder
	b.Grow(len(text))
	for _, r := range text {
		switch {
		case r == 'ß':
			b.WriteString("ss")
			continue
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			r = unicode.ToLower(r)
			if f, ok := folded[r]; ok {
				r = f
			}
		case unicode.Is(unicode.Mn, r):
			continue // a combining accent typed apart from its letter
		default:
			r = ' '
		}
		b.WriteRune(r)
	}
	return strings.Fields(b.String())
}
