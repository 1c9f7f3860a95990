package parse

import (
	"strings"

	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/normalize/htmltext"
)

// finish sets the mail's text from the inline parts the walk collected: the plain text the
// player's client wrote, else the HTML rendered as text; and the player's new words apart
// from the quoted history and the signature.
func (w *walker) finish(b body) {
	m := w.msg
	plain := joinParts(b.plain)
	html := strings.TrimSpace(strings.Join(b.html, "\n"))
	full := plain
	if strings.TrimSpace(full) == "" && html != "" {
		full = htmltext.Text(html)
	}
	m.FullText = normalize.CleanText(strings.TrimSpace(full))
	m.Text = newWords(m.FullText, forwardSubject(m.Subject))
	if html != "" {
		m.HTML = sanitizeHTML(html)
	}
}

// joinParts joins the inline text parts of a mail (Apple Mail splits the text around an
// inline image), each trimmed of the blank lines around it.
func joinParts(parts []string) string {
	var keep []string
	for _, p := range parts {
		if p = strings.Trim(p, "\n"); strings.TrimSpace(p) != "" {
			keep = append(keep, strings.TrimRight(p, " \t\n"))
		}
	}
	return strings.Join(keep, "\n\n")
}
