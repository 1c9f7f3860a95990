package faqbot

import (
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

// exampleKnowledge is the knowledge file shipped as the example (config/faq.example.yaml).
func exampleKnowledge(t testing.TB) Knowledge {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	k, err := LoadKnowledge(filepath.Join(filepath.Dir(file), "..", "..", "config", "faq.example.yaml"))
	require.NoError(t, err)
	return k
}

// The threshold is measured here: players' phrasings that are not the file's variants must
// find their entry at or above it, questions the file does not answer must stay below it.
func TestMatcherPhrasings(t *testing.T) {
	k := exampleKnowledge(t)
	m := NewMatcher(k.Entries)
	tests := []struct {
		text  string
		entry string // "" when the bot must not answer
	}{
		{"Jag har glömt mitt lösenord", "password-reset"},
		{"hej, jag har glömt lösenordet till mitt konto", "password-reset"},
		{"Hi! I forgot my password, can you help me please?", "password-reset"},
		{"forgot password", "password-reset"},
		{"Am uitat parola de la cont", "password-reset"},
		{"Я забыл свой пароль", "password-reset"},
		{"Passwort vergessen, was tun?", "password-reset"},
		{"olvidé la contraseña", "password-reset"},
		{"esqueci a senha", "password-reset"},
		{"j'ai oublié le mot de passe", "password-reset"},
		{"şifremi unuttum yardım", "password-reset"},
		{"where is my withdrawal??", "withdrawal-status"},
		{"I requested a withdrawal yesterday, where is it", "withdrawal-status"},
		{"unde e retragerea mea de ieri", "withdrawal-status"},
		{"Где мой вывод средств?", "withdrawal-status"},
		{"wo bleibt meine Auszahlung", "withdrawal-status"},
		{"is my account verified?", "verification"},
		{"är mitt konto verifierat nu", "verification"},
		{"cómo verifico la cuenta", "verification"},
		{"what are the wagering requirements", "bonus-terms"},
		{"condiții bonus", "bonus-terms"},
		{"my deposit is not showing", "deposit-status"},
		{"onde está o meu depósito", "deposit-status"},
		// Questions the file does not answer.
		{"what games do you have", ""},
		{"can I change my username", ""},
		{"hello", ""},
		{"Vilka spel har ni?", ""},
		{"wie alt muss ich sein", ""},
		{"I want to change my e-mail address", ""},
		{"quiero cambiar mi dirección", ""},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			best, ok := m.Best(tt.text)
			got := ""
			if ok && best.Score >= DefaultThreshold {
				got = k.Entries[best.Entry].ID
			}
			t.Logf("score %.2f (%s, %s)", best.Score, func() string {
				if best.Entry >= 0 && ok {
					return k.Entries[best.Entry].ID
				}
				return "-"
			}(), best.Lang)
			require.Equal(t, tt.entry, got, "score %.2f", best.Score)
		})
	}
}
