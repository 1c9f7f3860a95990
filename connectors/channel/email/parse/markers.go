package parse

import (
	"regexp"
	"strings"
)

// The markers mail clients put where the quoted history starts, in English and the languages
// players write (ro, ru, sv, de, es, pt, it, fr, tr), as Gmail, Outlook, Apple Mail,
// Thunderbird and the Russian webmails write them. Matched case-insensitively on one line.

// wroteVerbs end (or, in German and Swedish, sit inside) an attribution line:
// "On Mon, 3 Mar 2025 at 10:00, Ana <ana@example.ro> wrote:".
var wroteVerbs = regexp.MustCompile(`(?i)(^|[\s,])(` + strings.Join([]string{
	`wrote`, `writes`, // en
	`a scris`, `au scris`, // ro
	`написал\(а\)`, `написала`, `написал`, `пишет`, `писал\(а\)`, // ru
	`skrev`,                  // sv
	`schrieb`, `geschrieben`, // de
	`escribió`, `escribio`, // es
	`escreveu`,              // pt
	`ha scritto`, `scrisse`, // it
	`a écrit`, `a ecrit`, // fr
	`yazdı`, `şunu yazdı`, `yazdi`, // tr
}, "|") + `)(\s|:|$)`)

// emailAtEnd matches an attribution that ends with the author's address and a colon, without
// a verb: Gmail in Russian ("пн, 3 мар. 2025 г. в 10:00, Ana <ana@example.ru>:"), Yandex,
// Mail.ru, and German and Swedish Gmail, whose verb comes before the name.
var emailAtEnd = regexp.MustCompile(`[^\s<>()@]+@[^\s<>()@]+>?\)?\s*:\s*$`)

// hasEmail finds an address in an attribution; one with an address and a verb is taken as
// one even when no quoted line follows (Outlook for iOS quotes without "> ").
var hasEmail = regexp.MustCompile(`[^\s<>()@:]+@[^\s<>()@:]+\.[^\s<>()@:]+`)

// endsColon: every attribution ends with a colon, French with a space before it.
var endsColon = regexp.MustCompile(`:\s*$`)

// originalMessage is Outlook's and older clients' separator above the quoted mail:
// "-----Original Message-----". Turkish İ is spelled out: it has no simple case fold.
var originalMessage = regexp.MustCompile(`(?i)^\s*-{2,}\s*(` + strings.Join([]string{
	`original message`, `original-nachricht`, `ursprüngliche nachricht`,
	`mesaj original`, `mesajul original`,
	`исходное сообщение`, `оригинальное сообщение`,
	`ursprungligt meddelande`, `originalmeddelande`,
	`mensaje original`, `mensagem original`, `messaggio originale`,
	`message d'origine`, `message original`,
	`orijinal (i|İ)leti`, `özgün (i|İ)leti`, `orijinal mesaj`,
}, "|") + `)\s*-{2,}\s*$`)

// The keys of the header block a client writes above the mail it quotes: Outlook's "From:",
// "Sent:", "To:", "Subject:" (bold in HTML), translated, and GMX's "Gesendet:", "Von:".
var (
	fromKey    = regexp.MustCompile(`(?i)^\s*\*?(from|de la|de|от|från|von|da|kimden|expéditeur|van)\s*:\*?\s*\S`)
	sentKey    = regexp.MustCompile(`(?i)^\s*\*?(sent|date|trimis|data|отправлено|дата|skickat|datum|gesendet|enviado|enviado el|enviada em|inviato|envoyé|gönderildi|tarih|fecha)\s*:\*?\s*\S`)
	subjectKey = regexp.MustCompile(`(?i)^\s*\*?(to|subject|către|catre|subiect|кому|тема|till|ämne|an|betreff|para|asunto|assunto|a|oggetto|à|objet|kime|konu|cc)\s*:\*?`)
	// underscores is the rule Outlook on the web and for mobile draw above the block.
	underscores = regexp.MustCompile(`^\s*_{10,}\s*$`)
)

// forwardMarker starts a forwarded mail kept in the text: Gmail's, Thunderbird's and Apple
// Mail's, translated. What follows it is what the player wants read, so it is never cut.
var forwardMarker = regexp.MustCompile(`(?i)^\s*(-{2,}\s*(` + strings.Join([]string{
	`forwarded message`, `weitergeleitete nachricht`, `mesaj redirecționat`, `mesaj redirectionat`,
	`mesaj transmis`, `пересылаемое сообщение`, `пересланное сообщение`, `vidarebefordrat meddelande`,
	`mensaje reenviado`, `mensagem encaminhada`, `messaggio inoltrato`, `message transféré`,
	`yönlendirilmiş ileti`, `iletilen ileti`,
}, "|") + `)\s*-{2,}|(` + strings.Join([]string{
	`begin forwarded message`, `anfang der weitergeleiteten nachricht`, `début du message réexpédié`,
	`inicio del mensaje reenviado`, `início da mensagem reencaminhada`, `inizio messaggio inoltrato`,
	`начало переадресованного сообщения`, `vidarebefordrat brev`, `începutul mesajului redirecționat`,
}, "|") + `)\s*:)\s*$`)

// forwardPrefix is a subject's forward prefix: "Fwd:", Outlook's "FW:" and its translations
// (WG de, TR fr, RV es, ENC pt, I it, VS and VB sv, İLT tr, Пересл ru, Redirecționare ro).
var forwardPrefix = regexp.MustCompile(`(?i)^\s*(\[[^\]]*\]\s*)?(fwd?|wg|tr|rv|enc|i|vs|vb|(i|İ)lt|пересл|redirecționare|redirectionare)\s*:`)

// mobileSignature matches the line phones and apps add under a mail; only the last lines of
// the new words are checked.
var mobileSignature = regexp.MustCompile(`(?i)^\s*(` + strings.Join([]string{
	`sent from my \S.*`, `sent from \S+( \S+){0,4}`, `sent with \S+( \S+){0,4}`, `sent via \S+( \S+){0,4}`,
	`get outlook for \S+.*`, `sent from outlook.*`, `sent from yahoo mail.*`, `sent from mail for windows.*`,
	`trimis de pe \S.*`, `trimis din \S.*`, `trimis cu \S.*`, // ro
	`отправлено с \S.*`, `отправлено из \S.*`, `отправлено через \S.*`, `скачайте outlook.*`, // ru
	`skickat från \S.*`, `skickades från \S.*`, `hämta outlook för \S.*`, // sv
	`von meinem \S.*gesendet\.?`, `gesendet von \S.*`, `gesendet mit \S.*`, `outlook für \S+ beziehen.*`, // de
	`enviado desde mi \S.*`, `enviado desde \S.*`, `obtener outlook para \S.*`, // es
	`enviado do meu \S.*`, `enviado do \S.*`, `enviado de meu \S.*`, `enviado pelo \S.*`, `obter o outlook para \S.*`, // pt
	`inviato da \S.*`, `inviato dal mio \S.*`, `scarica outlook per \S.*`, // it
	`envoyé de mon \S.*`, `envoyé depuis \S.*`, `envoyé à partir de \S.*`, `télécharger outlook pour \S.*`, // fr
	`\S+('[a-zıiüöçşğ]+)? gönderildi\.?`, `\S+( \S+){0,3} (ile|ile birlikte) gönderildi\.?`, `\S+('[a-zıiüöçşğ]+)? gönderdim\.?`, // tr
}, "|") + `)\s*$`)

// sigDelimiter is the signature separator of RFC 3676, "-- ", often sent without its space.
func sigDelimiter(line string) bool {
	return line == "-- " || line == "--" || line == "-- \u00a0"
}
