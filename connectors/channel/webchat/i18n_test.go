package webchat

import (
	"encoding/json"
	"html"
	"io"
	"maps"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors/settings"
)

// The languages issue 11 asks for; more may be built in, none of these may go missing.
var requiredLanguages = []string{"en", "ro", "ru", "sv", "de", "es", "pt", "it", "fr", "tr"}

// TestBuiltinStringsComplete: every built-in language has every key, none empty, and keeps
// the placeholders of the English text, so no player sees "{limit}" or loses the number.
func TestBuiltinStringsComplete(t *testing.T) {
	builtin := builtinStrings()
	en := builtin[fallbackLanguage]
	for _, lang := range requiredLanguages {
		require.Contains(t, builtin, lang)
	}
	for lang, words := range builtin {
		t.Run(lang, func(t *testing.T) {
			require.ElementsMatch(t, slices.Collect(maps.Keys(en)), slices.Collect(maps.Keys(words)), "the keys of en")
			for key, text := range words {
				require.NotEmpty(t, strings.TrimSpace(text), key)
				require.ElementsMatch(t, placeholderPattern.FindAllString(en[key], -1), placeholderPattern.FindAllString(text, -1),
					"%s keeps the placeholders of en", key)
				require.Equal(t, strings.TrimSpace(text), text, "%s: no stray spaces", key)
			}
		})
	}
	// Whatever a built-in text holds is what an operator may write too.
	p := settings.NewProblems("")
	checkStrings(p, "strings", builtin)
	require.Empty(t, p.List())
}

// TestPageUsesKnownKeys: every key chat.js and page.html ask for exists, so a typo shows
// here and not as a bare key on a player's screen.
func TestPageUsesKnownKeys(t *testing.T) {
	en := builtinStrings()[fallbackLanguage]
	for _, f := range []struct {
		file    string
		pattern *regexp.Regexp
	}{
		{"static/public/chat.js", regexp.MustCompile(`\bt\("([a-z_]+)"[,)]`)},
		{"static/public/chat.js", regexp.MustCompile(`\bt\([a-z]+ \? "([a-z_]+)" : "([a-z_]+)"`)},
		{"static/page.html", regexp.MustCompile(`\{\{\.T\.([a-z_]+)\}\}`)},
	} {
		src, err := static.ReadFile(f.file)
		require.NoError(t, err)
		found := f.pattern.FindAllStringSubmatch(string(src), -1)
		require.NotEmpty(t, found, "%s: the pattern finds the keys", f.file)
		for _, m := range found {
			for _, key := range m[1:] {
				require.Contains(t, en, key, "%s asks for %q", f.file, key)
			}
		}
	}
	// Keys chat.js builds: t("status_" + kind) and t(code) for codes of the same name.
	for _, key := range []string{"status_connecting", "status_online", "status_reconnecting", "status_offline",
		codeRateLimited, codeRejected, codeEmpty, codeInvalidPlayer, codeTooManyClients, codeImageTooLarge, codeStorageFull} {
		require.Contains(t, en, key)
	}
}

// TestDocumentedKeys: docs/webchat.md lists every key with its English text, which is what
// operators override from.
func TestDocumentedKeys(t *testing.T) {
	doc, err := os.ReadFile("../../../docs/webchat.md")
	require.NoError(t, err)
	for key, text := range builtinStrings()[fallbackLanguage] {
		require.Contains(t, string(doc), "| `"+key+"` | "+text+" |", "docs/webchat.md lists %s", key)
	}
}

func TestChooseLanguage(t *testing.T) {
	tests := []struct {
		name      string
		overrides map[string]map[string]string
		pageLang  string
		accept    string
		want      string
	}{
		{"nothing asked", nil, "", "", "en"},
		{"the page's language", nil, "de", "ro,en;q=0.5", "de"},
		{"the page's language by its base", nil, "de-AT", "", "de"},
		{"tags ignore case", nil, "RO", "", "ro"},
		{"a region built in", nil, "pt-pt", "", "pt-PT"},
		{"another region gets the base language", nil, "pt-BR", "", "pt"},
		{"the page's language not offered: the browser's", nil, "pl", "sv-FI,sv;q=0.9", "sv"},
		{"the browser's first offered language", nil, "", "nl-NL,nl;q=0.9,tr;q=0.8,en;q=0.7", "tr"},
		{"the browser's order is its q values", nil, "", "en;q=0.2,it;q=0.9,fr", "fr"},
		{"q=0 means not wanted", nil, "", "ru;q=0,es;q=0.1", "es"},
		{"a malformed page language is ignored", nil, "../de", "fr", "fr"},
		{"malformed header entries are skipped", nil, "", "*, x;q=abc, 12, fr-CA;q=0.5", "fr"},
		{"nothing offered: English", nil, "ja", "ja-JP,zh;q=0.8", "en"},
		{"an operator's own language", map[string]map[string]string{"pl": {"send": "Wyślij"}}, "pl-PL", "", "pl"},
		{"a language offered only by region", map[string]map[string]string{"nl-BE": {"send": "Verstuur"}}, "nl", "", "nl-BE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			words, err := newTranslations(tt.overrides, nil)
			require.NoError(t, err)
			require.Equal(t, tt.want, words.choose(tt.pageLang, tt.accept).Tag)
		})
	}
}

func TestAcceptLanguagesBounded(t *testing.T) {
	header := strings.Repeat("xx,", 1000) + "de"
	require.Len(t, acceptLanguages(header), maxAcceptLanguages, "a hostile header costs at most so many entries")
	require.Equal(t, []string{"de-CH", "de", "en"}, acceptLanguages(" de-CH , de;q=0.9 ,en;q=0.8"))
}

// TestOverrides: the operator's words beat the built-in ones of the same language, but not a
// more specific built-in language's; what an added language lacks comes from English.
func TestOverrides(t *testing.T) {
	words, err := newTranslations(map[string]map[string]string{
		"de": {"send": "Abschicken"},
		"en": {"send": "Go", "typing": "Lucky Casino is typing…"},
		"pt": {"typing": "A Lucky está digitando…"},
		"pl": {"send": "Wyślij", "file_type": "Możesz wysłać: {types}."},
	}, map[string]string{"{types}": "PNG, PDF"})
	require.NoError(t, err)
	tests := []struct {
		lang, key, want string
	}{
		{"de", "send", "Abschicken"},
		{"de", "placeholder", "Nachricht eingeben…"},
		{"de-CH", "send", "Abschicken"},
		{"en", "send", "Go"},
		{"fr", "send", "Envoyer"},
		{"fr", "typing", "Le support écrit…"},
		{"ro", "typing", "Asistența scrie…"},
		{"pt-BR", "typing", "A Lucky está digitando…"},
		{"pt-PT", "typing", "O apoio está a escrever…"},
		{"pt-PT", "send", "Enviar"},
		{"pl", "send", "Wyślij"},
		{"pl", "typing", "Lucky Casino is typing…"},
		{"pl", "placeholder", "Type your message…"},
		{"pl", "file_type", "Możesz wysłać: PNG, PDF."},
		{"sv", "file_type", "Den här filtypen tas inte emot. Du kan skicka: PNG, PDF."},
		{"sv", "too_long", "Meddelandet är för långt: högst {limit} tecken. Dela upp det."},
	}
	for _, tt := range tests {
		t.Run(tt.lang+"/"+tt.key, func(t *testing.T) {
			l := words.choose(tt.lang, "")
			require.Equal(t, tt.want, l.Text[tt.key])
			var fromJSON map[string]string
			require.NoError(t, json.Unmarshal([]byte(l.JSON), &fromJSON))
			require.Equal(t, l.Text, fromJSON, "chat.js gets the same words")
		})
	}
}

func TestCheckStrings(t *testing.T) {
	tests := []struct {
		name      string
		overrides map[string]map[string]string
		want      []string
	}{
		{"fine", map[string]map[string]string{"de": {"send": "Abschicken"}, "pt-BR": {"too_long": "Máximo {limit}."}}, nil},
		{"none", nil, nil},
		{"bad language", map[string]map[string]string{"german": {"send": "Senden"}, "": {"send": "x"}},
			[]string{`channels[1].strings[""]: want a language tag such as en or pt-BR as key`,
				"channels[1].strings.german: want a language tag such as en or pt-BR as key"}},
		{"unknown key", map[string]map[string]string{"de": {"sned": "Senden"}},
			[]string{"channels[1].strings.de.sned: unknown string key; want one of " + strings.Join(stringKeys(), ", ")}},
		{"empty text", map[string]map[string]string{"ro": {"send": " "}},
			[]string{"channels[1].strings.ro.send: must not be empty (leave the key out to keep the built-in text)"}},
		{"unknown placeholder", map[string]map[string]string{"fr": {"too_long": "Max {limt}.", "send": "{types}"}},
			[]string{"channels[1].strings.fr.send: unknown placeholder {types}; this text may use none",
				"channels[1].strings.fr.too_long: unknown placeholder {limt}; this text may use {limit}"}},
		{"one language twice", map[string]map[string]string{"pt-BR": {"send": "a"}, "pt-br": {"send": "b"}},
			[]string{"channels[1].strings.pt-br: the same language as pt-BR; merge the two"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Strings = tt.overrides
			p := settings.NewProblems("channels[1]")
			cfg.Validate(p)
			var got []string
			for _, pr := range p.List() {
				if strings.HasPrefix(pr.Key, "channels[1].strings") {
					got = append(got, pr.Key+": "+pr.Message)
				}
			}
			require.Equal(t, tt.want, got)
		})
	}
}

// TestPlayerPageInLanguages: the page comes in the chosen language, its lang attribute says
// which, and chat.js gets the same words; an override shows on the page.
func TestPlayerPageInLanguages(t *testing.T) {
	h := start(t, func(cfg *Config, _ *Deps) {
		cfg.Strings = map[string]map[string]string{"de": {"send": "Abschicken"}}
		cfg.UploadTypes = []string{"image/png", "application/pdf"}
	}, true)
	tests := []struct {
		name, query, accept string
		lang, send, holder  string
	}{
		{"default", "", "", "en", "Send", "Type your message…"},
		{"widget's data-lang", "?embed=1&lang=de", "ro", "de", "Abschicken", "Nachricht eingeben…"},
		{"browser's languages", "", "nl,ro-RO;q=0.9,en;q=0.5", "ro", "Trimite", "Scrieți mesajul…"},
		{"Russian", "?lang=ru", "", "ru", "Отправить", "Введите сообщение…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, h.srv.URL+"/chat"+tt.query, nil)
			require.NoError(t, err)
			if tt.accept != "" {
				req.Header.Set("Accept-Language", tt.accept)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.Equal(t, "Accept-Language", resp.Header.Get("Vary"))
			body := readAll(t, resp)
			require.Contains(t, body, `<html lang="`+tt.lang+`">`)
			require.Contains(t, body, `<button id="send" type="submit">`+tt.send+`</button>`)
			require.Contains(t, body, `placeholder="`+tt.holder+`"`)
			require.NotContains(t, body, "<script>", "the words come as data, not as an inline script")

			m := regexp.MustCompile(`data-strings="([^"]*)"`).FindStringSubmatch(body)
			require.NotNil(t, m)
			var words map[string]string
			require.NoError(t, json.Unmarshal([]byte(html.UnescapeString(m[1])), &words))
			require.Equal(t, tt.send, words["send"])
			require.Len(t, words, len(stringKeys()))
			require.Contains(t, words["file_type"], ": PNG, PDF.", "the server names the accepted types")
			require.Contains(t, words["image_too_large"], "50", "and the image limit")
			require.NotContains(t, body, "{megapixels}")
		})
	}
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

func TestTypeNames(t *testing.T) {
	tests := []struct {
		types []string
		want  string
	}{
		{DefaultUploadTypes, "PNG, JPG, GIF, WEBP, PDF"},
		{[]string{"application/pdf"}, "PDF"},
		{[]string{"application/gzip", "application/x-gzip", "image/heic"}, "GZ, HEIC"},
		{nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			require.Equal(t, tt.want, typeNames(tt.types))
		})
	}
}
