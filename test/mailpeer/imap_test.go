package mailpeer

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Text finds the plain part of the shapes the gateway's replies and players' clients send.
func TestMailText(t *testing.T) {
	msg := NewMessage("player@example.test", "support@example.test", "Überweisung – где деньги?", "Zeile 1\nZeile 2 mit € und einer sehr langen Zeile, die quoted-printable umbrechen muss, weil sie über sechsundsiebzig Zeichen lang ist.")
	m, err := ParseMail(msg.Bytes())
	require.NoError(t, err)
	require.Equal(t, msg.Subject, m.Subject())
	require.Equal(t, msg.MessageID, m.MessageID())
	text, err := m.Text()
	require.NoError(t, err)
	require.Equal(t, msg.Text+"\n", text)

	alternative := strings.ReplaceAll(`From: support@example.test
To: player@example.test
Subject: =?utf-8?b?UmU6IMOcYmVyd2Vpc3VuZw==?=
Message-ID: <reply-1@example.test>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="b1"

--b1
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: base64

RGllIMOcYmVyd2Vpc3VuZyBpc3QgdW50ZXJ3ZWdzLg==
--b1
Content-Type: text/html; charset=utf-8

<p>Die Überweisung ist unterwegs.</p>
--b1--
`, "\n", "\r\n")
	m, err = ParseMail([]byte(alternative))
	require.NoError(t, err)
	require.Equal(t, "Re: Überweisung", m.Subject())
	text, err = m.Text()
	require.NoError(t, err)
	require.Equal(t, "Die Überweisung ist unterwegs.", text)
}
