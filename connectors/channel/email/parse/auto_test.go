package parse

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAuto classifies mails by their header alone; the corpus has the whole mails (Postfix
// and Exim bounces, Exchange and Gmail out-of-office replies, a read receipt, a newsletter).
func TestAuto(t *testing.T) {
	tests := []struct {
		name, header string
		want         Auto
	}{
		{"a person", "Subject: Withdrawal", AutoNone},
		{"auto-submitted no", "Auto-Submitted: no", AutoNone},
		{"auto-submitted auto-replied", "Auto-Submitted: auto-replied", AutoReply},
		{"auto-submitted auto-generated with a comment", "Auto-Submitted: Auto-Generated (vacation)", AutoReply},
		{"auto-submitted with a parameter", "Auto-Submitted: auto-notified; owner-email=a@b", AutoReply},
		{"x-autoreply", "X-Autoreply: yes", AutoReply},
		{"x-autorespond", "X-Autorespond: Out of office", AutoReply},
		{"exchange suppress all", "X-Auto-Response-Suppress: All", AutoReply},
		{"exchange suppress oof", "X-Auto-Response-Suppress: DR, OOF, AutoReply", AutoReply},
		{"exchange suppress receipts only", "X-Auto-Response-Suppress: DR, RN, NRN", AutoNone},
		{"precedence auto_reply", "Precedence: auto_reply", AutoReply},
		{"precedence bulk", "Precedence: bulk", AutoBulk},
		{"precedence junk", "Precedence: junk", AutoBulk},
		{"precedence list", "Precedence: list", AutoBulk},
		{"list-id", "List-Id: <news.example.com>", AutoBulk},
		{"list-unsubscribe", "List-Unsubscribe: <mailto:u@example.com>", AutoBulk},
		{"reply wins over bulk", "Precedence: bulk\r\nAuto-Submitted: auto-replied", AutoReply},
		{"vacation subject en", "Subject: Out of Office: [#1] Your withdrawal", AutoReply},
		{"vacation subject exchange", "Subject: Automatic reply: [#1] Your withdrawal", AutoReply},
		{"vacation subject ro", "Subject: =?UTF-8?Q?R=C4=83spuns_automat:_retragere?=", AutoReply},
		{"vacation subject ru", "Subject: =?UTF-8?B?0JDQstGC0L7QvtGC0LLQtdGCOiDQktGL0LLQvtC0?=", AutoReply},
		{"vacation subject sv", "Subject: Automatiskt svar: uttag", AutoReply},
		{"vacation subject de", "Subject: Abwesenheitsnotiz: Auszahlung", AutoReply},
		{"vacation subject es", "Subject: =?UTF-8?Q?Respuesta_autom=C3=A1tica:_retiro?=", AutoReply},
		{"vacation subject pt", "Subject: =?UTF-8?Q?Resposta_autom=C3=A1tica:_saque?=", AutoReply},
		{"vacation subject it", "Subject: Risposta automatica: prelievo", AutoReply},
		{"vacation subject fr", "Subject: =?UTF-8?Q?R=C3=A9ponse_automatique_:_retrait?=", AutoReply},
		{"vacation subject tr", "Subject: =?UTF-8?Q?Otomatik_yan=C4=B1t:_=C3=A7ekim?=", AutoReply},
		{"out of office later in the subject is a person's", "Subject: My account is out of office hours?", AutoNone},
		{"exim bounce", "From: Mail Delivery System <Mailer-Daemon@mx.example>\r\nX-Failed-Recipients: a@example.com", AutoBounce},
		{"mailer-daemon alone", "From: MAILER-DAEMON@mx.example", AutoBounce},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := "From: someone@example.com\r\nMessage-ID: <1@example.com>\r\n" + tt.header + "\r\n\r\nHello\r\n"
			if strings.Contains(tt.header, "From:") {
				raw = tt.header + "\r\nMessage-ID: <1@example.com>\r\n\r\nHello\r\n"
			}
			m, err := Parse(context.Background(), strings.NewReader(raw), Options{})
			require.NoError(t, err)
			require.Equal(t, tt.want, m.Auto)
			require.Equal(t, tt.want == AutoBounce, m.Bounce != nil)
		})
	}
}

func TestBounceWithoutReport(t *testing.T) {
	raw := rawMail("From: MAILER-DAEMON@mx.example.org\nSubject: failure notice\nContent-Type: multipart/mixed; boundary=b",
		"--b\nContent-Type: text/plain\n\nSorry, no mailbox here by that name.\n--b\nContent-Type: message/rfc822\n\n"+
			"Message-ID: <gw.m01@casino.example>\nSubject: x\n\nhello\n--b--")
	m, err := Parse(context.Background(), strings.NewReader(raw), Options{Store: newStore(1<<20, 0).Put})
	require.NoError(t, err)
	require.Equal(t, AutoBounce, m.Auto)
	require.Equal(t, &Bounce{OriginalMessageID: "gw.m01@casino.example"}, m.Bounce)
}

func TestDeliveryStatus(t *testing.T) {
	status := "Reporting-MTA: dns; mx.example\r\n\r\n" +
		"Final-Recipient: rfc822; delivered@example.com\r\nAction: delivered\r\nStatus: 2.0.0\r\n\r\n" +
		"Original-Recipient: rfc822;later@example.com\r\nAction: delayed\r\nStatus: 4.4.1 (timeout)\r\n\r\n" +
		"Final-Recipient: RFC822; gone@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n" +
		"Diagnostic-Code: smtp; 550 5.1.1 user\r\n  unknown\r\n"
	recipients := parseDeliveryStatus([]byte(status))
	require.Equal(t, []dsnRecipient{
		{recipient: "delivered@example.com", action: "delivered", status: "2.0.0"},
		{recipient: "later@example.com", action: "delayed", status: "4.4.1"},
		{recipient: "gone@example.com", action: "failed", status: "5.1.1", diagnostic: "550 5.1.1 user unknown"},
	}, recipients)
	require.Equal(t, recipients[2:], pickRecipients(recipients), "the failures are what the report is about")
	require.Equal(t, recipients[1:2], pickRecipients(recipients[:2]))
	require.Equal(t, recipients[:1], pickRecipients(recipients[:1]))
}
