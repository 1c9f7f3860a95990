package webchat

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/casino-support/gateway/connectors/settings"
)

// The chat page's own words (placeholder, button, status, notices) in the players'
// languages. The server picks the language when it renders the page, writes the static words
// into the HTML and hands the rest to chat.js as JSON in a data attribute: the page's CSP
// allows no inline script, and a player on a slow phone sees no English flash first.
//
// Error frames keep their English message (other clients and the logs read it); the page
// translates them by their code and shows the server's text only for a code it has no
// words for.

// fallbackLanguage has every key; every other language falls back to it key by key.
const fallbackLanguage = "en"

// maxAcceptLanguages bounds the work a hostile Accept-Language header can cause.
const maxAcceptLanguages = 16

// placeholderPattern finds the {name}s in a string.
var placeholderPattern = regexp.MustCompile(`\{[a-z_]+\}`)

// stringPlaceholders are the {name}s a key's text may hold: chat.js fills {limit} (it knows
// the limits from the welcome frame and formats them for the language), the server fills
// {types} (the names of the accepted file types) and {megapixels} when it builds the page.
func stringPlaceholders() map[string][]string {
	return map[string][]string{
		"too_long":        {"{limit}"},
		"file_too_large":  {"{limit}"},
		"file_type":       {"{types}"},
		"image_too_large": {"{megapixels}"},
	}
}

// builtinStrings returns the page's words by language tag. Keys are documented in
// docs/webchat.md; "en" has them all. Kept short: the page is often a 390 px wide phone.
// The register is the one players expect from support in each language (Sie, usted, vous,
// dumneavoastră, siz; tu in Italian as Italian sites use it).
func builtinStrings() map[string]map[string]string {
	return map[string]map[string]string{
		"en": {
			"placeholder":          "Type your message…",
			"message_label":        "Message",
			"send":                 "Send",
			"attach":               "Attach a file",
			"attach_hint":          "Attach a photo or a PDF",
			"close":                "Close the chat",
			"messages_label":       "Messages",
			"status_connecting":    "connecting…",
			"status_online":        "online",
			"status_reconnecting":  "reconnecting…",
			"status_offline":       "offline",
			"typing":               "Support is typing…",
			"sending":              "sending…",
			"not_sent":             "not sent",
			"sent":                 "Sent",
			"received":             "Support has it",
			"retry":                "Retry",
			"too_long":             "Your message is too long: at most {limit} characters. Please split it.",
			"not_connected":        "Not connected yet. Please try again in a moment.",
			"file_too_large":       "The file is too large; the limit is {limit}.",
			"file_empty":           "The file is empty.",
			"file_type":            "This file type is not accepted. You can send: {types}.",
			"image_too_large":      "This image cannot be sent: it is too large (at most {megapixels} megapixels). Please send a smaller picture or a screenshot.",
			"no_attachments":       "This chat does not accept attachments.",
			"upload_lost":          "The upload failed: the connection was lost.",
			"upload_failed":        "The upload failed. Please try again.",
			"upload_rate_limited":  "Too many files were sent in a short time. Please try again later.",
			"storage_full":         "The file was not sent: the chat’s file storage is full. Please try again later, or write your message without it.",
			"empty":                "The message is empty.",
			"rate_limited":         "You are sending messages too quickly. Please wait a moment.",
			"rejected":             "This message cannot be accepted.",
			"busy":                 "Not sent yet: the chat is busy. Your message is kept and sent again automatically.",
			"unavailable":          "The chat is temporarily unavailable; retrying automatically.",
			"invalid_player":       "We could not confirm your casino sign-in. Please reload the page.",
			"session_expired":      "Your chat session has expired. Please reload the page.",
			"too_many_connections": "Too many chat windows are open; close some and reload.",
			"error":                "Something went wrong. Please reload the page.",
		},
		"ro": {
			"placeholder":          "Scrieți mesajul…",
			"message_label":        "Mesaj",
			"send":                 "Trimite",
			"attach":               "Atașați un fișier",
			"attach_hint":          "Atașați o fotografie sau un PDF",
			"close":                "Închideți chatul",
			"messages_label":       "Mesaje",
			"status_connecting":    "se conectează…",
			"status_online":        "online",
			"status_reconnecting":  "se reconectează…",
			"status_offline":       "offline",
			"typing":               "Asistența scrie…",
			"sending":              "se trimite…",
			"not_sent":             "netrimis",
			"sent":                 "Trimis",
			"received":             "Primit de asistență",
			"retry":                "Reîncercați",
			"too_long":             "Mesajul este prea lung: cel mult {limit} de caractere. Vă rugăm să îl împărțiți.",
			"not_connected":        "Încă nu sunteți conectat. Încercați din nou în câteva momente.",
			"file_too_large":       "Fișierul este prea mare; limita este de {limit}.",
			"file_empty":           "Fișierul este gol.",
			"file_type":            "Acest tip de fișier nu este acceptat. Puteți trimite: {types}.",
			"image_too_large":      "Această imagine nu poate fi trimisă: este prea mare (cel mult {megapixels} de megapixeli). Trimiteți o imagine mai mică sau o captură de ecran.",
			"no_attachments":       "Acest chat nu acceptă atașamente.",
			"upload_lost":          "Încărcarea a eșuat: conexiunea s-a întrerupt.",
			"upload_failed":        "Încărcarea a eșuat. Încercați din nou.",
			"upload_rate_limited":  "Au fost trimise prea multe fișiere într-un timp scurt. Încercați din nou mai târziu.",
			"storage_full":         "Fișierul nu a fost trimis: spațiul pentru fișiere al chatului este plin. Încercați mai târziu sau scrieți mesajul fără fișier.",
			"empty":                "Mesajul este gol.",
			"rate_limited":         "Trimiteți mesaje prea repede. Vă rugăm să așteptați puțin.",
			"rejected":             "Acest mesaj nu poate fi acceptat.",
			"busy":                 "Încă netrimis: chatul este ocupat. Mesajul este păstrat și va fi retrimis automat.",
			"unavailable":          "Chatul este temporar indisponibil; reîncercăm automat.",
			"invalid_player":       "Nu am putut confirma autentificarea dumneavoastră la cazinou. Reîncărcați pagina.",
			"session_expired":      "Sesiunea de chat a expirat. Reîncărcați pagina.",
			"too_many_connections": "Sunt deschise prea multe ferestre de chat; închideți câteva și reîncărcați pagina.",
			"error":                "A apărut o eroare. Reîncărcați pagina.",
		},
		"ru": {
			"placeholder":          "Введите сообщение…",
			"message_label":        "Сообщение",
			"send":                 "Отправить",
			"attach":               "Прикрепить файл",
			"attach_hint":          "Прикрепить фото или PDF",
			"close":                "Закрыть чат",
			"messages_label":       "Сообщения",
			"status_connecting":    "подключение…",
			"status_online":        "в сети",
			"status_reconnecting":  "переподключение…",
			"status_offline":       "не в сети",
			"typing":               "Поддержка печатает…",
			"sending":              "отправка…",
			"not_sent":             "не отправлено",
			"sent":                 "Отправлено",
			"received":             "Получено поддержкой",
			"retry":                "Повторить",
			"too_long":             "Сообщение слишком длинное: не более {limit} символов. Пожалуйста, разделите его.",
			"not_connected":        "Соединение ещё не установлено. Попробуйте чуть позже.",
			"file_too_large":       "Файл слишком большой; максимум {limit}.",
			"file_empty":           "Файл пустой.",
			"file_type":            "Этот тип файла не принимается. Можно отправить: {types}.",
			"image_too_large":      "Это изображение нельзя отправить: оно слишком большое (не более {megapixels} мегапикселей). Отправьте картинку поменьше или скриншот.",
			"no_attachments":       "В этот чат нельзя отправлять файлы.",
			"upload_lost":          "Не удалось загрузить файл: соединение потеряно.",
			"upload_failed":        "Не удалось загрузить файл. Попробуйте ещё раз.",
			"upload_rate_limited":  "Слишком много файлов за короткое время. Попробуйте позже.",
			"storage_full":         "Файл не отправлен: хранилище файлов чата заполнено. Попробуйте позже или напишите сообщение без файла.",
			"empty":                "Сообщение пустое.",
			"rate_limited":         "Вы отправляете сообщения слишком часто. Пожалуйста, подождите немного.",
			"rejected":             "Это сообщение не может быть принято.",
			"busy":                 "Ещё не отправлено: чат перегружен. Сообщение сохранено и будет отправлено автоматически.",
			"unavailable":          "Чат временно недоступен; повторяем попытку автоматически.",
			"invalid_player":       "Не удалось подтвердить ваш вход в казино. Перезагрузите страницу.",
			"session_expired":      "Сеанс чата истёк. Перезагрузите страницу.",
			"too_many_connections": "Открыто слишком много окон чата; закройте лишние и перезагрузите страницу.",
			"error":                "Что-то пошло не так. Перезагрузите страницу.",
		},
		"sv": {
			"placeholder":          "Skriv ditt meddelande…",
			"message_label":        "Meddelande",
			"send":                 "Skicka",
			"attach":               "Bifoga en fil",
			"attach_hint":          "Bifoga ett foto eller en PDF",
			"close":                "Stäng chatten",
			"messages_label":       "Meddelanden",
			"status_connecting":    "ansluter…",
			"status_online":        "online",
			"status_reconnecting":  "återansluter…",
			"status_offline":       "offline",
			"typing":               "Supporten skriver…",
			"sending":              "skickar…",
			"not_sent":             "inte skickat",
			"sent":                 "Skickat",
			"received":             "Supporten har fått det",
			"retry":                "Försök igen",
			"too_long":             "Meddelandet är för långt: högst {limit} tecken. Dela upp det.",
			"not_connected":        "Inte ansluten än. Försök igen om en stund.",
			"file_too_large":       "Filen är för stor; gränsen är {limit}.",
			"file_empty":           "Filen är tom.",
			"file_type":            "Den här filtypen tas inte emot. Du kan skicka: {types}.",
			"image_too_large":      "Bilden kan inte skickas: den är för stor (högst {megapixels} megapixlar). Skicka en mindre bild eller en skärmbild.",
			"no_attachments":       "Den här chatten tar inte emot bilagor.",
			"upload_lost":          "Uppladdningen misslyckades: anslutningen bröts.",
			"upload_failed":        "Uppladdningen misslyckades. Försök igen.",
			"upload_rate_limited":  "För många filer har skickats på kort tid. Försök igen senare.",
			"storage_full":         "Filen skickades inte: chattens fillagring är full. Försök igen senare, eller skriv ditt meddelande utan filen.",
			"empty":                "Meddelandet är tomt.",
			"rate_limited":         "Du skickar meddelanden för snabbt. Vänta en stund.",
			"rejected":             "Det här meddelandet kan inte tas emot.",
			"busy":                 "Inte skickat än: chatten är upptagen. Meddelandet sparas och skickas igen automatiskt.",
			"unavailable":          "Chatten är tillfälligt otillgänglig; vi försöker igen automatiskt.",
			"invalid_player":       "Vi kunde inte bekräfta din inloggning på casinot. Ladda om sidan.",
			"session_expired":      "Chattsessionen har gått ut. Ladda om sidan.",
			"too_many_connections": "För många chattfönster är öppna; stäng några och ladda om sidan.",
			"error":                "Något gick fel. Ladda om sidan.",
		},
		"de": {
			"placeholder":          "Nachricht eingeben…",
			"message_label":        "Nachricht",
			"send":                 "Senden",
			"attach":               "Datei anhängen",
			"attach_hint":          "Foto oder PDF anhängen",
			"close":                "Chat schließen",
			"messages_label":       "Nachrichten",
			"status_connecting":    "Verbinden…",
			"status_online":        "online",
			"status_reconnecting":  "Neu verbinden…",
			"status_offline":       "offline",
			"typing":               "Support schreibt…",
			"sending":              "wird gesendet…",
			"not_sent":             "nicht gesendet",
			"sent":                 "Gesendet",
			"received":             "Beim Support angekommen",
			"retry":                "Erneut senden",
			"too_long":             "Ihre Nachricht ist zu lang: höchstens {limit} Zeichen. Bitte teilen Sie sie auf.",
			"not_connected":        "Noch nicht verbunden. Bitte versuchen Sie es gleich noch einmal.",
			"file_too_large":       "Die Datei ist zu groß; erlaubt sind höchstens {limit}.",
			"file_empty":           "Die Datei ist leer.",
			"file_type":            "Dieser Dateityp wird nicht angenommen. Sie können senden: {types}.",
			"image_too_large":      "Dieses Bild kann nicht gesendet werden: Es ist zu groß (höchstens {megapixels} Megapixel). Bitte senden Sie ein kleineres Bild oder einen Screenshot.",
			"no_attachments":       "In diesem Chat können keine Dateien gesendet werden.",
			"upload_lost":          "Hochladen fehlgeschlagen: Die Verbindung wurde unterbrochen.",
			"upload_failed":        "Hochladen fehlgeschlagen. Bitte versuchen Sie es erneut.",
			"upload_rate_limited":  "Zu viele Dateien in kurzer Zeit. Bitte versuchen Sie es später erneut.",
			"storage_full":         "Die Datei wurde nicht gesendet: Der Dateispeicher des Chats ist voll. Bitte versuchen Sie es später erneut oder schreiben Sie Ihre Nachricht ohne Datei.",
			"empty":                "Die Nachricht ist leer.",
			"rate_limited":         "Sie senden Nachrichten zu schnell. Bitte warten Sie einen Moment.",
			"rejected":             "Diese Nachricht kann nicht angenommen werden.",
			"busy":                 "Noch nicht gesendet: Der Chat ist ausgelastet. Ihre Nachricht bleibt erhalten und wird automatisch erneut gesendet.",
			"unavailable":          "Der Chat ist vorübergehend nicht erreichbar; er versucht es automatisch erneut.",
			"invalid_player":       "Ihre Casino-Anmeldung konnte nicht bestätigt werden. Bitte laden Sie die Seite neu.",
			"session_expired":      "Ihre Chat-Sitzung ist abgelaufen. Bitte laden Sie die Seite neu.",
			"too_many_connections": "Zu viele Chatfenster sind geöffnet. Bitte schließen Sie einige und laden Sie die Seite neu.",
			"error":                "Etwas ist schiefgelaufen. Bitte laden Sie die Seite neu.",
		},
		"es": {
			"placeholder":          "Escriba su mensaje…",
			"message_label":        "Mensaje",
			"send":                 "Enviar",
			"attach":               "Adjuntar un archivo",
			"attach_hint":          "Adjuntar una foto o un PDF",
			"close":                "Cerrar el chat",
			"messages_label":       "Mensajes",
			"status_connecting":    "conectando…",
			"status_online":        "en línea",
			"status_reconnecting":  "reconectando…",
			"status_offline":       "sin conexión",
			"typing":               "Soporte está escribiendo…",
			"sending":              "enviando…",
			"not_sent":             "no enviado",
			"sent":                 "Enviado",
			"received":             "Recibido por soporte",
			"retry":                "Reintentar",
			"too_long":             "Su mensaje es demasiado largo: máximo {limit} caracteres. Divídalo, por favor.",
			"not_connected":        "Aún no hay conexión. Inténtelo de nuevo en un momento.",
			"file_too_large":       "El archivo es demasiado grande; el límite es {limit}.",
			"file_empty":           "El archivo está vacío.",
			"file_type":            "Este tipo de archivo no se acepta. Puede enviar: {types}.",
			"image_too_large":      "Esta imagen no se puede enviar: es demasiado grande (máximo {megapixels} megapíxeles). Envíe una imagen más pequeña o una captura de pantalla.",
			"no_attachments":       "Este chat no acepta archivos adjuntos.",
			"upload_lost":          "No se pudo subir el archivo: se perdió la conexión.",
			"upload_failed":        "No se pudo subir el archivo. Inténtelo de nuevo.",
			"upload_rate_limited":  "Se han enviado demasiados archivos en poco tiempo. Inténtelo más tarde.",
			"storage_full":         "El archivo no se envió: el almacenamiento de archivos del chat está lleno. Inténtelo más tarde o escriba su mensaje sin el archivo.",
			"empty":                "El mensaje está vacío.",
			"rate_limited":         "Está enviando mensajes demasiado rápido. Espere un momento, por favor.",
			"rejected":             "Este mensaje no se puede aceptar.",
			"busy":                 "Aún no enviado: el chat está ocupado. Su mensaje se guarda y se reenviará automáticamente.",
			"unavailable":          "El chat no está disponible temporalmente; se reintentará automáticamente.",
			"invalid_player":       "No pudimos confirmar su inicio de sesión en el casino. Recargue la página.",
			"session_expired":      "Su sesión de chat ha caducado. Recargue la página.",
			"too_many_connections": "Hay demasiadas ventanas de chat abiertas; cierre algunas y recargue la página.",
			"error":                "Algo salió mal. Recargue la página.",
		},
		// Brazilian Portuguese for "pt" and every other region; European Portuguese below.
		"pt": {
			"placeholder":          "Digite sua mensagem…",
			"message_label":        "Mensagem",
			"send":                 "Enviar",
			"attach":               "Anexar um arquivo",
			"attach_hint":          "Anexar uma foto ou um PDF",
			"close":                "Fechar o chat",
			"messages_label":       "Mensagens",
			"status_connecting":    "conectando…",
			"status_online":        "online",
			"status_reconnecting":  "reconectando…",
			"status_offline":       "offline",
			"typing":               "O suporte está digitando…",
			"sending":              "enviando…",
			"not_sent":             "não enviada",
			"sent":                 "Enviada",
			"received":             "Recebida pelo suporte",
			"retry":                "Tentar de novo",
			"too_long":             "Sua mensagem é longa demais: no máximo {limit} caracteres. Divida-a, por favor.",
			"not_connected":        "Ainda sem conexão. Tente de novo em instantes.",
			"file_too_large":       "O arquivo é grande demais; o limite é {limit}.",
			"file_empty":           "O arquivo está vazio.",
			"file_type":            "Este tipo de arquivo não é aceito. Você pode enviar: {types}.",
			"image_too_large":      "Esta imagem não pode ser enviada: é grande demais (no máximo {megapixels} megapixels). Envie uma imagem menor ou uma captura de tela.",
			"no_attachments":       "Este chat não aceita anexos.",
			"upload_lost":          "O envio falhou: a conexão caiu.",
			"upload_failed":        "O envio falhou. Tente de novo.",
			"upload_rate_limited":  "Arquivos demais enviados em pouco tempo. Tente de novo mais tarde.",
			"storage_full":         "O arquivo não foi enviado: o armazenamento de arquivos do chat está cheio. Tente de novo mais tarde ou escreva sua mensagem sem ele.",
			"empty":                "A mensagem está vazia.",
			"rate_limited":         "Você está enviando mensagens rápido demais. Aguarde um momento.",
			"rejected":             "Esta mensagem não pode ser aceita.",
			"busy":                 "Ainda não enviada: o chat está ocupado. Sua mensagem foi guardada e será reenviada automaticamente.",
			"unavailable":          "O chat está temporariamente indisponível; tentando de novo automaticamente.",
			"invalid_player":       "Não conseguimos confirmar seu login no cassino. Recarregue a página.",
			"session_expired":      "Sua sessão de chat expirou. Recarregue a página.",
			"too_many_connections": "Há janelas de chat demais abertas; feche algumas e recarregue a página.",
			"error":                "Algo deu errado. Recarregue a página.",
		},
		"pt-PT": {
			"placeholder":          "Escreva a sua mensagem…",
			"message_label":        "Mensagem",
			"send":                 "Enviar",
			"attach":               "Anexar um ficheiro",
			"attach_hint":          "Anexar uma fotografia ou um PDF",
			"close":                "Fechar o chat",
			"messages_label":       "Mensagens",
			"status_connecting":    "a ligar…",
			"status_online":        "online",
			"status_reconnecting":  "a religar…",
			"status_offline":       "offline",
			"typing":               "O apoio está a escrever…",
			"sending":              "a enviar…",
			"not_sent":             "não enviada",
			"sent":                 "Enviada",
			"received":             "Recebida pelo apoio",
			"retry":                "Tentar novamente",
			"too_long":             "A sua mensagem é demasiado longa: no máximo {limit} caracteres. Divida-a, por favor.",
			"not_connected":        "Ainda sem ligação. Tente novamente dentro de momentos.",
			"file_too_large":       "O ficheiro é demasiado grande; o limite é {limit}.",
			"file_empty":           "O ficheiro está vazio.",
			"file_type":            "Este tipo de ficheiro não é aceite. Pode enviar: {types}.",
			"image_too_large":      "Esta imagem não pode ser enviada: é demasiado grande (no máximo {megapixels} megapíxeis). Envie uma imagem mais pequena ou uma captura de ecrã.",
			"no_attachments":       "Este chat não aceita anexos.",
			"upload_lost":          "O envio falhou: a ligação perdeu-se.",
			"upload_failed":        "O envio falhou. Tente novamente.",
			"upload_rate_limited":  "Foram enviados demasiados ficheiros em pouco tempo. Tente novamente mais tarde.",
			"storage_full":         "O ficheiro não foi enviado: o armazenamento de ficheiros do chat está cheio. Tente novamente mais tarde ou escreva a sua mensagem sem ele.",
			"empty":                "A mensagem está vazia.",
			"rate_limited":         "Está a enviar mensagens depressa demais. Aguarde um momento.",
			"rejected":             "Esta mensagem não pode ser aceite.",
			"busy":                 "Ainda não enviada: o chat está ocupado. A sua mensagem foi guardada e será reenviada automaticamente.",
			"unavailable":          "O chat está temporariamente indisponível; a tentar novamente de forma automática.",
			"invalid_player":       "Não foi possível confirmar a sua sessão no casino. Recarregue a página.",
			"session_expired":      "A sua sessão de chat expirou. Recarregue a página.",
			"too_many_connections": "Há demasiadas janelas de chat abertas; feche algumas e recarregue a página.",
			"error":                "Algo correu mal. Recarregue a página.",
		},
		"it": {
			"placeholder":          "Scrivi un messaggio…",
			"message_label":        "Messaggio",
			"send":                 "Invia",
			"attach":               "Allega un file",
			"attach_hint":          "Allega una foto o un PDF",
			"close":                "Chiudi la chat",
			"messages_label":       "Messaggi",
			"status_connecting":    "connessione…",
			"status_online":        "online",
			"status_reconnecting":  "riconnessione…",
			"status_offline":       "offline",
			"typing":               "Il supporto sta scrivendo…",
			"sending":              "invio…",
			"not_sent":             "non inviato",
			"sent":                 "Inviato",
			"received":             "Ricevuto dal supporto",
			"retry":                "Riprova",
			"too_long":             "Il messaggio è troppo lungo: al massimo {limit} caratteri. Dividilo, per favore.",
			"not_connected":        "Non ancora connesso. Riprova tra un momento.",
			"file_too_large":       "Il file è troppo grande; il limite è {limit}.",
			"file_empty":           "Il file è vuoto.",
			"file_type":            "Questo tipo di file non è accettato. Puoi inviare: {types}.",
			"image_too_large":      "Questa immagine non può essere inviata: è troppo grande (al massimo {megapixels} megapixel). Invia un’immagine più piccola o uno screenshot.",
			"no_attachments":       "Questa chat non accetta allegati.",
			"upload_lost":          "Caricamento non riuscito: connessione persa.",
			"upload_failed":        "Caricamento non riuscito. Riprova.",
			"upload_rate_limited":  "Troppi file inviati in poco tempo. Riprova più tardi.",
			"storage_full":         "Il file non è stato inviato: lo spazio per i file della chat è pieno. Riprova più tardi o scrivi il messaggio senza file.",
			"empty":                "Il messaggio è vuoto.",
			"rate_limited":         "Stai inviando messaggi troppo velocemente. Attendi un momento.",
			"rejected":             "Questo messaggio non può essere accettato.",
			"busy":                 "Non ancora inviato: la chat è occupata. Il messaggio è conservato e verrà reinviato automaticamente.",
			"unavailable":          "La chat è temporaneamente non disponibile; nuovo tentativo automatico in corso.",
			"invalid_player":       "Non è stato possibile confermare il tuo accesso al casinò. Ricarica la pagina.",
			"session_expired":      "La sessione di chat è scaduta. Ricarica la pagina.",
			"too_many_connections": "Troppe finestre di chat aperte; chiudine alcune e ricarica la pagina.",
			"error":                "Qualcosa è andato storto. Ricarica la pagina.",
		},
		// French puts a no-break space before ":" and ";".
		"fr": {
			"placeholder":          "Écrivez votre message…",
			"message_label":        "Message",
			"send":                 "Envoyer",
			"attach":               "Joindre un fichier",
			"attach_hint":          "Joindre une photo ou un PDF",
			"close":                "Fermer le chat",
			"messages_label":       "Messages",
			"status_connecting":    "connexion…",
			"status_online":        "en ligne",
			"status_reconnecting":  "reconnexion…",
			"status_offline":       "hors ligne",
			"typing":               "Le support écrit…",
			"sending":              "envoi…",
			"not_sent":             "non envoyé",
			"sent":                 "Envoyé",
			"received":             "Reçu par le support",
			"retry":                "Réessayer",
			"too_long":             "Votre message est trop long\u00a0: {limit} caractères au maximum. Merci de le diviser.",
			"not_connected":        "Pas encore connecté. Réessayez dans un instant.",
			"file_too_large":       "Le fichier est trop volumineux\u00a0; la limite est de {limit}.",
			"file_empty":           "Le fichier est vide.",
			"file_type":            "Ce type de fichier n’est pas accepté. Vous pouvez envoyer\u00a0: {types}.",
			"image_too_large":      "Cette image ne peut pas être envoyée\u00a0: elle est trop grande ({megapixels}\u00a0mégapixels au maximum). Envoyez une image plus petite ou une capture d’écran.",
			"no_attachments":       "Ce chat n’accepte pas les pièces jointes.",
			"upload_lost":          "L’envoi a échoué\u00a0: la connexion a été perdue.",
			"upload_failed":        "L’envoi a échoué. Veuillez réessayer.",
			"upload_rate_limited":  "Trop de fichiers envoyés en peu de temps. Réessayez plus tard.",
			"storage_full":         "Le fichier n’a pas été envoyé\u00a0: l’espace de stockage des fichiers du chat est plein. Réessayez plus tard ou écrivez votre message sans fichier.",
			"empty":                "Le message est vide.",
			"rate_limited":         "Vous envoyez des messages trop rapidement. Veuillez patienter un instant.",
			"rejected":             "Ce message ne peut pas être accepté.",
			"busy":                 "Pas encore envoyé\u00a0: le chat est occupé. Votre message est conservé et sera renvoyé automatiquement.",
			"unavailable":          "Le chat est temporairement indisponible\u00a0; nouvelle tentative automatique.",
			"invalid_player":       "Nous n’avons pas pu confirmer votre connexion au casino. Veuillez recharger la page.",
			"session_expired":      "Votre session de chat a expiré. Veuillez recharger la page.",
			"too_many_connections": "Trop de fenêtres de chat sont ouvertes\u00a0; fermez-en quelques-unes et rechargez la page.",
			"error":                "Une erreur s’est produite. Veuillez recharger la page.",
		},
		"tr": {
			"placeholder":          "Mesajınızı yazın…",
			"message_label":        "Mesaj",
			"send":                 "Gönder",
			"attach":               "Dosya ekle",
			"attach_hint":          "Fotoğraf veya PDF ekle",
			"close":                "Sohbeti kapat",
			"messages_label":       "Mesajlar",
			"status_connecting":    "bağlanıyor…",
			"status_online":        "çevrimiçi",
			"status_reconnecting":  "yeniden bağlanıyor…",
			"status_offline":       "çevrimdışı",
			"typing":               "Destek yazıyor…",
			"sending":              "gönderiliyor…",
			"not_sent":             "gönderilmedi",
			"sent":                 "Gönderildi",
			"received":             "Destek ekibine ulaştı",
			"retry":                "Tekrar dene",
			"too_long":             "Mesajınız çok uzun: en fazla {limit} karakter olabilir. Lütfen mesajı bölün.",
			"not_connected":        "Henüz bağlantı yok. Lütfen birazdan tekrar deneyin.",
			"file_too_large":       "Dosya çok büyük; sınır {limit}.",
			"file_empty":           "Dosya boş.",
			"file_type":            "Bu dosya türü kabul edilmiyor. Gönderebileceğiniz türler: {types}.",
			"image_too_large":      "Bu görsel gönderilemiyor: çok büyük (en fazla {megapixels} megapiksel). Lütfen daha küçük bir görsel veya ekran görüntüsü gönderin.",
			"no_attachments":       "Bu sohbette dosya gönderilemez.",
			"upload_lost":          "Yükleme başarısız: bağlantı koptu.",
			"upload_failed":        "Yükleme başarısız. Lütfen tekrar deneyin.",
			"upload_rate_limited":  "Kısa sürede çok fazla dosya gönderildi. Lütfen daha sonra tekrar deneyin.",
			"storage_full":         "Dosya gönderilmedi: sohbetin dosya depolama alanı dolu. Lütfen daha sonra tekrar deneyin veya mesajınızı dosyasız yazın.",
			"empty":                "Mesaj boş.",
			"rate_limited":         "Çok hızlı mesaj gönderiyorsunuz. Lütfen biraz bekleyin.",
			"rejected":             "Bu mesaj kabul edilemiyor.",
			"busy":                 "Henüz gönderilmedi: sohbet yoğun. Mesajınız saklanıyor ve otomatik olarak yeniden gönderilecek.",
			"unavailable":          "Sohbet geçici olarak kullanılamıyor; otomatik olarak yeniden deneniyor.",
			"invalid_player":       "Casino girişiniz doğrulanamadı. Lütfen sayfayı yenileyin.",
			"session_expired":      "Sohbet oturumunuzun süresi doldu. Lütfen sayfayı yenileyin.",
			"too_many_connections": "Çok fazla sohbet penceresi açık; bazılarını kapatıp sayfayı yenileyin.",
			"error":                "Bir sorun oluştu. Lütfen sayfayı yenileyin.",
		},
	}
}

// stringKeys returns every key the page knows, sorted.
func stringKeys() []string {
	return slices.Sorted(maps.Keys(builtinStrings()[fallbackLanguage]))
}

// checkStrings validates the strings setting: language tags as keys, known string keys
// below them, no empty text, and no placeholder the page would leave unfilled.
func checkStrings(p *settings.Problems, key string, overrides map[string]map[string]string) {
	known := builtinStrings()[fallbackLanguage]
	allowed := stringPlaceholders()
	seen := map[string]string{} // lower-cased → as written
	for _, lang := range slices.Sorted(maps.Keys(overrides)) {
		langKey := settings.Key(key, lang)
		if lang == "" || !validLanguage(lang) {
			p.Add(langKey, "want a language tag such as en or pt-BR as key")
			continue
		}
		// Tags ignore case, so two spellings would be one language with two texts per key.
		if other, dup := seen[strings.ToLower(lang)]; dup {
			p.Addf(langKey, "the same language as %s; merge the two", other)
			continue
		}
		seen[strings.ToLower(lang)] = lang
		for _, k := range slices.Sorted(maps.Keys(overrides[lang])) {
			textKey := settings.Key(langKey, k)
			text := overrides[lang][k]
			if _, ok := known[k]; !ok {
				p.Addf(textKey, "unknown string key; want one of %s", strings.Join(stringKeys(), ", "))
				continue
			}
			if strings.TrimSpace(text) == "" {
				p.Add(textKey, "must not be empty (leave the key out to keep the built-in text)")
				continue
			}
			for _, ph := range placeholderPattern.FindAllString(text, -1) {
				if !slices.Contains(allowed[k], ph) {
					want := "none"
					if len(allowed[k]) > 0 {
						want = strings.Join(allowed[k], ", ")
					}
					p.Addf(textKey, "unknown placeholder %s; this text may use %s", ph, want)
				}
			}
		}
	}
}

// translations are the page's words in every language it offers, each complete: a key a
// language lacks is taken from its base language ("pt" for "pt-BR"), then from "en".
type translations struct {
	byTag map[string]pageLanguage // lower-cased tag → language
}

// pageLanguage is one language's words as the page gets them.
type pageLanguage struct {
	Tag  string            // as configured or built in, e.g. "pt-PT"
	Text map[string]string // every key
	JSON string            // Text for chat.js
}

// newTranslations merges the operator's overrides into the built-in words. fill replaces
// the placeholders only the server can fill ({types}) in every text.
func newTranslations(overrides map[string]map[string]string, fill map[string]string) (*translations, error) {
	builtin := builtinStrings()
	tags := map[string]string{} // lower-cased → as written, the built-in spelling winning
	for _, m := range []map[string]map[string]string{overrides, builtin} {
		for tag := range m {
			tags[strings.ToLower(tag)] = tag
		}
	}
	// lookup finds tag's own maps whatever their case ("pt-br" configured, "pt-BR" asked).
	lookup := func(m map[string]map[string]string, tag string) map[string]string {
		for k, v := range m {
			if strings.EqualFold(k, tag) {
				return v
			}
		}
		return nil
	}
	t := &translations{byTag: make(map[string]pageLanguage, len(tags))}
	for lower, tag := range tags {
		base, _, _ := strings.Cut(tag, "-")
		// Most specific first; at each level the operator's text beats the built-in one.
		var layers []map[string]string
		for _, level := range slices.Compact([]string{tag, base, fallbackLanguage}) {
			layers = append(layers, lookup(overrides, level), lookup(builtin, level))
		}
		text := map[string]string{}
		for key := range builtin[fallbackLanguage] {
			for _, layer := range layers {
				if s, ok := layer[key]; ok {
					text[key] = s
					break
				}
			}
			for ph, v := range fill {
				text[key] = strings.ReplaceAll(text[key], ph, v)
			}
		}
		js, err := json.Marshal(text)
		if err != nil {
			return nil, fmt.Errorf("strings of %s: %w", tag, err)
		}
		t.byTag[lower] = pageLanguage{Tag: tag, Text: text, JSON: string(js)}
	}
	return t, nil
}

// choose picks the page's language: the page's own (the lang query parameter, which the
// widget fills from data-lang), then the browser's languages in the order of its
// Accept-Language header (what navigator.languages holds), each by exact tag and then by
// its base language; English when none is offered.
func (t *translations) choose(pageLang, acceptLanguage string) pageLanguage {
	var wanted []string
	if pageLang != "" && validLanguage(pageLang) {
		wanted = append(wanted, pageLang)
	}
	wanted = append(wanted, acceptLanguages(acceptLanguage)...)
	for _, tag := range wanted {
		if l, ok := t.match(tag); ok {
			return l
		}
	}
	return t.byTag[fallbackLanguage]
}

// match finds tag itself, then its base language ("de" for "de-AT"), then another region of
// it ("pt-BR" for "pt", when only that is offered, as an operator may configure).
func (t *translations) match(tag string) (pageLanguage, bool) {
	tag = strings.ToLower(tag)
	base, _, _ := strings.Cut(tag, "-")
	if l, ok := t.byTag[tag]; ok {
		return l, true
	}
	if l, ok := t.byTag[base]; ok {
		return l, true
	}
	for _, other := range slices.Sorted(maps.Keys(t.byTag)) {
		if strings.HasPrefix(other, base+"-") {
			return t.byTag[other], true
		}
	}
	return pageLanguage{}, false
}

// acceptLanguages returns the language tags of an Accept-Language header, most wanted
// first; "*", malformed entries and q=0 are left out.
func acceptLanguages(header string) []string {
	type entry struct {
		tag string
		q   float64
	}
	var list []entry
	for i, part := range strings.Split(header, ",") {
		if i == maxAcceptLanguages {
			break
		}
		tag, params, _ := strings.Cut(part, ";")
		tag = strings.TrimSpace(tag)
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				continue
			}
			q = f
		}
		if q <= 0 || tag == "" || !validLanguage(tag) {
			continue
		}
		list = append(list, entry{tag, q})
	}
	slices.SortStableFunc(list, func(a, b entry) int { return cmp.Compare(b.q, a.q) })
	tags := make([]string, len(list))
	for i, e := range list {
		tags[i] = e.tag
	}
	return tags
}
