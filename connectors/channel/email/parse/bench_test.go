package parse

import (
	"bytes"
	"context"
	"testing"
)

// typicalMail is what players' mail clients send: a reply with text and HTML alternatives,
// the quoted earlier message and a signature, in quoted-printable UTF-8.
const typicalMail = "From: Jana Schmidt <jana@example.test>\r\n" +
	"To: support@casino.example\r\n" +
	"Subject: Re: Ihre Auszahlung\r\n" +
	"Message-ID: <20261206.4711@example.test>\r\n" +
	"In-Reply-To: <ticket-1001@casino.example>\r\n" +
	"References: <ticket-1001@casino.example>\r\n" +
	"Date: Sun, 06 Dec 2026 10:00:00 +0100\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/alternative; boundary=\"b1\"\r\n" +
	"\r\n" +
	"--b1\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"Content-Transfer-Encoding: quoted-printable\r\n" +
	"\r\n" +
	"Hallo,\r\n\r\nmeine Auszahlung von 250 EUR h=C3=A4ngt seit gestern. K=C3=B6nnen Sie nachsehen?\r\n\r\n" +
	"Viele Gr=C3=BC=C3=9Fe\r\nJana\r\n\r\n-- \r\nJana Schmidt\r\n\r\n" +
	"Am 05.12.2026 schrieb Support:\r\n> Wir haben Ihre Anfrage erhalten.\r\n> Ihr Support-Team\r\n" +
	"--b1\r\n" +
	"Content-Type: text/html; charset=utf-8\r\n" +
	"Content-Transfer-Encoding: quoted-printable\r\n" +
	"\r\n" +
	"<html><body><p>Hallo,</p><p>meine Auszahlung von 250 EUR h=C3=A4ngt seit gestern. K=C3=B6nnen Sie na=\r\nchsehen?</p>" +
	"<p>Viele Gr=C3=BC=C3=9Fe<br>Jana</p><blockquote>Wir haben Ihre Anfrage erhalten.</blockquote></body></html>\r\n" +
	"--b1--\r\n"

// BenchmarkParseTypicalMail is the per-message cost of the email channel's conversion.
func BenchmarkParseTypicalMail(b *testing.B) {
	raw := []byte(typicalMail)
	store := newStore(1<<20, 1<<30)
	ctx := context.Background()
	for b.Loop() {
		if _, err := Parse(ctx, bytes.NewReader(raw), Options{MaxBytes: 1 << 20, Store: store.Put}); err != nil {
			b.Fatal(err)
		}
	}
}
