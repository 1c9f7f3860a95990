package parse

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"github.com/casino-support/gateway/connectors"
)

// FuzzParse feeds the entry point arbitrary mail: it must return a message or an error, never
// panic, and every attachment it returns must be one the store kept, as the store kept it.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob("testdata/*.eml")
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Add([]byte("Subject: x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"))
	f.Add([]byte("Content-Type: text/plain; charset=koi8-r; format=flowed; delsp=yes\r\n\r\n> > a \r\n>b\r\n-- \r\nsig"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		store := newStore(4<<10, 64<<10)
		m, err := Parse(context.Background(), bytes.NewReader(raw), Options{MaxBytes: 1 << 20, Store: store.Put})
		if (m == nil) == (err == nil) {
			t.Fatalf("Parse() = %v, %v: want exactly one of a message and an error", m, err)
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, connectors.ErrTooLarge) {
				t.Fatalf("Parse() error = %v: want ErrMalformed or ErrTooLarge for content alone", err)
			}
			return
		}
		for _, a := range m.Attachments {
			content, ok := store.content(a.BlobRef)
			if !ok {
				t.Fatalf("attachment %q: %s is not in the store", a.Name, a.BlobRef)
			}
			sum := sha256.Sum256(content)
			if int64(len(content)) != a.Size || hex.EncodeToString(sum[:]) != a.SHA256 {
				t.Fatalf("attachment %q: size %d sha256 %s, the store has %d bytes", a.Name, a.Size, a.SHA256, len(content))
			}
			if a.Name == "" || !utf8.ValidString(a.Name) {
				t.Fatalf("attachment name %q", a.Name)
			}
		}
		for field, s := range map[string]string{"Subject": m.Subject, "Text": m.Text, "FullText": m.FullText, "HTML": m.HTML, "From": m.From.Name + m.From.Email} {
			if !utf8.ValidString(s) {
				t.Fatalf("%s is not valid UTF-8: %q", field, s)
			}
		}
		if (m.Auto == AutoBounce) != (m.Bounce != nil) {
			t.Fatalf("Auto = %q with Bounce = %v", m.Auto, m.Bounce)
		}
		if len(m.Text) > len(m.FullText)+len(m.FullText)/2+16 {
			t.Fatalf("Text (%d bytes) grew well past FullText (%d bytes)", len(m.Text), len(m.FullText))
		}
	})
}
