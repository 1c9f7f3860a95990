package telegram

import (
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors/callback"
	"github.com/casino-support/gateway/normalize"
)

// contactMsg is player() sharing a contact in their private chat.
func contactMsg(number string, userID int64) *tgbotapi.Message {
	m := msg("")
	m.Contact = &tgbotapi.Contact{PhoneNumber: number, FirstName: "Ana", UserID: userID}
	return m
}

// /callback is answered with a button that shares the player's own contact; that contact is
// the call-back request, thanked for with the keyboard taken away. Somebody else's contact
// is an ordinary contact.
func TestCallbackRequestByOwnContact(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.CallbackRequests = true })
	sink := newSink()
	e.run(t, sink)
	e.fake.AddUpdate(tgbotapi.Update{Message: msg("/callback")})
	require.Eventually(t, func() bool { return len(e.fake.Sent(chat)) == 1 }, 5*time.Second, 5*time.Millisecond, "the bot asks")
	ask := e.fake.Sent(chat)[0]
	require.Equal(t, callbackTexts["pt"][0], ask.Text, "in the player's language (pt-BR: pt)")
	require.Equal(t, [][]tgbotapi.KeyboardButton{{{Text: callbackTexts["pt"][1], RequestContact: true}}}, ask.Markup.Keyboard)
	require.True(t, ask.Markup.OneTime)

	e.fake.AddUpdate(tgbotapi.Update{Message: contactMsg("+44 20 7946 0958", 777)}) // somebody else's
	e.fake.AddUpdate(tgbotapi.Update{Message: contactMsg("351912345678", player().ID)})
	got := waitMessages(t, sink, 2)
	require.Len(t, got, 2, "the command itself is not delivered")

	other := got[0]
	require.Equal(t, normalize.KindContact, other.Kind)
	require.Nil(t, other.Callback, "another person's number is never taken as the player's")

	req := got[1]
	require.Equal(t, &normalize.Callback{Phone: "+351912345678"}, req.Callback, "Telegram's own number without +, in E.164")
	require.Equal(t, normalize.KindText, req.Kind)
	require.Equal(t, callback.Text(*req.Callback, "Telegram"), req.Text)
	require.Equal(t, "5000000001", req.Author.ExternalID)

	require.Eventually(t, func() bool { return len(e.fake.Sent(chat)) == 2 }, 5*time.Second, 5*time.Millisecond, "thanked")
	thanks := e.fake.Sent(chat)[1]
	require.Equal(t, "Obrigado! Vamos ligar para você no +351912345678.", thanks.Text)
	require.True(t, thanks.Markup.RemoveKeyboard)
}

// Without callback_requests the command is a player's words and a contact only a contact.
func TestCallbackRequestsOff(t *testing.T) {
	e := newEnv(t, nil)
	sink := newSink()
	e.run(t, sink)
	e.fake.AddUpdate(tgbotapi.Update{Message: msg("/callback")})
	e.fake.AddUpdate(tgbotapi.Update{Message: contactMsg("351912345678", player().ID)})
	got := waitMessages(t, sink, 2)
	require.Equal(t, "/callback", got[0].Text)
	require.Equal(t, normalize.KindContact, got[1].Kind)
	for _, m := range got {
		require.Nil(t, m.Callback)
	}
	require.Empty(t, e.fake.Sent(chat), "no prompt, no thanks")
}

func TestOwnContactRequest(t *testing.T) {
	tests := []struct {
		name   string
		m      *tgbotapi.Message
		want   normalize.Callback
		wantOK bool
	}{
		{"own, without +", contactMsg("491701234567", player().ID), normalize.Callback{Phone: "+491701234567"}, true},
		{"own, with +", contactMsg("+49 170 1234567", player().ID), normalize.Callback{Phone: "+491701234567"}, true},
		{"somebody else's", contactMsg("491701234567", 42), normalize.Callback{}, false},
		{"typed into the address book (no user_id)", contactMsg("491701234567", 0), normalize.Callback{}, false},
		{"no valid number", contactMsg("12", player().ID), normalize.Callback{}, false},
		{"no contact", msg("hi"), normalize.Callback{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ownContactRequest(tt.m)
			require.Equal(t, tt.wantOK, ok)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestCallbackCommandAndTexts(t *testing.T) {
	for text, want := range map[string]bool{"/callback": true, "/callback@SupportBot": true, " /callback now": true, "/callbacks": false, "callback": false, "/start": false} {
		require.Equal(t, want, isCallbackCommand(text), text)
	}
	require.Equal(t, callbackTexts["pt-PT"], callbackText("pt-pt"))
	require.Equal(t, callbackTexts["de"], callbackText("de-AT"))
	require.Equal(t, callbackTexts["en"], callbackText("ja"))
	for lang, texts := range callbackTexts {
		for _, s := range texts {
			require.NotEmpty(t, s, lang)
		}
		require.Contains(t, texts[2], "{phone}", lang)
	}
}
