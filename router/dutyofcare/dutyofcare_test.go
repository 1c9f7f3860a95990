package dutyofcare

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBuiltinEveryLanguage: in every built-in language, messages that signal harm are found
// (with or without their accents), and ordinary ones, some close to the signals, are not.
func TestBuiltinEveryLanguage(t *testing.T) {
	m, err := New(Builtin())
	require.NoError(t, err)
	tests := []struct {
		lang, text string
		want       string // category of the phrase found; "" is none
	}{
		{"en", "Please activate SELF-EXCLUSION on my account", SelfExclusion},
		{"en", "I can't stop playing, help", CannotStop},
		{"en", "I cant stop gambling", CannotStop},
		{"en", "I lost everything tonight", LostEverything},
		{"en", "I want to kill myself", SelfHarm},
		{"en", "I can't stop laughing at this bonus", ""},
		{"en", "Where is my withdrawal?", ""},
		{"ro", "Vreau autoexcluderea contului", SelfExclusion},
		{"ro", "nu ma pot opri din jocuri", CannotStop},
		{"ro", "Am pierdut toți banii", LostEverything},
		{"ro", "nu mă pot opri din râs", ""},
		{"ro", "Nu am primit retragerea de ieri", ""},
		{"ru", "Прошу оформить самоисключение на год", SelfExclusion},
		{"ru", "У меня игровая зависимость", Addiction},
		{"ru", "Я проиграл всё", LostEverything},
		{"ru", "я проиграл все", LostEverything},
		{"ru", "не могу перестать смеяться", ""},
		{"ru", "бонус в зависимости от суммы депозита", ""},
		{"sv", "Jag vill ha självavstängning", SelfExclusion},
		{"sv", "jag kan inte sluta spela", CannotStop},
		{"sv", "jag kan inte sluta skratta", ""},
		{"sv", "Var är mitt uttag?", ""},
		{"de", "Bitte Selbstsperre für mein Konto", SelfExclusion},
		{"de", "Ich bin spielsuechtig", ""}, // "ue" for "ü" is not folded: a known gap
		{"de", "Ich bin spielsüchtig", Addiction},
		{"de", "Ich kann nicht aufhoren zu spielen", CannotStop},
		{"de", "Ich kann nicht aufhören zu lachen", ""},
		{"es", "Quiero la autoexclusión", SelfExclusion},
		{"es", "No puedo dejar de jugar", CannotStop},
		{"es", "no puedo dejar de reír", ""},
		{"es", "¿Dónde está mi retiro?", ""},
		{"pt", "Sou viciado em apostas", Addiction},
		{"pt", "Não consigo parar de jogar", CannotStop},
		{"pt", "nao consigo parar de rir", ""},
		{"it", "Non riesco a smettere di giocare", CannotStop},
		{"it", "Ho perso tutto", LostEverything},
		{"it", "non riesco a smettere di ridere", ""},
		{"fr", "Je veux une auto-exclusion", SelfExclusion},
		{"fr", "je demande l'autoexclusion", SelfExclusion},
		{"fr", "J’ai tout perdu", LostEverything},
		{"fr", "je n'arrive pas à arrêter de jouer", CannotStop},
		{"fr", "je n'arrive pas à arrêter de rire", ""},
		{"tr", "Kumar bağımlısıyım", Addiction},
		{"tr", "OYNAMAYI BIRAKAMIYORUM", CannotStop},
		{"tr", "Her şeyimi kaybettim", LostEverything},
		{"tr", "gülmeyi bırakamıyorum", ""},
		{"tr", "Para çekme işlemim nerede?", ""},
	}
	for _, tt := range tests {
		t.Run(tt.lang+"/"+tt.text, func(t *testing.T) {
			hit, ok := m.Match(tt.text)
			if tt.want == "" {
				assert.False(t, ok, "found %+v", hit)
				return
			}
			require.True(t, ok)
			// A word shared by languages ("autoexclusion") is found as the first language's.
			assert.Contains(t, hit.PhraseID, "."+tt.want+".")
			assert.True(t, strings.HasPrefix(hit.PhraseID, hit.Language+"."), hit.PhraseID)
			assert.Equal(t, BuiltinVersion, hit.Version)
		})
	}
}

// TestBuiltinCoversEveryCategory: each language has phrases of every category.
func TestBuiltinCoversEveryCategory(t *testing.T) {
	for _, lang := range Languages {
		for _, cat := range []string{SelfExclusion, Addiction, CannotStop, LostEverything, SelfHarm} {
			assert.NotEmpty(t, builtin[lang][cat], "%s %s", lang, cat)
		}
	}
	assert.Len(t, builtin, len(Languages))
}

func TestWordBoundaries(t *testing.T) {
	m, err := New(List{Version: "t", Phrases: []Phrase{{ID: "a", Language: "en", Text: "addicted"}}})
	require.NoError(t, err)
	_, ok := m.Match("unaddictedness")
	assert.False(t, ok)
	_, ok = m.Match("(addicted!)")
	assert.True(t, ok)
}

func TestLoadOverride(t *testing.T) {
	path := filepath.Join(t.TempDir(), "phrases.yaml")
	require.NoError(t, os.WriteFile(path, []byte(`version: casino-7
remove: [en.addiction.1]
phrases:
  - {id: en.cannot-stop.1, language: en, text: "can't quit the slots"}
  - {id: nl.addiction.1, language: nl, text: "gokverslaafd*"}
`), 0o600))
	list, err := Load(path)
	require.NoError(t, err)
	assert.Equal(t, BuiltinVersion+"+casino-7", list.Version)
	m, err := New(list)
	require.NoError(t, err)
	for text, want := range map[string]string{
		"I am addicted":          "",
		"I cant quit the slots":  "en.cannot-stop.1",
		"ik ben gokverslaafde":   "nl.addiction.1",
		"I cannot stop gambling": "en.cannot-stop.4", // the other built-in phrases stay
		"kill myself":            "en.self-harm.1",
	} {
		hit, ok := m.Match(text)
		if want == "" {
			assert.False(t, ok, text)
			continue
		}
		if assert.True(t, ok, text) {
			assert.Equal(t, want, hit.PhraseID, text)
			assert.Equal(t, list.Version, hit.Version)
		}
	}

	for name, body := range map[string]string{
		"no version":  "phrases: []\n",
		"unknown key": "version: x\nphrase: []\n",
	} {
		p := filepath.Join(t.TempDir(), "bad.yaml")
		require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
		_, err := Load(p)
		assert.Error(t, err, name)
	}
	_, err = New(List{Version: "x", Phrases: []Phrase{{ID: "a", Language: "en", Text: "x"}, {ID: "a", Language: "en", Text: "y"}}})
	assert.ErrorContains(t, err, "used twice")
}

// BenchmarkMatch measures a typical message against the whole built-in list: one pass over
// its words, whatever the number of phrases.
func BenchmarkMatch(b *testing.B) {
	m, err := New(Builtin())
	require.NoError(b, err)
	text := "Hello, I made a deposit yesterday evening and the bonus was not credited, could you check my account please?"
	b.ReportAllocs()
	for b.Loop() {
		m.Match(text)
	}
}
