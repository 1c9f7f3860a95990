package parse

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
)

// rawMail builds a mail from a header and a body, with CRLF line ends.
func rawMail(header, body string) string {
	return strings.ReplaceAll(header+"\n\n"+body, "\n", "\r\n")
}

// nested is a mail of depth multiparts inside each other, text at every level.
func nested(depth int) string {
	var b strings.Builder
	b.WriteString("From: a@example.com\nContent-Type: multipart/mixed; boundary=b0\n\n")
	for i := range depth {
		fmt.Fprintf(&b, "--b%d\nContent-Type: text/plain\n\nlevel %d\n--b%d\nContent-Type: multipart/mixed; boundary=b%d\n\n", i, i, i, i+1)
	}
	for i := depth; i >= 0; i-- {
		fmt.Fprintf(&b, "--b%d--\n", i)
	}
	return strings.ReplaceAll(b.String(), "\n", "\r\n")
}

// manyParts is a mail of n attachments.
func manyParts(n int) string {
	var b strings.Builder
	b.WriteString("From: a@example.com\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nhello\n")
	for i := range n {
		fmt.Fprintf(&b, "--b\nContent-Type: application/pdf; name=f%d.pdf\n\n%%PDF-1.4 %d\n", i, i)
	}
	b.WriteString("--b--\n")
	return strings.ReplaceAll(b.String(), "\n", "\r\n")
}

const twoFiles = `From: a@example.com
Content-Type: multipart/mixed; boundary=b

--b
Content-Type: text/plain

see files
--b
Content-Type: application/pdf; name=one.pdf

%PDF-1.4 one
--b
Content-Type: application/pdf; name=two.pdf

%PDF-1.4 two
--b--`

func TestParseErrors(t *testing.T) {
	boom := errors.New("disk on fire")
	tests := []struct {
		name   string
		r      io.Reader
		opts   func(*memStore) Options
		target error
	}{
		{"over MaxBytes", strings.NewReader(rawMail("From: a@example.com", strings.Repeat("x", 100))),
			func(s *memStore) Options { return Options{MaxBytes: 50, Store: s.Put} }, connectors.ErrTooLarge},
		{"over DefaultMaxBytes when MaxBytes is 0", io.LimitReader(infinite{}, DefaultMaxBytes+1),
			func(s *memStore) Options { return Options{Store: s.Put} }, connectors.ErrTooLarge},
		{"no header at all", strings.NewReader(""), func(s *memStore) Options { return Options{Store: s.Put} }, ErrMalformed},
		{"a header line without a colon", strings.NewReader("this is not mail\r\n\r\nbody"), func(s *memStore) Options { return Options{Store: s.Put} }, ErrMalformed},
		{"a header starting with a space", strings.NewReader(" From: a@example.com\r\n\r\nbody"), func(s *memStore) Options { return Options{Store: s.Put} }, ErrMalformed},
		{"the reader fails", iotest.TimeoutReader(strings.NewReader("From: a@example.com\r\n\r\nbody")),
			func(s *memStore) Options { return Options{Store: s.Put} }, iotest.ErrTimeout},
		{"the store fails", strings.NewReader(strings.ReplaceAll(twoFiles, "\n", "\r\n")),
			func(s *memStore) Options { s.fail = boom; return Options{Store: s.Put} }, boom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := newStore(1<<20, 0)
			m, err := Parse(context.Background(), tt.r, tt.opts(store))
			require.ErrorIs(t, err, tt.target)
			require.Nil(t, m)
			require.Empty(t, store.files, "nothing is stored for a mail that fails")
		})
	}
}

// infinite reads as endless header bytes.
type infinite struct{}

func (infinite) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

func TestParseCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Parse(ctx, strings.NewReader(rawMail("From: a@example.com", "hi")), Options{})
	require.ErrorIs(t, err, context.Canceled)
}

func TestParseLimits(t *testing.T) {
	tests := []struct {
		name    string
		raw     string
		store   *memStore
		text    string
		files   []string
		skipped []string
	}{
		{"exactly at MaxBytes", rawMail("From: a@example.com", "hi"), newStore(1<<20, 0), "hi", nil, nil},
		{"the quota is reached", strings.ReplaceAll(twoFiles, "\n", "\r\n"), newStore(1<<20, 14), "see files",
			[]string{"one.pdf"}, []string{"two.pdf: not kept, the gateway's attachment storage is full"}},
		{"a file over the store's limit", strings.ReplaceAll(twoFiles, "\n", "\r\n"), newStore(10, 0), "see files",
			nil, []string{"one.pdf: not kept, the file is over the size limit for attachments", "two.pdf: not kept, the file is over the size limit for attachments"}},
		{"no store", strings.ReplaceAll(twoFiles, "\n", "\r\n"), nil, "see files",
			nil, []string{"one.pdf: not kept, no attachment storage", "two.pdf: not kept, no attachment storage"}},
		{"nesting past the limit", nested(maxDepth + 10), newStore(1<<20, 0),
			levels(maxDepth), nil,
			[]string{fmt.Sprintf("parts nested deeper than %d levels: not read", maxDepth)}},
		{"parts past the limit", manyParts(maxParts + 50), newStore(1<<20, 0), "hello", nil,
			[]string{fmt.Sprintf("the rest of the mail: not read, the mail has more than %d parts", maxParts)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := Options{MaxBytes: int64(len(tt.raw))}
			if tt.store != nil {
				opts.Store = tt.store.Put
			}
			m, err := Parse(context.Background(), strings.NewReader(tt.raw), opts)
			require.NoError(t, err)
			require.Equal(t, tt.text, m.Text)
			require.Equal(t, tt.skipped, m.Skipped)
			if tt.files != nil {
				var names []string
				for _, a := range m.Attachments {
					names = append(names, a.Name)
				}
				require.Equal(t, tt.files, names)
			}
		})
	}
}

// levels is the text of nested(n) up to the depth the walk reads.
func levels(n int) string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("level %d", i))
	}
	return strings.Join(out, "\n\n")
}

func TestParseShapes(t *testing.T) {
	tests := []struct {
		name  string
		raw   string
		check func(t *testing.T, m *Message)
	}{
		{"multipart without a boundary is text", rawMail("From: a@example.com\nContent-Type: multipart/mixed", "just text"),
			func(t *testing.T, m *Message) { require.Equal(t, "just text", m.Text) }},
		{"unknown transfer encoding passes the bytes", rawMail("From: a@example.com\nContent-Transfer-Encoding: x-uuencode", "plain words"),
			func(t *testing.T, m *Message) { require.Equal(t, "plain words", m.Text) }},
		{"html charset from its meta", rawMail("From: a@example.com\nContent-Type: text/html",
			"<meta charset=\"windows-1251\"><p>\xcf\xf0\xe8\xe2\xe5\xf2</p>"),
			func(t *testing.T, m *Message) { require.Equal(t, "Привет", m.Text) }},
		{"base64 with indented lines", rawMail("From: a@example.com\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64",
			"  QnVu\n  xIMgeml1YQ=="),
			func(t *testing.T, m *Message) { require.Equal(t, "Bună ziua", m.Text) }},
		{"text, inline image and text (Apple Mail)", rawMail("From: a@example.com\nContent-Type: multipart/mixed; boundary=b",
			"--b\nContent-Type: text/plain\n\nfirst\n--b\nContent-Type: text/plain\n\n\n\nsecond\n--b--"),
			func(t *testing.T, m *Message) { require.Equal(t, "first\n\nsecond", m.Text) }},
		{"pgp signature is no file", rawMail("From: a@example.com\nContent-Type: multipart/signed; boundary=s; protocol=\"application/pgp-signature\"",
			"--s\nContent-Type: text/plain\n\nsigned words\n--s\nContent-Type: application/pgp-signature; name=signature.asc\n\n-----BEGIN PGP SIGNATURE-----\n--s--"),
			func(t *testing.T, m *Message) {
				require.Equal(t, "signed words", m.Text)
				require.Empty(t, m.Attachments)
				require.Empty(t, m.Skipped)
			}},
		{"digest parts are mails", rawMail("From: a@example.com\nContent-Type: multipart/digest; boundary=d",
			"--d\n\nSubject: first of the digest\n\nhello\n--d--"),
			func(t *testing.T, m *Message) {
				require.Len(t, m.Attachments, 1)
				require.Equal(t, "first of the digest.eml", m.Attachments[0].Name)
				require.Equal(t, "message/rfc822", m.Attachments[0].MediaType)
			}},
		{"inline image of an HTML mail keeps its cid", rawMail("From: a@example.com\nContent-Type: multipart/related; boundary=r",
			"--r\nContent-Type: text/html\n\n<p>see <img src=\"cid:logo@x\" alt=\"logo\"></p>\n--r\nContent-Type: image/gif\nContent-ID: <logo@x>\nContent-Transfer-Encoding: base64\n\nR0lGODlhAQABAAAAACw=\n--r--"),
			func(t *testing.T, m *Message) {
				require.Equal(t, `<p>see <img src="cid:logo@x" alt="logo"></p>`, m.HTML)
				require.Len(t, m.Attachments, 1)
				require.Equal(t, "image.gif", m.Attachments[0].Name)
			}},
		{"empty plain alternative falls back to the html", rawMail("From: a@example.com\nContent-Type: multipart/alternative; boundary=a",
			"--a\nContent-Type: text/plain\n\n \n--a\nContent-Type: text/html\n\n<p>from <b>html</b></p>\n--a--"),
			func(t *testing.T, m *Message) { require.Equal(t, "from html", m.Text) }},
		{"no Date is the zero time", rawMail("From: a@example.com", "x"),
			func(t *testing.T, m *Message) { require.True(t, m.Date.IsZero()) }},
		{"sender when there is no From", rawMail("Sender: Ana <ana@example.ro>", "x"),
			func(t *testing.T, m *Message) { require.Equal(t, Address{"Ana", "ana@example.ro"}, m.From) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := newStore(1<<20, 0)
			m, err := Parse(context.Background(), strings.NewReader(tt.raw), Options{Store: store.Put})
			require.NoError(t, err)
			tt.check(t, m)
		})
	}
}

// TestParseConcurrent parses the corpus from many goroutines at once: the channel parses a
// batch of mails in parallel, and the parser keeps no state between calls (run with -race).
func TestParseConcurrent(t *testing.T) {
	files, err := filepath.Glob("testdata/*.eml")
	require.NoError(t, err)
	store := newStore(1<<20, 0)
	var wg sync.WaitGroup
	errs := make(chan error, len(files)*4)
	for range 4 {
		for _, file := range files {
			wg.Go(func() {
				raw, err := os.ReadFile(file)
				if err == nil {
					_, err = Parse(context.Background(), bytes.NewReader(raw), Options{Store: store.Put})
				}
				if err != nil {
					errs <- fmt.Errorf("%s: %w", file, err)
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
