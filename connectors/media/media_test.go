package media

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
)

// Starts of files, enough for the sniffer.
var (
	png  = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	jpeg = []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00")
	gif  = []byte("GIF89a\x01\x00\x01\x00")
	webp = []byte("RIFF\x24\x00\x00\x00WEBPVP8 ")
	pdf  = []byte("%PDF-1.7\n")
	zip  = []byte("PK\x03\x04\x14\x00")
	gz   = []byte("\x1f\x8b\x08\x00")
	exe  = []byte("MZ\x90\x00\x03\x00\x00\x00")
	text = []byte("hello, world\n")
	html = []byte("<!DOCTYPE html><html><script>alert(1)</script>")
)

func TestTypes(t *testing.T) {
	for _, tt := range []struct {
		mediaType         string
		known             bool
		name              string
		inlineImage, safe bool
	}{
		{"image/png", true, "PNG image", true, true},
		{"image/jpeg", true, "JPEG image", true, true},
		{"image/gif", true, "GIF image", true, true},
		{"image/webp", true, "WebP image", true, true},
		{"image/bmp", true, "BMP image", false, false},
		{"application/pdf", true, "PDF document", false, true},
		{"text/plain", true, "text file", false, false},
		{"text/html", true, "web page (HTML)", false, false},
		{"application/zip", true, "ZIP archive", false, false},
		{"application/x-gzip", true, "gzip archive", false, false},
		{"application/octet-stream", true, "unknown or program file", false, false},
		{"image/svg+xml", false, "image/svg+xml", false, false}, // can carry script
		{"IMAGE/PNG", false, "IMAGE/PNG", false, false},         // bare, lower-case types only
		{"image/png; x=y", false, "image/png; x=y", false, false},
		{"", false, "", false, false},
	} {
		t.Run(tt.mediaType, func(t *testing.T) {
			typ, ok := Lookup(tt.mediaType)
			require.Equal(t, tt.known, ok, "Lookup")
			if ok {
				require.Equal(t, tt.mediaType, typ.MediaType)
			}
			require.Equal(t, tt.name, Name(tt.mediaType), "Name")
			require.Equal(t, tt.inlineImage, IsInlineImage(tt.mediaType), "IsInlineImage")
			require.Equal(t, tt.safe, SafeInline(tt.mediaType), "SafeInline")
		})
	}
}

// What is served inline must be checked to be what it claims, and every type has a name and
// an extension to fix a file name with.
func TestTableInvariants(t *testing.T) {
	seen := map[string]bool{}
	for _, typ := range table {
		require.False(t, seen[typ.MediaType], "%s listed twice", typ.MediaType)
		seen[typ.MediaType] = true
		require.NotEmpty(t, typ.Name, typ.MediaType)
		require.NotEmpty(t, typ.Exts, typ.MediaType)
		if typ.SafeInline || typ.InlineImage {
			require.Equal(t, typ.MediaType, typ.Sniffed, "%s is shown inline, so it must be recognisable by its content", typ.MediaType)
		}
	}
	require.Equal(t, []string{"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"}, Known(func(t Type) bool { return t.SafeInline }))
	require.Equal(t, []string{"image/png", "image/jpeg", "image/gif", "image/webp"}, Known(func(t Type) bool { return t.InlineImage }))
}

func TestSniffAndCheck(t *testing.T) {
	for _, tt := range []struct {
		name      string
		head      []byte
		declared  string
		sniffed   string
		fitsClaim bool
	}{
		{"png", png, "image/png", "image/png", true},
		{"jpeg", jpeg, "image/jpeg", "image/jpeg", true},
		{"gif", gif, "image/gif", "image/gif", true},
		{"webp", webp, "image/webp", "image/webp", true},
		{"pdf", pdf, "application/pdf", "application/pdf", true},
		{"zip", zip, "application/zip", "application/zip", true},
		{"gzip under its registered type", gz, "application/gzip", "application/x-gzip", true},
		{"gzip under its old type", gz, "application/x-gzip", "application/x-gzip", true},
		{"text without its charset parameter", text, "text/plain", "text/plain", true},
		{"a program claiming to be a PDF", exe, "application/pdf", "application/octet-stream", false},
		{"HTML claiming to be a PNG", html, "image/png", "text/html", false},
		{"a PNG claiming to be a JPEG", png, "image/jpeg", "image/png", false},
		// A .docx is a ZIP inside: its declared type cannot be checked, so it is taken.
		{"a type without a signature is taken as declared", zip, "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "application/zip", true},
		{"text has no signature to check", exe, "text/plain", "application/octet-stream", true},
		{"empty", nil, "image/png", "text/plain", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.sniffed, Sniff(tt.head), "Sniff")
			sniffed, ok := Check(tt.declared, tt.head)
			require.Equal(t, tt.sniffed, sniffed)
			require.Equal(t, tt.fitsClaim, ok, "Check")
		})
	}
	// The sniffer reads 512 bytes at most: what follows does not change the answer.
	require.Equal(t, "image/png", Sniff(append(bytes.Clone(png), make([]byte, 4096)...)))
}

func TestFileName(t *testing.T) {
	long := strings.Repeat("é", 150) + ".pdf"
	for _, tt := range []struct{ in, mediaType, want string }{
		{"passport.pdf", "application/pdf", "passport.pdf"},
		{"Passport.PDF", "application/pdf", "Passport.PDF"},
		{"photo.jpeg", "image/jpeg", "photo.jpeg"},
		{"photo.jpg", "image/jpeg", "photo.jpg"},
		{"photo.pdf", "image/png", "photo.png"},
		{"scan", "application/pdf", "scan.pdf"},
		{"setup.exe", "application/octet-stream", "setup.bin"},
		{"../../etc/passwd", "application/pdf", "passwd.pdf"},
		{`C:\docs\id.png`, "image/png", "id.png"},
		{"invoice\u202efdp.exe", "application/pdf", "invoicefdp.pdf"},
		{"", "image/png", "attachment.png"},
		{"..", "image/png", "attachment.png"},
		{"a\"b\x00.pdf", "application/pdf", "ab.pdf"},
		{"bad\xffutf8.png", "image/png", "badutf8.png"},
		{"  spaced.png  ", "image/png", "spaced.png"},
		{long, "application/pdf", strings.Repeat("é", 96) + ".pdf"}, // the last 100 characters
		{"notes.weird", "application/x-unknown-to-everyone", "notes.weird"},
	} {
		require.Equal(t, tt.want, FileName(tt.in, tt.mediaType), "%q", tt.in)
	}
}

func TestHidden(t *testing.T) {
	for _, r := range []rune{'\x00', '\n', '\u202e', '\u200f', '\u2066'} {
		require.True(t, Hidden(r), "%U", r)
	}
	for _, r := range []rune{'a', ' ', 'é', '.', '"'} {
		require.False(t, Hidden(r), "%U", r)
	}
}

func TestKind(t *testing.T) {
	att := func(mediaType string) normalize.Attachment { return normalize.Attachment{MediaType: mediaType} }
	for _, tt := range []struct {
		name string
		atts []normalize.Attachment
		want normalize.MessageKind
	}{
		{"none", nil, normalize.KindText},
		{"an image", []normalize.Attachment{att("image/png")}, normalize.KindImage},
		{"images only", []normalize.Attachment{att("image/jpeg"), att("image/webp"), att("image/gif")}, normalize.KindImage},
		{"an image and a PDF", []normalize.Attachment{att("image/png"), att("application/pdf")}, normalize.KindDocument},
		{"an image not shown inline", []normalize.Attachment{att("image/svg+xml")}, normalize.KindDocument},
		{"a BMP", []normalize.Attachment{att("image/bmp")}, normalize.KindDocument},
	} {
		t.Run(tt.name, func(t *testing.T) { require.Equal(t, tt.want, Kind(tt.atts)) })
	}
}
