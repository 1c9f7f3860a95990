package normalize

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

func TestCleanText(t *testing.T) {
	for _, tt := range []struct{ name, in, want string }{
		{"plain text is kept", "Hello, I cannot withdraw 50 €", "Hello, I cannot withdraw 50 €"},
		{"tabs and newlines are kept", "a\tb\nc\n\n", "a\tb\nc\n\n"},
		{"CR LF is a newline", "one\r\ntwo\r\n", "one\ntwo\n"},
		{"a lone CR is a newline", "one\rtwo", "one\ntwo"},
		{"CR CR LF is two line breaks", "a\r\r\nb", "a\n\nb"},
		{"other line breaks become newlines", "a\u0085b\u2028c\u2029d", "a\nb\nc\nd"},
		{"NUL bytes go", "pass\x00word", "password"},
		{"an ESC sequence loses its ESC", "red \x1b[31mALERT\x1b[0m", "red [31mALERT[0m"},
		{"C0 controls go", "\x01\x07\x08\x0b\x0c\x1f!", "!"},
		{"DEL goes", "a\x7fb", "ab"},
		{"C1 controls go", "a\u0080\u008d\u009bb\u009f", "ab"},
		{"a right-to-left override cannot disguise a file name", "invoice\u202efdp.exe", "invoicefdp.exe"},
		{"embeddings and pop go", "\u202aa\u202bb\u202c\u202dc", "abc"},
		{"isolates go", "\u2066x\u2067y\u2068z\u2069", "xyz"},
		{"deprecated format characters go", "a\u206ab\u206f", "ab"},
		{"bidi marks stay in text", "שלום\u200f!", "שלום\u200f!"},
		{"right-to-left text stays", "مرحبا، أريد سحب أموالي", "مرحبا، أريد سحب أموالي"},
		{"emoji with joiners stay", "👩\u200d💻 ok", "👩\u200d💻 ok"},
		{"invalid UTF-8 becomes one replacement character a run", "a\xffb\xfe\xfdc", "a\ufffdb\ufffdc"},
		{"an encoded lone surrogate is invalid", "x\xed\xa0\x80y", "x\ufffdy"},
		{"a truncated sequence at the end", "abc\xe2\x82", "abc\ufffd"},
		{"empty", "", ""},
		{"only controls", "\x00\x1b\u202e", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, CleanText(tt.in))
		})
	}
}

func TestCleanName(t *testing.T) {
	for _, tt := range []struct{ name, in, want string }{
		{"plain", "Max Mustermann", "Max Mustermann"},
		{"line breaks and tabs are spaces", "Max\nMustermann\tJr", "Max Mustermann Jr"},
		{"trimmed", "  Max \r\n", "Max"},
		{"an override in a file name", "photo\u202egnp.exe", "photognp.exe"},
		{"bidi marks go from names", "report\u200f.pdf\u200e", "report.pdf"},
		{"Arabic letter mark", "a\u061cb", "ab"},
		{"controls", "Ma\x00x\x1b", "Max"},
		{"invalid UTF-8", "M\xffx", "M\ufffdx"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, CleanName(tt.in))
		})
	}
}

// Clean text comes back as the same string, without a copy: every message passes here.
func TestCleanTextKeepsCleanTextAsIs(t *testing.T) {
	s := strings.Repeat("Guten Tag, mein Konto ist gesperrt. 🙁\n", 100)
	require.Zero(t, testing.AllocsPerRun(100, func() { _ = CleanText(s) }))
}

// FuzzCleanText: the result is valid UTF-8 with no control character but tab and newline and
// no bidi embedding, override or isolate; cleaning twice changes nothing; clean input comes
// back unchanged; and no printable character is lost. CleanName adds: one line, trimmed.
func FuzzCleanText(f *testing.F) {
	for _, s := range []string{"hello", "a\r\nb\rc", "x\u202ey", "\x00\x1b[2J", "\xed\xa0\x80", "\u0085\u2028\u2029",
		"\u2066\u2069\u200f", "\t \n", "👩\u200d💻", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := CleanText(in)
		if !utf8.ValidString(out) {
			t.Fatalf("CleanText(%q) = %q: invalid UTF-8", in, out)
		}
		for _, r := range out {
			if r != '\t' && r != '\n' && (hidden(r) || lineBreak(r) || r == '\r') {
				t.Fatalf("CleanText(%q) = %q: kept %U", in, out, r)
			}
		}
		if again := CleanText(out); again != out {
			t.Fatalf("CleanText is not idempotent: %q → %q → %q", in, out, again)
		}
		if clean(in) && out != in {
			t.Fatalf("CleanText(%q) = %q: changed clean text", in, out)
		}
		// Every character that is neither dropped nor a line break survives, in order.
		var kept []rune
		for _, r := range strings.ToValidUTF8(in, "\uFFFD") {
			if r == '\t' || (!hidden(r) && !lineBreak(r)) {
				kept = append(kept, r)
			}
		}
		var got []rune
		for _, r := range out {
			if r != '\n' {
				got = append(got, r)
			}
		}
		if string(kept) != string(got) {
			t.Fatalf("CleanText(%q) = %q: lost or added characters", in, out)
		}
		name := CleanName(in)
		if strings.ContainsAny(name, "\n\t") || name != strings.TrimSpace(name) || !utf8.ValidString(name) {
			t.Fatalf("CleanName(%q) = %q: not one trimmed line", in, name)
		}
		if strings.ContainsFunc(name, bidiMark) {
			t.Fatalf("CleanName(%q) = %q: kept a bidi mark", in, name)
		}
	})
}
