package email_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors/channel/email"
	"github.com/casino-support/gateway/router/store/blobs"
	"github.com/casino-support/gateway/test/conformance"
	"github.com/casino-support/gateway/test/mailpeer"
)

// withAttachment is m with a file of size bytes attached.
func withAttachment(m *mailpeer.Message, name string, size int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s>\r\nMIME-Version: 1.0\r\n",
		m.From, m.To[0], m.Subject, m.Date.Format(time.RFC1123Z), m.MessageID)
	b.WriteString("Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
	b.WriteString(m.Text + "\r\n--b1\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n")
	fmt.Fprintf(&b, "Content-Disposition: attachment; filename=\"%s\"\r\n\r\n", name)
	enc := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("%PDF-1.4 statement "), size/19+1)[:size])
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n--b1--\r\n")
	return b.Bytes()
}

// A mail over max_mail_bytes, and one whose file the blob store refused, reach the agents
// with a note, and the player gets one notice each, in the player's language when the mail
// names it: not for an automatic reply, and not again when the mails are read again, whether
// the store still knows the notices (a changed UIDVALIDITY) or only the Sent folder does.
// /metrics counts the mails cut, the files left out and the automatic reply dropped.
func TestOversizedMailTellsThePlayerOnce(t *testing.T) {
	e := newFolderEnv(t)
	sent := e.peers.TempFolder(t, e.peers.Support, "sent")
	const mailLimit, fileLimit = 64 << 10, 16 << 10
	player := playerAddress(e.peers, email.NewToken())

	big := mailpeer.NewMessage(player, e.peers.Support.Addr, "Kontoauszüge", strings.Repeat("Seite für Seite. ", 6000))
	big.Header["Content-Language"] = "de-DE"
	e.putRaw(t, big.Bytes())
	files := mailpeer.NewMessage(player, e.peers.Support.Addr, "My statement", "Here is my bank statement.")
	e.putRaw(t, withAttachment(files, "statement.pdf", 20<<10))
	ooo := mailpeer.NewMessage(player, e.peers.Support.Addr, "Out of office", strings.Repeat("I am away. ", 10000))
	ooo.Header["Auto-Submitted"] = "auto-replied"
	e.putRaw(t, ooo.Bytes())
	small := e.put(t, "A small question")

	reg := prometheus.NewRegistry()
	run := func() (*conformance.RecordingSink, func()) {
		return e.runWith(t, func(cfg *email.Config, deps *email.Deps) {
			cfg.MaxMailBytes, cfg.IMAP.SentFolder = mailLimit, sent
			cfg.SMTP.CAFile = e.peers.CAFile
			store, err := blobs.New(t.TempDir(), fileLimit)
			require.NoError(t, err)
			deps.Blobs, deps.MaxAttachmentBytes, deps.Metrics = store, fileLimit, reg
		})
	}
	sink, stop := run()
	waitIDs(t, sink, big.MessageID, files.MessageID, small)
	msgs := sink.Messages()
	require.Contains(t, msgs[0].Text, "over the limit of 65536", "the agents see why the mail is not there")
	require.Equal(t, "de-DE", msgs[0].Author.Language)
	require.Contains(t, msgs[1].Text, "statement.pdf", "the agents see which file was left out")
	require.Empty(t, msgs[1].Attachments)

	notices := func(mailID string) []mailpeer.Mail {
		mails, err := e.peers.Messages(e.peers.Player, "INBOX")
		require.NoError(t, err)
		var got []mailpeer.Mail
		for _, m := range mails {
			if m.MessageID() == email.NoticeID(mailID, e.peers.Domain) {
				got = append(got, m)
			}
		}
		return got
	}
	n := e.peers.WaitFor(t, e.peers.Player, "INBOX", mailpeer.WithMessageID(email.NoticeID(big.MessageID, e.peers.Domain)))
	text, err := n.Text()
	require.NoError(t, err)
	require.Contains(t, text, "wurde nicht angenommen", "in the language the player's mail named")
	require.Contains(t, text, "64 KB")
	require.Equal(t, "<"+big.MessageID+">", strings.TrimSpace(n.Header.Get("In-Reply-To")))
	require.Equal(t, "auto-replied", n.Header.Get("Auto-Submitted"))
	require.Contains(t, n.Subject(), "Kontoauszüge [#"+string(msgs[0].Address)+"]", "the player's answer threads")
	n = e.peers.WaitFor(t, e.peers.Player, "INBOX", mailpeer.WithMessageID(email.NoticeID(files.MessageID, e.peers.Domain)))
	text, err = n.Text()
	require.NoError(t, err)
	require.Contains(t, text, "these files were left out: statement.pdf", "English when the mail names no language")
	require.Contains(t, text, "16 KB")

	require.Equal(t, map[string]float64{"mail_cut": 1, "attachment_left_out": 1, "mail_refused": 0},
		counters(t, reg, "gateway_email_oversized_total"))
	require.Equal(t, map[string]float64{"auto_reply": 1, "bulk": 0, "own_mail": 0, "bounce": 0},
		counters(t, reg, "gateway_email_dropped_total"), "every reason shows, at 0 until counted")

	for _, id := range []string{big.MessageID, files.MessageID} {
		recs, err := e.cursors.ListRecords(t.Context(), "mail", "notice:"+email.NoticeID(id, e.peers.Domain), "", 2)
		require.NoError(t, err)
		require.Len(t, recs, 1, "the notice of %s is recorded", id)
		require.WithinDuration(t, time.Now().Add(30*24*time.Hour), recs[0].Expires, time.Hour,
			"the record of a notice expires after 30 days, for retention to delete")
	}

	again := func(name string) {
		sink, stop = run()
		waitIDs(t, sink, big.MessageID, files.MessageID, small)
		time.Sleep(2 * time.Second) // a notice sent again would reach the player's mailbox about now
		for _, id := range []string{big.MessageID, files.MessageID} {
			require.Equal(t, 1, len(notices(id)), "%s: one notice of %s", name, id)
		}
		require.Empty(t, notices(ooo.MessageID), "%s: an automatic reply is never answered", name)
		require.Empty(t, notices(small), "%s: a mail taken in whole needs no notice", name)
	}
	stop()
	e.forgetFlags(t)
	e.cursors.forget("mail/imap:" + e.folder)
	again("read again, the store remembers the notices")

	stop()
	e.forgetFlags(t)
	e.cursors = &memCursors{}
	again("read again by a store that lost its records, the Sent folder has the notices")
}

// counters returns the values of the counter name of channel "mail" in reg, by their other
// label's value.
func counters(t *testing.T, reg *prometheus.Registry, name string) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	got := map[string]float64{}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			var channel, other string
			for _, l := range m.GetLabel() {
				if l.GetName() == "channel" {
					channel = l.GetValue()
				} else {
					other = l.GetValue()
				}
			}
			if channel == "mail" {
				got[other] = m.GetCounter().GetValue()
			}
		}
	}
	return got
}
