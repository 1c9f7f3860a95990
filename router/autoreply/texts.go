package autoreply

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Texts are the auto-replies in one language. Placeholders: {ticket} is the helpdesk's
// ticket reference, {opens} when support opens again (a date and time in the calendar's
// zone, written the language's way, with its UTC offset).
type Texts struct {
	// Acknowledgement is sent when the helpdesk gave no ticket reference (in time).
	Acknowledgement string `yaml:"acknowledgement"`
	// AcknowledgementTicket is sent with the ticket reference; it must hold {ticket}.
	AcknowledgementTicket string `yaml:"acknowledgement_ticket"`
	// OutOfHours is the notice outside business hours; it must hold {opens}.
	OutOfHours string `yaml:"out_of_hours"`
}

// Fallback is the language of a conversation whose language has no texts.
const Fallback = "en"

// Builtin are the built-in texts, by language: polite and short, the way a support desk
// writes in each. The formal address (Sie, dumneavoastră, вы, usted, lei, vous, siz) is
// used where a language has one.
var Builtin = map[string]Texts{
	"en": {
		Acknowledgement:       "Thank you for your message. We have received it, and a member of our support team will reply as soon as possible.",
		AcknowledgementTicket: "Thank you for your message. We have received it under reference {ticket}, and a member of our support team will reply as soon as possible.",
		OutOfHours:            "Thank you for contacting us. Our support team is outside business hours right now; we will answer your message when we are back: {opens}.",
	},
	"ro": {
		Acknowledgement:       "Vă mulțumim pentru mesaj. L-am primit, iar un membru al echipei noastre de asistență vă va răspunde cât mai curând posibil.",
		AcknowledgementTicket: "Vă mulțumim pentru mesaj. L-am primit cu numărul de referință {ticket}, iar un membru al echipei noastre de asistență vă va răspunde cât mai curând posibil.",
		OutOfHours:            "Vă mulțumim că ne-ați contactat. Echipa noastră de asistență se află acum în afara programului de lucru; vă vom răspunde la reluarea programului: {opens}.",
	},
	"ru": {
		Acknowledgement:       "Спасибо за ваше сообщение. Мы его получили, и сотрудник службы поддержки ответит вам как можно скорее.",
		AcknowledgementTicket: "Спасибо за ваше сообщение. Мы получили его под номером {ticket}, и сотрудник службы поддержки ответит вам как можно скорее.",
		OutOfHours:            "Спасибо за обращение. Сейчас служба поддержки не работает; мы ответим на ваше сообщение, когда снова начнём работу: {opens}.",
	},
	"sv": {
		Acknowledgement:       "Tack för ditt meddelande. Vi har tagit emot det, och någon i vårt supportteam svarar dig så snart som möjligt.",
		AcknowledgementTicket: "Tack för ditt meddelande. Vi har tagit emot det med referensnummer {ticket}, och någon i vårt supportteam svarar dig så snart som möjligt.",
		OutOfHours:            "Tack för att du kontaktar oss. Vår support har stängt just nu; vi svarar på ditt meddelande när vi öppnar igen: {opens}.",
	},
	"de": {
		Acknowledgement:       "Vielen Dank für Ihre Nachricht. Wir haben sie erhalten, und ein Mitglied unseres Support-Teams antwortet Ihnen so bald wie möglich.",
		AcknowledgementTicket: "Vielen Dank für Ihre Nachricht. Wir haben sie unter der Referenz {ticket} erhalten, und ein Mitglied unseres Support-Teams antwortet Ihnen so bald wie möglich.",
		OutOfHours:            "Vielen Dank für Ihre Nachricht. Unser Support ist gerade außerhalb der Geschäftszeiten; wir antworten Ihnen, sobald wir wieder erreichbar sind: {opens}.",
	},
	"es": {
		Acknowledgement:       "Gracias por su mensaje. Lo hemos recibido y un miembro de nuestro equipo de soporte le responderá lo antes posible.",
		AcknowledgementTicket: "Gracias por su mensaje. Lo hemos recibido con la referencia {ticket} y un miembro de nuestro equipo de soporte le responderá lo antes posible.",
		OutOfHours:            "Gracias por contactar con nosotros. Nuestro equipo de soporte está ahora fuera del horario de atención; responderemos a su mensaje en cuanto volvamos: {opens}.",
	},
	"pt": {
		Acknowledgement:       "Obrigado pela sua mensagem. Nós a recebemos, e um membro da nossa equipe de suporte responderá o mais breve possível.",
		AcknowledgementTicket: "Obrigado pela sua mensagem. Nós a recebemos com a referência {ticket}, e um membro da nossa equipe de suporte responderá o mais breve possível.",
		OutOfHours:            "Obrigado por entrar em contato. Nossa equipe de suporte está fora do horário de atendimento agora; responderemos à sua mensagem assim que voltarmos: {opens}.",
	},
	"it": {
		Acknowledgement:       "Grazie per il suo messaggio. L'abbiamo ricevuto e un membro del nostro team di assistenza le risponderà il prima possibile.",
		AcknowledgementTicket: "Grazie per il suo messaggio. L'abbiamo ricevuto con il riferimento {ticket} e un membro del nostro team di assistenza le risponderà il prima possibile.",
		OutOfHours:            "Grazie per averci contattato. Il nostro servizio di assistenza è chiuso in questo momento; risponderemo al suo messaggio alla riapertura: {opens}.",
	},
	"fr": {
		Acknowledgement:       "Merci pour votre message. Nous l'avons bien reçu, et un membre de notre équipe d'assistance vous répondra dans les plus brefs délais.",
		AcknowledgementTicket: "Merci pour votre message. Nous l'avons bien reçu sous la référence {ticket}, et un membre de notre équipe d'assistance vous répondra dans les plus brefs délais.",
		OutOfHours:            "Merci de nous avoir contactés. Notre service d'assistance est fermé en ce moment\u00a0; nous répondrons à votre message dès la réouverture\u00a0: {opens}.",
	},
	"tr": {
		Acknowledgement:       "Mesajınız için teşekkür ederiz. Mesajınızı aldık; destek ekibimizden biri size en kısa sürede yanıt verecek.",
		AcknowledgementTicket: "Mesajınız için teşekkür ederiz. Mesajınızı {ticket} referans numarasıyla aldık; destek ekibimizden biri size en kısa sürede yanıt verecek.",
		OutOfHours:            "Bizimle iletişime geçtiğiniz için teşekkür ederiz. Destek ekibimiz şu anda mesai saatleri dışında; mesajınızı mesai başladığında yanıtlayacağız: {opens}.",
	},
}

// dateWords write a moment the way a language does: weekday names from Sunday, month names
// in the form a date takes ("7 декабря", not "декабрь"), and the pattern with {weekday},
// {day}, {month} and {time} (24-hour HH:MM).
type dateWords struct {
	weekdays [7]string
	months   [12]string
	pattern  string
}

var dates = map[string]dateWords{
	"en": {[7]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"},
		[12]string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"},
		"{weekday} {day} {month}, {time}"},
	"ro": {[7]string{"duminică", "luni", "marți", "miercuri", "joi", "vineri", "sâmbătă"},
		[12]string{"ianuarie", "februarie", "martie", "aprilie", "mai", "iunie", "iulie", "august", "septembrie", "octombrie", "noiembrie", "decembrie"},
		"{weekday}, {day} {month}, ora {time}"},
	"ru": {[7]string{"воскресенье", "понедельник", "вторник", "среда", "четверг", "пятница", "суббота"},
		[12]string{"января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября", "ноября", "декабря"},
		"{weekday}, {day} {month}, {time}"},
	"sv": {[7]string{"söndag", "måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag"},
		[12]string{"januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti", "september", "oktober", "november", "december"},
		"{weekday} {day} {month} kl. {time}"},
	"de": {[7]string{"Sonntag", "Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag"},
		[12]string{"Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"},
		"{weekday}, {day}. {month}, {time} Uhr"},
	"es": {[7]string{"domingo", "lunes", "martes", "miércoles", "jueves", "viernes", "sábado"},
		[12]string{"enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre"},
		"{weekday} {day} de {month}, a las {time}"},
	"pt": {[7]string{"domingo", "segunda-feira", "terça-feira", "quarta-feira", "quinta-feira", "sexta-feira", "sábado"},
		[12]string{"janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto", "setembro", "outubro", "novembro", "dezembro"},
		"{weekday}, {day} de {month}, às {time}"},
	"it": {[7]string{"domenica", "lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato"},
		[12]string{"gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto", "settembre", "ottobre", "novembre", "dicembre"},
		"{weekday} {day} {month}, alle {time}"},
	"fr": {[7]string{"dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"},
		[12]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"},
		"{weekday} {day} {month} à {time}"},
	"tr": {[7]string{"Pazar", "Pazartesi", "Salı", "Çarşamba", "Perşembe", "Cuma", "Cumartesi"},
		[12]string{"Ocak", "Şubat", "Mart", "Nisan", "Mayıs", "Haziran", "Temmuz", "Ağustos", "Eylül", "Ekim", "Kasım", "Aralık"},
		"{day} {month} {weekday}, {time}"},
}

// FormatOpening writes t in its own zone the way lang writes a date (English for a language
// without date words), with the zone's UTC offset, so a player elsewhere can convert it:
// "luni, 7 decembrie, ora 09:00 (UTC+2)".
func FormatOpening(lang string, t time.Time) string {
	w, ok := dates[primary(lang)]
	if !ok {
		w = dates[Fallback]
	}
	s := strings.NewReplacer("{weekday}", w.weekdays[t.Weekday()], "{day}", strconv.Itoa(t.Day()),
		"{month}", w.months[t.Month()-1], "{time}", t.Format("15:04")).Replace(w.pattern)
	return s + " (" + utcOffset(t) + ")"
}

// utcOffset is "UTC", "UTC+2", "UTC-3" or "UTC+5:30" for t's zone at t.
func utcOffset(t time.Time) string {
	_, off := t.Zone()
	if off == 0 {
		return "UTC"
	}
	sign := "+"
	if off < 0 {
		sign, off = "-", -off
	}
	if m := off % 3600 / 60; m != 0 {
		return fmt.Sprintf("UTC%s%d:%02d", sign, off/3600, m)
	}
	return fmt.Sprintf("UTC%s%d", sign, off/3600)
}

// primary is the primary subtag of a BCP 47 tag, lower case: "pt-BR" → "pt".
func primary(lang string) string {
	p, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(lang)), "-")
	p, _, _ = strings.Cut(p, "_")
	return p
}

// placeholders each text may and must hold.
var placeholders = map[string]struct{ allowed, required []string }{
	"acknowledgement":        {nil, nil},
	"acknowledgement_ticket": {[]string{"{ticket}"}, []string{"{ticket}"}},
	"out_of_hours":           {[]string{"{opens}"}, []string{"{opens}"}},
}

// checkText reports what is wrong with an operator's text of the given key: a placeholder
// it must hold and lacks, or one it cannot fill (a typo would reach players verbatim).
func checkText(key, text string) error {
	p := placeholders[key]
	for _, r := range p.required {
		if !strings.Contains(text, r) {
			return fmt.Errorf("must hold %s", r)
		}
	}
	rest := text
	for _, a := range p.allowed {
		rest = strings.ReplaceAll(rest, a, "")
	}
	if i := strings.Index(rest, "{"); i >= 0 {
		if j := strings.Index(rest[i:], "}"); j > 0 {
			return fmt.Errorf("has the unknown placeholder %s (allowed: %v)", rest[i:i+j+1], p.allowed)
		}
	}
	return nil
}
