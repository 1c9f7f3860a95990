package voice

import (
	"strings"
)

// What callers hear, in the languages the web chat speaks (connectors/channel/webchat), in
// the register players expect from support in each (Sie, usted, vous, dumneavoastră, siz).
// The provider's text-to-speech reads them with the voice of sayLanguage.

// phrases is one language's words.
type phrases struct {
	// say is the provider's speech language (BCP 47 with region: Twilio's <Say language>,
	// Vonage's talk language).
	say      string
	welcome  string
	menu     string
	record   string
	closed   string // {hours} is where the opening hours go
	callback string
	thanks   string
	forward  string
	// days are the weekdays from Sunday, as time.Weekday counts; to joins ranges.
	days [7]string
	to   string
}

// builtinTexts returns the phrases by language tag; "en" is the fallback.
func builtinTexts() map[string]phrases {
	return map[string]phrases{
		"en": {say: "en-GB", welcome: "Welcome to player support.",
			menu:     "To leave a message, press 1. To ask for a call-back, press 2.",
			record:   "Please leave your message after the tone, and press the hash key when you are done.",
			closed:   "Our support line is closed now. We are open {hours}. You may leave a message.",
			callback: "Thank you. We will call you back as soon as we can. Goodbye.",
			thanks:   "Thank you for your message. Goodbye.",
			forward:  "Please hold, we are connecting you to your personal manager.",
			days:     [7]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}, to: "to"},
		"de": {say: "de-DE", welcome: "Willkommen beim Spielersupport.",
			menu:     "Um eine Nachricht zu hinterlassen, drücken Sie die 1. Für einen Rückruf drücken Sie die 2.",
			record:   "Bitte sprechen Sie nach dem Signalton und drücken Sie zum Schluss die Raute-Taste.",
			closed:   "Unser Support ist gerade nicht besetzt. Wir sind für Sie da: {hours}. Sie können eine Nachricht hinterlassen.",
			callback: "Vielen Dank. Wir rufen Sie so bald wie möglich zurück. Auf Wiederhören.",
			thanks:   "Vielen Dank für Ihre Nachricht. Auf Wiederhören.",
			forward:  "Einen Moment bitte, wir verbinden Sie mit Ihrem persönlichen Betreuer.",
			days:     [7]string{"Sonntag", "Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag"}, to: "bis"},
		"es": {say: "es-ES", welcome: "Bienvenido al servicio de atención al jugador.",
			menu:     "Para dejar un mensaje, pulse 1. Para solicitar una llamada, pulse 2.",
			record:   "Deje su mensaje después de la señal y pulse la tecla almohadilla al terminar.",
			closed:   "Nuestra línea de atención está cerrada. Abrimos {hours}. Puede dejar un mensaje.",
			callback: "Gracias. Le llamaremos lo antes posible. Adiós.",
			thanks:   "Gracias por su mensaje. Adiós.",
			forward:  "Espere, por favor, le pasamos con su gestor personal.",
			days:     [7]string{"domingo", "lunes", "martes", "miércoles", "jueves", "viernes", "sábado"}, to: "a"},
		"fr": {say: "fr-FR", welcome: "Bienvenue au support joueurs.",
			menu:     "Pour laisser un message, tapez 1. Pour être rappelé, tapez 2.",
			record:   "Laissez votre message après le bip, puis appuyez sur la touche dièse.",
			closed:   "Notre support est fermé pour le moment. Nous sommes ouverts {hours}. Vous pouvez laisser un message.",
			callback: "Merci. Nous vous rappellerons dès que possible. Au revoir.",
			thanks:   "Merci pour votre message. Au revoir.",
			forward:  "Veuillez patienter, nous vous mettons en relation avec votre gestionnaire personnel.",
			days:     [7]string{"dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"}, to: "à"},
		"it": {say: "it-IT", welcome: "Benvenuto nel supporto giocatori.",
			menu:     "Per lasciare un messaggio, premi 1. Per essere richiamato, premi 2.",
			record:   "Lascia il tuo messaggio dopo il segnale acustico e premi il tasto cancelletto alla fine.",
			closed:   "Il supporto è chiuso in questo momento. Siamo aperti {hours}. Puoi lasciare un messaggio.",
			callback: "Grazie. Ti richiameremo il prima possibile. Arrivederci.",
			thanks:   "Grazie per il tuo messaggio. Arrivederci.",
			forward:  "Attendi, ti stiamo collegando con il tuo account manager personale.",
			days:     [7]string{"domenica", "lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato"}, to: "a"},
		"pt": {say: "pt-BR", welcome: "Bem-vindo ao suporte ao jogador.",
			menu:     "Para deixar uma mensagem, digite 1. Para pedir uma ligação de retorno, digite 2.",
			record:   "Deixe sua mensagem após o sinal e digite a tecla jogo da velha ao terminar.",
			closed:   "Nosso suporte está fechado agora. Atendemos {hours}. Você pode deixar uma mensagem.",
			callback: "Obrigado. Ligaremos de volta assim que possível. Até logo.",
			thanks:   "Obrigado pela sua mensagem. Até logo.",
			forward:  "Aguarde, estamos transferindo para o seu gerente pessoal.",
			days:     [7]string{"domingo", "segunda-feira", "terça-feira", "quarta-feira", "quinta-feira", "sexta-feira", "sábado"}, to: "a"},
		"pt-PT": {say: "pt-PT", welcome: "Bem-vindo ao apoio ao jogador.",
			menu:     "Para deixar uma mensagem, prima 1. Para pedir que lhe liguemos, prima 2.",
			record:   "Deixe a sua mensagem após o sinal e prima a tecla cardinal no fim.",
			closed:   "O nosso apoio está fechado neste momento. Estamos abertos {hours}. Pode deixar uma mensagem.",
			callback: "Obrigado. Ligaremos de volta logo que possível. Adeus.",
			thanks:   "Obrigado pela sua mensagem. Adeus.",
			forward:  "Aguarde, vamos ligá-lo ao seu gestor pessoal.",
			days:     [7]string{"domingo", "segunda-feira", "terça-feira", "quarta-feira", "quinta-feira", "sexta-feira", "sábado"}, to: "a"},
		"ro": {say: "ro-RO", welcome: "Bine ați venit la asistența pentru jucători.",
			menu:     "Pentru a lăsa un mesaj, apăsați 1. Pentru a fi sunat înapoi, apăsați 2.",
			record:   "Vă rugăm să lăsați mesajul după semnal și să apăsați tasta diez la final.",
			closed:   "Asistența este închisă acum. Suntem disponibili {hours}. Puteți lăsa un mesaj.",
			callback: "Vă mulțumim. Vă vom suna înapoi cât mai curând. La revedere.",
			thanks:   "Vă mulțumim pentru mesaj. La revedere.",
			forward:  "Vă rugăm să așteptați, vă conectăm cu managerul dumneavoastră personal.",
			days:     [7]string{"duminică", "luni", "marți", "miercuri", "joi", "vineri", "sâmbătă"}, to: "până"},
		"ru": {say: "ru-RU", welcome: "Добро пожаловать в службу поддержки игроков.",
			menu:     "Чтобы оставить сообщение, нажмите 1. Чтобы заказать обратный звонок, нажмите 2.",
			record:   "Оставьте сообщение после сигнала и нажмите решётку, когда закончите.",
			closed:   "Сейчас служба поддержки не работает. Мы работаем {hours}. Вы можете оставить сообщение.",
			callback: "Спасибо. Мы перезвоним вам как можно скорее. До свидания.",
			thanks:   "Спасибо за сообщение. До свидания.",
			forward:  "Пожалуйста, подождите, соединяем вас с вашим персональным менеджером.",
			days:     [7]string{"воскресенье", "понедельник", "вторник", "среда", "четверг", "пятница", "суббота"}, to: "до"},
		"sv": {say: "sv-SE", welcome: "Välkommen till spelarsupporten.",
			menu:     "För att lämna ett meddelande, tryck 1. För att bli uppringd, tryck 2.",
			record:   "Lämna ditt meddelande efter tonen och tryck på fyrkant när du är klar.",
			closed:   "Supporten är stängd just nu. Vi har öppet {hours}. Du kan lämna ett meddelande.",
			callback: "Tack. Vi ringer upp dig så snart vi kan. Hej då.",
			thanks:   "Tack för ditt meddelande. Hej då.",
			forward:  "Vänta, vi kopplar dig till din personliga kontaktperson.",
			days:     [7]string{"söndag", "måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag"}, to: "till"},
		"tr": {say: "tr-TR", welcome: "Oyuncu destek hattına hoş geldiniz.",
			menu:     "Mesaj bırakmak için 1'e, geri aranmak için 2'ye basın.",
			record:   "Lütfen sinyal sesinden sonra mesajınızı bırakın ve bitirince kare tuşuna basın.",
			closed:   "Destek hattımız şu anda kapalı. Çalışma saatlerimiz: {hours}. Mesaj bırakabilirsiniz.",
			callback: "Teşekkürler. Sizi en kısa sürede geri arayacağız. Hoşça kalın.",
			thanks:   "Mesajınız için teşekkürler. Hoşça kalın.",
			forward:  "Lütfen bekleyin, sizi kişisel temsilcinize bağlıyoruz.",
			days:     [7]string{"pazar", "pazartesi", "salı", "çarşamba", "perşembe", "cuma", "cumartesi"}, to: "-"},
	}
}

// builtinPrefixes picks a caller's language by country code, for the greetings' languages;
// longer prefixes win. language_prefixes in the configuration adds to and overrides it.
func builtinPrefixes() map[string]string {
	return map[string]string{
		"+49": "de", "+43": "de", "+423": "de",
		"+34": "es", "+52": "es", "+54": "es", "+56": "es", "+57": "es",
		"+33": "fr", "+32": "fr", "+352": "fr",
		"+39": "it",
		"+55": "pt", "+351": "pt-PT",
		"+40": "ro", "+373": "ro",
		"+7": "ru", "+375": "ru",
		"+46": "sv",
		"+90": "tr",
		"+1":  "en", "+44": "en", "+353": "en", "+61": "en", "+64": "en",
	}
}

// textsFor returns the phrases of lang: the exact tag, then its base language, then en.
func textsFor(lang string) (string, phrases) {
	all := builtinTexts()
	for k, p := range all {
		if strings.EqualFold(k, lang) {
			return k, p
		}
	}
	base, _, _ := strings.Cut(lang, "-")
	if p, ok := all[strings.ToLower(base)]; ok {
		return strings.ToLower(base), p
	}
	return "en", all["en"]
}
