package htmltext

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

func TestText(t *testing.T) {
	tests := []struct {
		name, html, want string
	}{
		{"plain", "hello", "hello"},
		{"entities", "fish &amp; chips &lt;3 &euro;5&nbsp;now", "fish & chips <3 €5\u00a0now"},
		{"paragraphs", "<p>Hello Max,</p><p>your <strong>withdrawal</strong> is approved.</p>", "Hello Max,\n\nyour withdrawal is approved."},
		{"line breaks", "Best,<br>Anna<br/>Support", "Best,\nAnna\nSupport"},
		{"blank line from two breaks", "one<br><br>two", "one\n\ntwo"},
		{"divs are lines", "<div>Hi</div><div>See you</div>", "Hi\nSee you"},
		{"source whitespace collapses", "<p>\n  a   lot\tof\n space </p>", "a lot of space"},
		{"list", "<p>Send:</p><ul><li>passport</li><li>utility bill</li></ul><p>Thanks</p>", "Send:\n\n- passport\n- utility bill\n\nThanks"},
		{"ordered list", "<ol><li>sign in</li><li>open <b>Cashier</b></li></ol>", "1. sign in\n2. open Cashier"},
		{"ordered list start", `<ol start="3"><li>c</li></ol>`, "3. c"},
		{"nested list", "<ul><li>a<ul><li>b</li></ul></li></ul>", "- a\n  - b"},
		{"link", `See <a href="https://casino.example/kyc">the KYC page</a>.`, "See the KYC page (https://casino.example/kyc)."},
		{"link that is its url", `<a href="https://casino.example">https://casino.example</a>`, "https://casino.example"},
		{"mail link", `<a href="mailto:vip@casino.example">vip@casino.example</a>`, "vip@casino.example"},
		{"link without text", `<a href="https://casino.example/x"></a>`, "https://casino.example/x"},
		{"script link dropped", `<a href="javascript:alert(1)">click</a>`, "click"},
		{"relative link dropped", `<a href="/help">help</a>`, "help"},
		{"image alt", `<img src="x.png" alt="logo"> Casino`, "logo Casino"},
		{"hidden parts", "<html><head><title>t</title><style>p{}</style></head><body><script>x()</script><p>shown</p><!-- c --></body></html>", "shown"},
		{"table", "<table><tr><th>Game</th><th>Bet</th></tr><tr><td>Slots</td><td>5</td></tr></table>", "Game Bet\nSlots 5"},
		{"pre keeps spacing", "<pre>a  b\n  c</pre>", "a  b\n  c"},
		{"headings", "<h1>Title</h1>text", "Title\n\ntext"},
		{"blockquote", "<p>Reply</p><blockquote>earlier mail</blockquote>", "Reply\n\n> earlier mail"},
		{"quoted paragraphs", "<p>Yes.</p><blockquote><p>Can I?</p><p>[gateway-message-id: m1]</p></blockquote>",
			"Yes.\n\n> Can I?\n>\n> [gateway-message-id: m1]"},
		{"nested quotes", "<blockquote>a<blockquote>b</blockquote></blockquote>", "> a\n>\n> > b"},
		{"deeper than the parser takes", strings.Repeat("<blockquote>", 600) + "deep <b>text</b>" + strings.Repeat("</blockquote>", 600) +
			"<script>hidden()</script>", "deep text"},
		{"broken markup", "<p>unclosed <b>bold<div>next", "unclosed bold\n\nnext"}, // a div closes the paragraph
		{"empty", "", ""},
		{"only markup", "<p></p><div> </div>", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, Text(tc.html))
		})
	}
}

// FuzzText: any input renders without panicking, as valid UTF-8 when the input is, with no
// markup-looking output from a tag-only input and no runs of blank lines.
func FuzzText(f *testing.F) {
	for _, s := range []string{"<p>a</p>", "<ul><li>x<ol><li>y", "<a href='https://x'>y</a>", "<pre>\n\n\n</pre>", "&#0;&#xD800;", "<br><br><br>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		out := Text(src)
		if utf8.ValidString(src) && !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8 from valid input %q: %q", src, out)
		}
		if out != strings.TrimSpace(out) {
			t.Fatalf("untrimmed output %q", out)
		}
		lower := strings.ToLower(src)
		if !strings.Contains(lower, "<pre") && !strings.Contains(lower, "<br") && !strings.Contains(lower, "<textarea") &&
			!strings.Contains(lower, "<plaintext") && !strings.Contains(lower, "<xmp") && !strings.Contains(lower, "<listing") &&
			strings.Contains(out, "\n\n\n") {
			t.Fatalf("more than one blank line from %q: %q", src, out)
		}
		// Markup never comes through: any "<" in the output was text in the input (&lt; or a
		// lone "<" the tokenizer keeps as text), never a tag the renderer passed on.
		if tagOnly(src) && out != "" {
			t.Fatalf("text %q from tags only: %q", out, src)
		}
	})
}

// tagOnly reports whether src is only well-formed tags with plain names and no attributes,
// so nothing in it is text.
func tagOnly(src string) bool {
	if src == "" {
		return false
	}
	for len(src) > 0 {
		if src[0] != '<' {
			return false
		}
		end := strings.IndexByte(src, '>')
		if end < 0 {
			return false
		}
		name := strings.TrimPrefix(src[1:end], "/")
		if name == "" {
			return false
		}
		for _, r := range name {
			if !(r >= 'a' && r <= 'z') {
				return false
			}
		}
		switch name {
		case "plaintext", "xmp", "textarea", "title", "noembed", "noframes", "listing":
			return false // their content is text by definition, tags included
		}
		src = src[end+1:]
	}
	return true
}
