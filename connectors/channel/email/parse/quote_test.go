package parse

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestNewWords checks the history and signature markers of the clients and languages players
// write in, one reply each; the golden corpus has the whole mails.
func TestNewWords(t *testing.T) {
	tests := []struct {
		name      string
		full      string
		forwarded bool
		want      string
	}{
		{"plain", "Hello,\nmy withdrawal is late.", false, "Hello,\nmy withdrawal is late."},
		{"gmail en wrapped", "Thanks!\n\nOn Mon, Mar 3, 2025 at 10:00 AM Casino Support <support@casino.example>\nwrote:\n\n> Hello\n> Ana", false, "Thanks!"},
		{"gmail ro", "Mulțumesc!\n\nPe lun., 3 mar. 2025 la 10:00, Casino Support <support@casino.example> a scris:\n\n> Bună ziua", false, "Mulțumesc!"},
		{"gmail ru no verb", "Спасибо!\n\nпн, 3 мар. 2025 г. в 10:00, Casino Support <support@casino.example>:\n\n> Здравствуйте", false, "Спасибо!"},
		{"thunderbird ru", "Спасибо!\n\n03.03.2025 10:00, Casino Support пишет:\n> Здравствуйте", false, "Спасибо!"},
		{"mail.ru", "Спасибо!\n\n\nПонедельник, 3 марта 2025, 10:00 +03:00 от Casino Support <support@casino.example>:\n\n> Здравствуйте", false, "Спасибо!"},
		{"gmail sv", "Tack!\n\nDen mån 3 mars 2025 kl 10:00 skrev Casino Support <support@casino.example>:\n\n> Hej", false, "Tack!"},
		{"gmail de", "Danke!\n\nAm Mo., 3. März 2025 um 10:00 Uhr schrieb Casino Support <\nsupport@casino.example>:\n\n> Hallo", false, "Danke!"},
		{"thunderbird de", "Danke!\n\nAm 03.03.25 um 10:00 schrieb Casino Support:\n> Hallo", false, "Danke!"},
		{"gmail es", "¡Gracias!\n\nEl lun, 3 mar 2025 a las 10:00, Casino Support (<support@casino.example>) escribió:\n\n> Hola", false, "¡Gracias!"},
		{"gmail pt", "Obrigado!\n\nEm seg., 3 de mar. de 2025 às 10:00, Casino Support <support@casino.example> escreveu:\n\n> Olá", false, "Obrigado!"},
		{"gmail it", "Grazie!\n\nIl giorno lun 3 mar 2025 alle ore 10:00 Casino Support <support@casino.example> ha scritto:\n\n> Ciao", false, "Grazie!"},
		{"gmail fr", "Merci !\n\nLe lun. 3 mars 2025 à 10:00, Casino Support <support@casino.example> a écrit :\n\n> Bonjour", false, "Merci !"},
		{"gmail tr", "Teşekkürler!\n\nCasino Support <support@casino.example>, 3 Mar 2025 Pzt, 10:00 tarihinde şunu yazdı:\n\n> Merhaba", false, "Teşekkürler!"},
		{"apple mail", "Thanks\n\nSent from my iPhone\n\n> On 3 Mar 2025, at 10:00, Casino Support <support@casino.example> wrote:\n> \n> Hello", false, "Thanks"},
		{"outlook ios without quotes", "Thanks\n\nOn Mon, Mar 3, 2025 at 10:00 AM, Casino Support <support@casino.example> wrote:\nHello Ana", false, "Thanks"},
		{"outlook original message", "Done.\n\n-----Original Message-----\nFrom: Casino Support <support@casino.example>\nSent: Monday, March 3, 2025 10:00 AM", false, "Done."},
		{"outlook de separator", "Erledigt.\n\n-----Ursprüngliche Nachricht-----\nVon: Casino Support", false, "Erledigt."},
		{"outlook ru separator", "Готово.\n\n-----Исходное сообщение-----\nОт: Casino Support", false, "Готово."},
		{"outlook tr separator", "Tamam.\n\n-----Özgün İleti-----\nKimden: Casino Support", false, "Tamam."},
		{"outlook block en", "Done.\n\n________________________________\nFrom: Casino Support <support@casino.example>\nSent: Monday, March 3, 2025 10:00 AM\nTo: Ana <ana@example.ro>\nSubject: Withdrawal", false, "Done."},
		{"outlook block ro", "Gata.\n\nDe la: Casino Support <support@casino.example>\nTrimis: luni, 3 martie 2025 10:00\nCătre: Ana\nSubiect: Retragere", false, "Gata."},
		{"outlook block ru", "Готово.\n\nОт: Casino Support <support@casino.example>\nОтправлено: 3 марта 2025 г. 10:00\nКому: Ана\nТема: Вывод", false, "Готово."},
		{"outlook block sv", "Klart.\n\nFrån: Casino Support <support@casino.example>\nSkickat: den 3 mars 2025 10:00\nTill: Ana\nÄmne: Uttag", false, "Klart."},
		{"outlook block es", "Listo.\n\nDe: Casino Support <support@casino.example>\nEnviado el: lunes, 3 de marzo de 2025 10:00\nPara: Ana\nAsunto: Retiro", false, "Listo."},
		{"outlook block fr", "Fait.\n\nDe : Casino Support <support@casino.example>\nEnvoyé : lundi 3 mars 2025 10:00\nÀ : Ana\nObjet : Retrait", false, "Fait."},
		{"outlook block it", "Fatto.\n\nDa: Casino Support <support@casino.example>\nInviato: lunedì 3 marzo 2025 10:00\nA: Ana\nOggetto: Prelievo", false, "Fatto."},
		{"outlook block tr", "Tamam.\n\nKimden: Casino Support <support@casino.example>\nGönderildi: 3 Mart 2025 Pazartesi 10:00\nKime: Ana\nKonu: Çekim", false, "Tamam."},
		{"outlook block pt", "Pronto.\n\nDe: Casino Support <support@casino.example>\nEnviado: segunda-feira, 3 de março de 2025 10:00\nPara: Ana\nAssunto: Saque", false, "Pronto."},
		{"gmx de", "Danke.\n\nGesendet: Montag, 03. März 2025 um 10:00 Uhr\nVon: \"Casino Support\" <support@casino.example>\nAn: ana@gmx.de\nBetreff: Auszahlung\n\nHallo", false, "Danke."},
		{"outlook forward keeps the block", "See below.\n\nFrom: Bank <noreply@bank.example>\nSent: Monday, March 3, 2025 10:00 AM\nTo: Ana\nSubject: Transfer", true, "See below.\n\nFrom: Bank <noreply@bank.example>\nSent: Monday, March 3, 2025 10:00 AM\nTo: Ana\nSubject: Transfer"},
		{"gmail forward kept", "Look at this.\n\n---------- Forwarded message ---------\nFrom: Bank <noreply@bank.example>\nDate: Mon, Mar 3, 2025\n\nYour transfer failed.", false, "Look at this.\n\n---------- Forwarded message ---------\nFrom: Bank <noreply@bank.example>\nDate: Mon, Mar 3, 2025\n\nYour transfer failed."},
		{"forward only", "---------- Mesaj redirecționat ---------\nDe la: Bank\n\nText", false, "---------- Mesaj redirecționat ---------\nDe la: Bank\n\nText"},
		{"forward inside quoted history goes", "Thanks\n\nOn Mon, Mar 3, 2025 at 10:00 AM Casino Support <support@casino.example> wrote:\n> Hello\n---------- Forwarded message ---------\nold", false, "Thanks"},
		{"bottom posting", "On Mon, Mar 3, 2025 at 10:00 AM Casino Support <support@casino.example> wrote:\n> What is your player ID?\n\nIt is 12345.\n\n-- \nAna", false, "It is 12345."},
		{"inline answers", "On 03/03/2025 10:00, Casino Support wrote:\n> Your player ID?\n12345\n> Your country?\nSweden\n> Thanks\n\n-- \nAna", false, "12345\n> Your country?\nSweden"},
		{"quotes without attribution", "> Your player ID?\n\n12345", false, "12345"},
		{"player's own wrote", "On 3 March I wrote:\nI want my money back.", false, "On 3 March I wrote:\nI want my money back."},
		{"signature", "Please call me.\n\n-- \nAna Popescu\n+40 700 000 000", false, "Please call me."},
		{"bare dashes far from the end stay", "Step one\n--\n" + strings.Repeat("line\n", 13) + "end", false, "Step one\n--\n" + strings.Repeat("line\n", 13) + "end"},
		{"mobile ro", "Vă rog.\n\nTrimis de pe iPhone-ul meu", false, "Vă rog."},
		{"mobile ru", "Пожалуйста.\n\nОтправлено с iPhone", false, "Пожалуйста."},
		{"mobile sv", "Snälla.\n\nSkickat från min iPhone", false, "Snälla."},
		{"mobile de", "Bitte.\n\nVon meinem iPhone gesendet", false, "Bitte."},
		{"mobile es", "Por favor.\n\nEnviado desde mi iPhone", false, "Por favor."},
		{"mobile pt", "Por favor.\n\nEnviado do meu iPhone", false, "Por favor."},
		{"mobile it", "Per favore.\n\nInviato da iPhone", false, "Per favore."},
		{"mobile fr", "S'il vous plaît.\n\nEnvoyé de mon iPhone", false, "S'il vous plaît."},
		{"mobile tr", "Lütfen.\n\niPhone'umdan gönderildi", false, "Lütfen."},
		{"outlook mobile", "Please.\n\nGet Outlook for Android<https://aka.ms/AAb9ysg>", false, "Please."},
		{"samsung", "Please.\n\n\nSent from my Galaxy", false, "Please."},
		{"empty reply", "On Mon, Mar 3, 2025 at 10:00 AM Casino Support <support@casino.example> wrote:\n> Hello", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, newWords(tt.full, tt.forwarded))
		})
	}
}

func TestForwardSubject(t *testing.T) {
	for subject, want := range map[string]bool{
		"Fwd: Transfer": true, "FW: Transfer": true, "WG: Überweisung": true, "TR: Virement": true,
		"RV: Retiro": true, "ENC: Saque": true, "VS: Uttag": true, "İLT: Çekim": true, "[#123] Fwd: x": true,
		"Re: Transfer": false, "Forward my money": false, "Transfer": false,
	} {
		require.Equal(t, want, forwardSubject(subject), subject)
	}
}

func TestUnflow(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		delsp bool
		want  string
	}{
		{"soft breaks joined", "one two \nthree\nfour", false, "one two three\nfour"},
		{"delsp removes the space", "Donau-\nDampf schiff \nfahrt", true, "Donau-\nDampf schifffahrt"},
		{"quotes by depth", "> a \n> b\n>> c \n>> d", false, "> a b\n>> c d"},
		{"space stuffing", "  indented\n >not a quote", false, " indented\n>not a quote"},
		{"signature delimiter is hard", "text\n-- \nsig", false, "text\n-- \nsig"},
		{"empty quoted line", "> a\n> \n> b", false, "> a\n>\n> b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, unflow(tt.in, tt.delsp))
		})
	}
}
