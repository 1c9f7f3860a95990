package faqbot

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/playerdir"
)

func newBot(t *testing.T) *Bot {
	t.Helper()
	b, err := New(Config{Name: "faq", Knowledge: exampleKnowledge(t)})
	require.NoError(t, err)
	return b
}

func turn(text, lang string) Turn {
	return Turn{Message: normalize.Message{Kind: normalize.KindText, Text: text}, Language: lang}
}

func TestHandoffWordsInEveryLanguage(t *testing.T) {
	b := newBot(t)
	tests := map[string][]string{
		"en": {"agent", "I want to talk to a human", "operator please"},
		"ro": {"vreau un operator", "Vreau să vorbesc cu un agent"},
		"ru": {"позовите оператора", "хочу поговорить с живым человеком"},
		"sv": {"Kan jag prata med en handläggare?", "jag vill prata med en riktig person"},
		"de": {"Ich möchte mit einem Mitarbeiter sprechen", "bitte einen echten Menschen"},
		"es": {"quiero hablar con un agente", "un operador por favor"},
		"pt": {"quero falar com um atendente", "falar com um agente"},
		"it": {"voglio parlare con un operatore", "passami un agente"},
		"fr": {"je veux parler à un conseiller", "un opérateur svp"},
		"tr": {"temsilciye bağlanmak istiyorum", "canlı destek lütfen"},
	}
	require.Len(t, tests, len(Languages))
	for lang, texts := range tests {
		for _, text := range texts {
			t.Run(lang+"/"+text, func(t *testing.T) {
				act := b.Decide(State{Status: StatusOpen}, turn(text, lang))
				require.Equal(t, ReasonRequested, act.Handoff)
				require.Equal(t, builtinTexts[lang][TextHandoff], act.Reply.Text, "told in the conversation's language")
			})
		}
		// The bot's own button asks for a person in every language.
		t.Run(lang+"/button", func(t *testing.T) {
			require.Equal(t, ReasonRequested, b.Decide(State{}, turn(builtinTexts[lang][TextAgent], lang)).Handoff)
		})
	}
}

func TestBotAnswersInTheQuestionsLanguage(t *testing.T) {
	b := newBot(t)
	tests := []struct{ text, lang, entry string }{
		{"Jag har glömt mitt lösenord", "sv", "password-reset"},
		{"Я забыл пароль", "ru", "password-reset"},
		{"Am uitat parola", "en", "password-reset"}, // the hint was wrong: the words are Romanian
		{"Olvidé mi contraseña", "es", "password-reset"},
		{"quais são os termos do bônus", "pt", "bonus-terms"},
	}
	k := exampleKnowledge(t)
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			act := b.Decide(State{Status: StatusOpen}, turn(tt.text, tt.lang))
			require.Empty(t, act.Handoff)
			require.Equal(t, tt.entry, act.Entry)
			require.True(t, act.Reply.Answer)
			var want string
			for _, e := range k.Entries {
				if e.ID == tt.entry {
					want = e.Answers[act.Reply.Lang]
				}
			}
			require.Equal(t, want, act.Reply.Text)
			require.Len(t, act.Reply.QuickReplies, 2, "That helped / Talk to an agent")
		})
	}
}

func TestTwoUnansweredTurnsHandOff(t *testing.T) {
	b := newBot(t)
	s := State{Status: StatusOpen}
	act := b.Decide(s, turn("Vilka spel har ni?", "sv"))
	require.Empty(t, act.Handoff)
	require.False(t, act.Reply.Answer)
	require.Equal(t, builtinTexts["sv"][TextFallback], act.Reply.Text)
	s.Unanswered = 1
	act = b.Decide(s, turn("och vilka slots?", "sv"))
	require.Equal(t, ReasonUnanswered, act.Handoff)
	// An answer in between starts the count again (the engine resets it).
	require.Equal(t, "password-reset", b.Decide(s, turn("Jag har glömt mitt lösenord", "sv")).Entry)
}

func TestExcludedTopicsAndDutyOfCareHandOff(t *testing.T) {
	b := newBot(t)
	tests := []struct{ text, lang, reason string }{
		{"I want to file a complaint", "en", ReasonComplaint},
		{"Vreau să fac o reclamație", "ro", ReasonComplaint},
		{"Я хочу подать жалобу", "ru", ReasonComplaint},
		{"I will do a chargeback on my card", "en", ReasonDispute},
		{"Ich verlange eine Rückbuchung", "de", ReasonDispute},
		{"je conteste ce paiement, c'est une fraude", "fr", ReasonDispute},
		{"Quiero autoexcluirme", "es", ReasonSelfExclusion},
		{"Хочу самоисключение", "ru", ReasonSelfExclusion},
		{"Jag vill ha spelpaus", "sv", ReasonSelfExclusion},
		// A password question with a complaint in it is still a complaint.
		{"I forgot my password and I want to complain", "en", ReasonComplaint},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			require.Equal(t, tt.reason, b.Decide(State{Status: StatusOpen}, turn(tt.text, tt.lang)).Handoff)
		})
	}
	flagged := turn("I forgot my password", "en")
	flagged.Flagged = true
	require.Equal(t, ReasonDutyOfCare, b.Decide(State{Status: StatusOpen}, flagged).Handoff)
	media := turn("", "en")
	media.Message.Kind = normalize.KindImage
	require.Equal(t, ReasonMedia, b.Decide(State{Status: StatusOpen}, media).Handoff)
}

func TestThanksResolvesAfterAnAnswer(t *testing.T) {
	b := newBot(t)
	answered := State{Status: StatusOpen, Answered: true}
	for _, tc := range []struct{ text, lang string }{{"thanks!", "en"}, {"Tack", "sv"}, {"спасибо", "ru"}, {"Det hjälpte", "sv"}, {"Mulțumesc frumos", "ro"}} {
		act := b.Decide(answered, turn(tc.text, tc.lang))
		require.True(t, act.Resolve, tc.text)
	}
	// Not before an answer, and not when the player says more.
	require.False(t, b.Decide(State{Status: StatusOpen}, turn("thanks", "en")).Resolve)
	require.False(t, b.Decide(answered, turn("thanks but it did not work at all", "en")).Resolve)
}

func TestDirectoryAnswers(t *testing.T) {
	b := newBot(t)
	tr := turn("where is my withdrawal", "en")
	tr.Known = true
	tr.Player = playerdir.Player{PlayerID: "P-1", KYCStatus: "pending",
		Withdrawals: []playerdir.Withdrawal{{Amount: 250, Currency: "EUR", Status: "processing", RequestedAt: "2026-12-05"}}}
	act := b.Decide(State{}, tr)
	require.Equal(t, "directory", act.Source)
	require.Equal(t, "Your withdrawal of 250.00 EUR requested on 2026-12-05 is processing.", act.Reply.Text)

	tr = turn("är mitt konto verifierat", "sv")
	tr.Known, tr.Player = true, playerdir.Player{PlayerID: "P-1", KYCStatus: "verified"}
	act = b.Decide(State{}, tr)
	require.Equal(t, builtinTexts["sv"][TextKYCVerified], act.Reply.Text)

	tr.Player.Withdrawals, tr.Message.Text = nil, "var är mitt uttag"
	require.Equal(t, builtinTexts["sv"][TextNoWithdrawal], b.Decide(State{}, tr).Reply.Text)

	// Without the directory the generic answer stands.
	act = b.Decide(State{}, turn("where is my withdrawal", "en"))
	require.Equal(t, "knowledge", act.Source)
}

func TestKnowledgeErrors(t *testing.T) {
	k := Knowledge{Entries: []Entry{{ID: "a", Questions: map[string][]string{"sv": {"x"}}}, {ID: "a", Data: "balance"}},
		Texts: map[string]map[string]string{"en": {"nope": "x"}}}
	err := k.check()
	require.ErrorContains(t, err, "entries[0] (a): no answer in sv (nor in en)")
	require.ErrorContains(t, err, "entries[1] (a): id is used twice")
	require.ErrorContains(t, err, `entries[1] (a): data "balance"`)
	require.ErrorContains(t, err, "texts.en.nope: unknown text")
}
