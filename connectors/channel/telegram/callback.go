package telegram

import (
	"strings"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/casino-support/gateway/connectors/callback"
	"github.com/casino-support/gateway/normalize"
)

// A player asks to be called back with /callback. The bot answers with a reply keyboard whose
// one button shares the player's own contact (request_contact): the number comes from
// Telegram's account, so nobody types it wrong. A contact whose user_id is the sender's
// becomes the call-back request (connectors/callback); a contact of somebody else stays an
// ordinary shared contact, never taken as the player's number. Only in private chats, and only
// when callback_requests is on.

// callbackCommand is the command that asks for a call-back.
const callbackCommand = "/callback"

// callbackTexts are what the bot says around a call-back request: the prompt, the button,
// and the thanks once the request is stored ({phone} is the number). By language, like the
// web chat's; "en" is the fallback.
var callbackTexts = map[string][3]string{
	"en":    {"To be called back, tap the button below: it shares your phone number with our support team.", "Share my phone number", "Thank you! We will call you back at {phone}."},
	"de":    {"Für einen Rückruf tippen Sie auf die Schaltfläche unten: Sie teilt Ihre Telefonnummer mit unserem Support.", "Meine Telefonnummer teilen", "Vielen Dank! Wir rufen Sie unter {phone} zurück."},
	"es":    {"Para que le llamemos, pulse el botón de abajo: comparte su número de teléfono con nuestro equipo de soporte.", "Compartir mi número de teléfono", "¡Gracias! Le llamaremos al {phone}."},
	"fr":    {"Pour être rappelé, touchez le bouton ci-dessous\u00a0: il partage votre numéro de téléphone avec notre support.", "Partager mon numéro de téléphone", "Merci\u00a0! Nous vous rappellerons au {phone}."},
	"it":    {"Per essere richiamato, tocca il pulsante qui sotto: condivide il tuo numero di telefono con il nostro supporto.", "Condividi il mio numero di telefono", "Grazie! Ti richiameremo al {phone}."},
	"pt":    {"Para receber uma ligação, toque no botão abaixo: ele compartilha seu número de telefone com nosso suporte.", "Compartilhar meu número de telefone", "Obrigado! Vamos ligar para você no {phone}."},
	"pt-PT": {"Para receber uma chamada, toque no botão abaixo: partilha o seu número de telefone com o nosso apoio.", "Partilhar o meu número de telefone", "Obrigado! Vamos ligar-lhe para o {phone}."},
	"ro":    {"Pentru a fi sunat înapoi, atingeți butonul de mai jos: acesta trimite numărul dumneavoastră de telefon echipei de asistență.", "Trimite numărul meu de telefon", "Vă mulțumim! Vă vom suna înapoi la {phone}."},
	"ru":    {"Чтобы мы вам перезвонили, нажмите кнопку ниже: она передаст ваш номер телефона нашей поддержке.", "Отправить мой номер телефона", "Спасибо! Мы перезвоним вам по номеру {phone}."},
	"sv":    {"Tryck på knappen nedan för att bli uppringd: den delar ditt telefonnummer med vår support.", "Dela mitt telefonnummer", "Tack! Vi ringer upp dig på {phone}."},
	"tr":    {"Sizi geri aramamız için aşağıdaki düğmeye dokunun: telefon numaranızı destek ekibimizle paylaşır.", "Telefon numaramı paylaş", "Teşekkürler! Sizi {phone} numarasından geri arayacağız."},
}

// callbackText picks lang's texts: the exact tag, then its base language, then en.
func callbackText(lang string) [3]string {
	for k, v := range callbackTexts {
		if strings.EqualFold(k, lang) {
			return v
		}
	}
	base, _, _ := strings.Cut(lang, "-")
	if v, ok := callbackTexts[strings.ToLower(base)]; ok {
		return v
	}
	return callbackTexts["en"]
}

// isCallbackCommand reports whether text is /callback, also as /callback@botname.
func isCallbackCommand(text string) bool {
	cmd, _, _ := strings.Cut(strings.TrimSpace(text), " ")
	return cmd == callbackCommand || strings.HasPrefix(cmd, callbackCommand+"@")
}

// ownContactRequest returns the call-back request of a message that shares the sender's own
// contact, and false for anything else: no contact, somebody else's (another user_id, or none:
// a number typed into the address book), or a number that is none.
func ownContactRequest(m *tgbotapi.Message) (normalize.Callback, bool) {
	if m.Contact == nil || m.From == nil || m.Contact.UserID == 0 || m.Contact.UserID != m.From.ID {
		return normalize.Callback{}, false
	}
	number := strings.TrimSpace(m.Contact.PhoneNumber)
	if !strings.HasPrefix(number, "+") {
		number = "+" + number // Telegram writes an account's own number without the +
	}
	cb, err := callback.New(number, "", "")
	return cb, err == nil
}

// askForContact is the prompt with its one-button keyboard.
func askForContact(lang string) (string, any) {
	t := callbackText(lang)
	kb := tgbotapi.NewReplyKeyboard(tgbotapi.NewKeyboardButtonRow(tgbotapi.NewKeyboardButtonContact(t[1])))
	kb.OneTimeKeyboard = true
	return t[0], kb
}

// thanksForContact confirms a stored request and takes the keyboard away.
func thanksForContact(lang, phone string) (string, any) {
	return strings.ReplaceAll(callbackText(lang)[2], "{phone}", phone), tgbotapi.NewRemoveKeyboard(true)
}
