package language_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/router/language"
)

var ten = []string{"en", "ro", "ru", "sv", "de", "es", "pt", "it", "fr", "tr"}

func newDetector(t testing.TB, opts language.Options) *language.Detector {
	t.Helper()
	d, err := language.New(ten, opts)
	require.NoError(t, err)
	return d
}

func TestDetectSentencesInTheTenLanguages(t *testing.T) {
	d := newDetector(t, language.Options{})
	for _, tc := range []struct{ want, text string }{
		{"en", "When will my withdrawal arrive? It has been three days."},
		{"en", "my account is blocked, please help"},
		{"ro", "Când ajung banii retrași? Au trecut trei zile."},
		{"ro", "Contul meu este blocat, vă rog ajutați-mă"},
		{"ru", "Когда придёт мой вывод? Прошло уже три дня."},
		{"ru", "Мой аккаунт заблокирован, помогите"},
		{"sv", "När kommer mitt uttag? Det har gått tre dagar."},
		{"sv", "Mitt konto är spärrat, hjälp mig"},
		{"de", "Wann kommt meine Auszahlung? Es sind schon drei Tage."},
		{"de", "Ich habe mein Passwort vergessen"},
		{"es", "¿Cuándo llegará mi retiro? Ya han pasado tres días."},
		{"es", "Mi cuenta está bloqueada, por favor ayúdenme"},
		{"pt", "Quando chega o meu saque? Já se passaram três dias."},
		{"pt", "Minha conta está bloqueada, por favor me ajudem"},
		{"it", "Quando arriva il mio prelievo? Sono passati tre giorni."},
		{"it", "Il mio conto è bloccato, aiutatemi per favore"},
		{"fr", "Quand mon retrait arrivera-t-il ? Cela fait trois jours."},
		{"fr", "Mon compte est bloqué, aidez-moi s'il vous plaît"},
		{"tr", "Para çekme işlemim ne zaman gelecek? Üç gün oldu."},
		{"tr", "Hesabım bloke edildi, lütfen yardım edin"},
	} {
		t.Run(tc.want+"/"+tc.text, func(t *testing.T) {
			require.Equal(t, tc.want, d.Detect(tc.text))
			require.Equal(t, tc.want, d.Choose(tc.text, "en"), "the words win over the hint")
		})
	}
}

// Players mix the casino's English words (bonus, cashback, KYC) and digits into their own
// language; the sentence's language must win.
func TestDetectMixedTexts(t *testing.T) {
	d := newDetector(t, language.Options{})
	for _, tc := range []struct{ want, text string }{
		{"ro", "Salut, nu am primit bonusul de cashback pentru depunerea de 200 RON"},
		{"ru", "Привет, мой withdrawal висит уже три дня, где мои деньги?"},
		{"de", "Hallo, mein Bonus wurde nicht gutgeschrieben, Free Spins fehlen auch"},
		{"es", "Hola, hice el KYC ayer y todavía no puedo retirar mis ganancias"},
		{"pt", "Oi, fiz o depósito via Pix e o saldo não apareceu na minha conta"},
		{"it", "Ciao, ho fatto il deposito con PayPal ma il saldo non è cambiato"},
		{"fr", "Bonjour, mon bonus de bienvenue n'apparaît pas sur mon compte"},
		{"sv", "Hej, jag har gjort en insättning med Trustly men saldot är noll"},
		{"tr", "Merhaba, Papara ile yatırım yaptım ama bakiyem hâlâ sıfır görünüyor"},
		{"en", "Hi, my deposit via Skrill went through but the balance is still zero"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			require.Equal(t, tc.want, d.Detect(tc.text), tc.text)
		})
	}
}

// Short texts say too little: the channel's hint decides, reduced to a configured code; with
// no usable hint the result is empty, and the conversation keeps its earlier language.
func TestChooseShortTextsFallBackToTheHint(t *testing.T) {
	d := newDetector(t, language.Options{})
	for _, tc := range []struct{ name, text, hint, want string }{
		{"romanian words, romanian hint", "Am uitat parola", "ro", "ro"},
		{"english words, english hint", "I forgot my password", "en-GB", "en"},
		{"swedish, region tag", "Hej!", "sv-SE", "sv"},
		{"turkish, underscore tag", "Şifremi unuttum", "tr_TR", "tr"},
		{"portuguese, upper case", "oi", "PT-BR", "pt"},
		{"russian", "Привет", "ru", "ru"},
		{"emoji only", "👍👍👍", "es", "es"},
		{"hint not configured", "ok", "ja", ""},
		{"no hint", "merci", "", ""},
		{"digits do not count as letters", "1234567890 1234567890 12", "it", "it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Empty(t, d.Detect(tc.text))
			require.Equal(t, tc.want, d.Choose(tc.text, tc.hint))
		})
	}
}

func TestMinLettersIsConfigurable(t *testing.T) {
	d := newDetector(t, language.Options{MinLetters: 5})
	require.Equal(t, "ru", d.Detect("Я забыл пароль"))
	require.Empty(t, d.Detect("Я"))
}

// Only configured languages come out: Dutch text is never called Dutch.
func TestDetectOnlyConfiguredLanguages(t *testing.T) {
	d, err := language.New([]string{"en", "de"}, language.Options{})
	require.NoError(t, err)
	got := d.Detect("Ik ben mijn wachtwoord vergeten en kan niet inloggen")
	require.Contains(t, []string{"en", "de", ""}, got)
}

func TestNewRefuses(t *testing.T) {
	for name, tc := range map[string]struct {
		langs []string
		opts  language.Options
	}{
		"one language":     {[]string{"en"}, language.Options{}},
		"unknown code":     {[]string{"en", "xx"}, language.Options{}},
		"a name, no code":  {[]string{"en", "german"}, language.Options{}},
		"listed twice":     {[]string{"en", "EN"}, language.Options{}},
		"unknown accuracy": {[]string{"en", "de"}, language.Options{Accuracy: "best"}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := language.New(tc.langs, tc.opts)
			require.Error(t, err)
		})
	}
}

func BenchmarkDetect(b *testing.B) {
	d := newDetector(b, language.Options{})
	texts := []string{
		"Când ajung banii retrași? Au trecut trei zile.",
		"Когда придёт мой вывод? Прошло уже три дня.",
		"Hi, my deposit via Skrill went through but the balance is still zero",
		"Para çekme işlemim ne zaman gelecek? Üç gün oldu.",
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		d.Choose(texts[i%len(texts)], "en")
	}
}

func TestWarmKeepsTheAnswers(t *testing.T) {
	for _, n := range []int{2, 3, len(ten)} { // an odd count pairs the last language with the first
		d, err := language.New(ten[:n], language.Options{})
		require.NoError(t, err)
		d.Warm()
		require.Equal(t, "en", d.Detect("When will my withdrawal arrive? It has been three days."), "%d languages", n)
		require.Equal(t, "ro", d.Detect("Când ajung banii retrași? Au trecut trei zile."), "%d languages", n)
	}
}

// BenchmarkWarm is the models' load that New no longer does.
func BenchmarkWarm(b *testing.B) {
	for b.Loop() {
		newDetector(b, language.Options{}).Warm()
	}
}

func BenchmarkNew(b *testing.B) {
	for b.Loop() {
		newDetector(b, language.Options{})
	}
}
