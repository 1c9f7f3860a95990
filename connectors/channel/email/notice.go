package email

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-imap"

	"github.com/casino-support/gateway/connectors/media"
	"github.com/casino-support/gateway/normalize"
)

// notice is what the player is told, once, about a mail the gateway could not take whole:
// the mail was over max_mail_bytes (size > 0), or files of it were left out (files).
type notice struct {
	mailID   string // the player's mail's Message-ID
	to       string
	subject  string // the player's subject
	address  normalize.Address
	language string
	size     int64
	files    []string
	limit    int64 // of a mail when size is set, else of one file
}

// noticeKeyPrefix begins the key of the record (connectors.Records) that a notice was sent:
// one record per mail.
const noticeKeyPrefix = "notice:"

// noticeTTL is how long the record of a notice is kept. A mail read again later than that
// (a mailbox rebuilt long after) still finds its notice in the Sent folder, when one is set.
const noticeTTL = 30 * 24 * time.Hour

// noticeID is the Message-ID of the notice about the mail mailID: derived from it, so that
// reading the mail again (a restart, a changed UIDVALIDITY) finds the notice already sent,
// in the store's record and in the Sent folder.
func noticeID(mailID, domain string) string {
	sum := sha256.Sum256([]byte(mailID))
	return "notice-" + hex.EncodeToString(sum[:16]) + "@" + domain
}

// tellPlayer sends the player the notice of a stored mail at most once: a notice the store's
// records or the Sent folder hold is not sent again, and a record is written before it is
// submitted, so a crash after that loses the notice rather than doubles it. A notice that
// could not go out is logged and not tried again: the agents' message says what happened.
func (c *Channel) tellPlayer(ctx context.Context, n *notice) {
	mid := noticeID(n.mailID, c.domain)
	key := noticeKeyPrefix + mid
	log := c.log.With("external_id", n.mailID, "notice", mid, "to", n.to)
	_, done, err := c.records.Record(ctx, c.name, key)
	switch {
	case err != nil:
		log.Warn("email: the player is not told of the mail's size: the store cannot say whether they were", "err", err)
		return
	case done:
		return
	}
	raw, err := c.compose(ctx, normalize.Conversation{Address: n.address}, normalize.Message{Text: n.text()},
		replyThread{to: n.to, subject: n.subject, inReplyTo: n.mailID, references: []string{n.mailID}, auto: true}, mid)
	if err != nil {
		log.Warn("email: the player is not told of the mail's size", "err", err)
		return
	}
	var sent *imapConn
	if c.cfg.IMAP.SentFolder != "" {
		var found bool
		sent, found, err = c.findSent(ctx, mid)
		switch {
		case err != nil:
			log.Warn("email: the Sent folder cannot be searched; the notice goes by the store's record alone", "err", err)
		case found:
			sent.close()
			_ = c.records.PutRecord(ctx, c.name, key, "found in "+c.cfg.IMAP.SentFolder, c.now().Add(noticeTTL))
			return
		default:
			defer sent.close()
		}
	}
	if err := c.records.PutRecord(ctx, c.name, key, c.now().UTC().Format(time.RFC3339), c.now().Add(noticeTTL)); err != nil {
		log.Warn("email: the player is not told of the mail's size: the store cannot record it", "err", err)
		return
	}
	if err := c.submit(ctx, n.to, raw); err != nil {
		log.Warn("email: the player could not be told of the mail's size", "err", err)
		return
	}
	if sent != nil {
		if err := sent.Append(c.cfg.IMAP.SentFolder, []string{imap.SeenFlag}, c.now(), literal(raw)); err != nil {
			log.Warn("email: notice sent, but not filed in the Sent folder", "err", err)
		}
	}
	log.Info("email: the player was told of the mail's size")
}

// text is the notice in the player's language, else in English.
func (n *notice) text() string {
	w := noticeWords(n.language)
	subject := n.subject
	if subject == "" {
		subject = "…"
	}
	if n.size > 0 {
		return fmt.Sprintf(w.tooLarge, subject, media.FormatBytes(n.size), media.FormatBytes(n.limit))
	}
	return fmt.Sprintf(w.filesLeftOut, subject, strings.Join(n.files, ", "), media.FormatBytes(n.limit))
}

// words are a notice's texts in one language: tooLarge takes the subject, the mail's size
// and the limit; filesLeftOut the subject, the files' names and the limit of one file.
type words struct{ tooLarge, filesLeftOut string }

// noticeLanguages are the notice in the languages of the web chat's own words; the first
// subtag of the player's language picks one ("pt-BR" → "pt"), English when none fits.
var noticeLanguages = map[string]words{
	"en": {
		"Your e-mail “%s” was not taken in: it is %s, and an e-mail to this address can be at most %s. Please send it again in smaller parts, for example one attachment per e-mail.",
		"Your e-mail “%s” reached us, but these files were left out: %s. A file can be at most %s. Please send them again, smaller or one per e-mail.",
	},
	"de": {
		"Ihre E-Mail „%s“ wurde nicht angenommen: Sie ist %s groß, eine E-Mail an diese Adresse darf höchstens %s groß sein. Bitte senden Sie sie in kleineren Teilen erneut, zum Beispiel einen Anhang pro E-Mail.",
		"Ihre E-Mail „%s“ ist angekommen, aber diese Dateien wurden nicht übernommen: %s. Eine Datei darf höchstens %s groß sein. Bitte senden Sie sie erneut, kleiner oder einzeln.",
	},
	"es": {
		"Su correo «%s» no se ha recibido: ocupa %s y un correo a esta dirección puede ocupar como máximo %s. Envíelo de nuevo en partes más pequeñas, por ejemplo un adjunto por correo.",
		"Su correo «%s» nos ha llegado, pero estos archivos no se han recibido: %s. Un archivo puede ocupar como máximo %s. Envíelos de nuevo, más pequeños o uno por correo.",
	},
	"fr": {
		"Votre e-mail «\u00a0%s\u00a0» n’a pas été reçu\u00a0: il fait %s, et un e-mail à cette adresse ne peut dépasser %s. Merci de le renvoyer en plusieurs parties, par exemple une pièce jointe par e-mail.",
		"Votre e-mail «\u00a0%s\u00a0» nous est parvenu, mais ces fichiers n’ont pas été reçus\u00a0: %s. Un fichier ne peut dépasser %s. Merci de les renvoyer, plus petits ou un par e-mail.",
	},
	"it": {
		"La sua e-mail «%s» non è stata accettata: pesa %s e un’e-mail a questo indirizzo può pesare al massimo %s. La invii di nuovo in parti più piccole, per esempio un allegato per e-mail.",
		"La sua e-mail «%s» è arrivata, ma questi file non sono stati accettati: %s. Un file può pesare al massimo %s. Li invii di nuovo, più piccoli o uno per e-mail.",
	},
	"pt": {
		"O seu e-mail “%s” não foi recebido: tem %s, e um e-mail para este endereço pode ter no máximo %s. Envie-o de novo em partes menores, por exemplo um anexo por e-mail.",
		"O seu e-mail “%s” chegou, mas estes arquivos ficaram de fora: %s. Um arquivo pode ter no máximo %s. Envie-os de novo, menores ou um por e-mail.",
	},
	"ro": {
		"E-mailul dumneavoastră „%s” nu a fost primit: are %s, iar un e-mail către această adresă poate avea cel mult %s. Vă rugăm să-l trimiteți din nou în părți mai mici, de exemplu câte un atașament pe e-mail.",
		"E-mailul dumneavoastră „%s” a ajuns, dar aceste fișiere nu au fost primite: %s. Un fișier poate avea cel mult %s. Vă rugăm să le trimiteți din nou, mai mici sau câte unul pe e-mail.",
	},
	"ru": {
		"Ваше письмо «%s» не принято: его размер %s, а письмо на этот адрес может быть не больше %s. Пожалуйста, отправьте его снова по частям, например по одному вложению в письме.",
		"Ваше письмо «%s» получено, но эти файлы не приняты: %s. Файл может быть не больше %s. Пожалуйста, отправьте их снова, меньшего размера или по одному в письме.",
	},
	"sv": {
		"Ditt e-postmeddelande ”%s” togs inte emot: det är %s, och ett meddelande till den här adressen får vara högst %s. Skicka det igen i mindre delar, till exempel en bilaga per meddelande.",
		"Ditt e-postmeddelande ”%s” har kommit fram, men de här filerna togs inte emot: %s. En fil får vara högst %s. Skicka dem igen, mindre eller en per meddelande.",
	},
	"tr": {
		"“%s” konulu e-postanız alınamadı: boyutu %s, bu adrese gönderilen bir e-posta en fazla %s olabilir. Lütfen daha küçük parçalar hâlinde, örneğin her e-postada bir ek olacak şekilde yeniden gönderin.",
		"“%s” konulu e-postanız ulaştı, ancak şu dosyalar alınamadı: %s. Bir dosya en fazla %s olabilir. Lütfen onları daha küçük ya da her e-postada bir tane olacak şekilde yeniden gönderin.",
	},
}

// noticeWords returns the words of the language tag lang, English when there are none.
func noticeWords(lang string) words {
	primary, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(lang)), "-")
	if w, ok := noticeLanguages[primary]; ok {
		return w
	}
	return noticeLanguages["en"]
}
