// Package htmltext renders HTML message bodies (e-mail, a ticket system's rich-text replies)
// as the plain text chat apps show: paragraphs and line breaks kept, list items as "- "
// lines, links as "text (url)", and scripts, styles, comments and markup dropped.
package htmltext

import (
	"strconv"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Text returns the plain text of src, an HTML document or fragment. It never fails and never
// returns markup: the HTML5 parser repairs any input the way browsers do, and what it refuses
// (elements nested over 512 deep, as in long mail quote chains) is reduced to its text by the
// tokenizer instead.
func Text(src string) string {
	doc, err := html.Parse(strings.NewReader(src))
	if err != nil {
		return tokenText(src)
	}
	var w writer
	w.node(doc)
	return w.String()
}

// tokenText is the text of src without structure: text tokens outside skipped elements, a
// line break at each element that starts a block.
func tokenText(src string) string {
	var w writer
	z := html.NewTokenizer(strings.NewReader(src))
	skip := 0
	for {
		switch z.Next() {
		case html.ErrorToken:
			return w.String()
		case html.TextToken:
			if skip == 0 {
				w.text(string(z.Text()))
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			if skipped[a] && a != atom.Head {
				skip++
			}
			if paragraphs[a] || lines[a] || a == atom.Br {
				w.br(1)
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			if a := atom.Lookup(name); skipped[a] && a != atom.Head && skip > 0 {
				skip--
			}
		}
	}
}

// skipped elements carry no text a reader should see.
var skipped = map[atom.Atom]bool{
	atom.Head: true, atom.Script: true, atom.Style: true, atom.Template: true, atom.Noscript: true,
	atom.Iframe: true, atom.Object: true, atom.Svg: true, atom.Math: true, atom.Select: true,
}

// paragraphs are set apart by a blank line; lines (other blocks) start on a line of their own.
var (
	paragraphs = map[atom.Atom]bool{
		atom.P: true, atom.H1: true, atom.H2: true, atom.H3: true, atom.H4: true, atom.H5: true, atom.H6: true,
		atom.Blockquote: true, atom.Ul: true, atom.Ol: true, atom.Table: true, atom.Pre: true, atom.Dl: true,
		atom.Figure: true, atom.Hr: true,
	}
	lines = map[atom.Atom]bool{
		atom.Div: true, atom.Section: true, atom.Article: true, atom.Header: true, atom.Footer: true,
		atom.Main: true, atom.Nav: true, atom.Aside: true, atom.Address: true, atom.Form: true,
		atom.Fieldset: true, atom.Tr: true, atom.Dt: true, atom.Dd: true, atom.Li: true, atom.Caption: true,
		atom.Figcaption: true, atom.Center: true, atom.Details: true, atom.Summary: true,
	}
)

// writer accumulates text, keeping at most one blank line between blocks and no whitespace
// at the start of a line.
type writer struct {
	b       strings.Builder
	pending int   // newlines owed before the next text
	pre     int   // depth of <pre>: whitespace is kept inside
	lists   []int // per open list: 0 for <ul>, else the next number of an <ol>
}

func (w *writer) String() string {
	lines := strings.Split(w.b.String(), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t\u00a0")
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// br owes n line ends (1: a new line, 2: a blank line) before the next text.
func (w *writer) br(n int) {
	if w.b.Len() > 0 {
		w.pending = max(w.pending, n)
	}
}

func (w *writer) text(s string) {
	if w.pre == 0 {
		s = collapse(s, w.atLineStart())
	}
	if s == "" {
		return
	}
	if w.pending > 0 {
		w.b.WriteString(strings.Repeat("\n", w.pending))
		w.pending = 0
		if w.pre == 0 {
			s = strings.TrimLeft(s, " ")
			if s == "" {
				return
			}
		}
	}
	w.b.WriteString(s)
}

// raw writes s as it is, after the line ends owed: a list marker's indent must survive.
func (w *writer) raw(s string) {
	if w.pending > 0 {
		w.b.WriteString(strings.Repeat("\n", w.pending))
		w.pending = 0
	}
	w.b.WriteString(s)
}

// atLineStart reports whether the next text begins a line, where leading spaces are dropped.
func (w *writer) atLineStart() bool {
	out := w.b.String()
	return w.pending > 0 || out == "" || strings.HasSuffix(out, "\n") || strings.HasSuffix(out, " ")
}

// collapse turns each run of whitespace into one space, as browsers do, dropping a leading
// one where a line starts or a space precedes.
func collapse(s string, trimLeft bool) string {
	var b strings.Builder
	space := trimLeft
	for _, r := range s {
		if r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' {
			if !space {
				b.WriteByte(' ')
			}
			space = true
			continue
		}
		b.WriteRune(r)
		space = false
	}
	return b.String()
}

func (w *writer) node(n *html.Node) {
	switch n.Type {
	case html.TextNode:
		w.text(n.Data)
		return
	case html.ElementNode:
		w.element(n)
		return
	case html.CommentNode, html.DoctypeNode:
		return
	}
	w.children(n)
}

func (w *writer) children(n *html.Node) {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		w.node(c)
	}
}

func (w *writer) element(n *html.Node) {
	a := n.DataAtom
	switch {
	case skipped[a]:
		return
	case a == atom.Br:
		w.forceLine()
		return
	case a == atom.Img:
		if alt := strings.TrimSpace(attr(n, "alt")); alt != "" {
			w.text(alt)
		}
		return
	case a == atom.Blockquote:
		w.quote(n)
		return
	case a == atom.Li && strings.TrimSpace(textOf(n)) == "":
		return // an empty item would be a lone bullet
	}
	gap := 0
	if paragraphs[a] && len(w.lists) == 0 {
		gap = 2
	} else if paragraphs[a] || lines[a] {
		gap = 1
	}
	w.br(gap)
	switch a {
	case atom.Li:
		w.raw(w.bullet())
	case atom.Td, atom.Th:
		if n.PrevSibling != nil {
			w.text(" ")
		}
	case atom.Ul, atom.Ol:
		start := 0
		if a == atom.Ol {
			start = 1
			if v, err := strconv.Atoi(attr(n, "start")); err == nil {
				start = v
			}
		}
		w.lists = append(w.lists, start)
		defer func() { w.lists = w.lists[:len(w.lists)-1] }()
	case atom.Pre:
		w.pre++
		defer func() { w.pre-- }()
	}
	w.children(n)
	if a == atom.A {
		w.link(n)
	}
	w.br(gap)
}

// quote renders a blockquote as mail clients do in plain text: each line prefixed with "> ",
// so a reader (and the gateway, looking for its own markers) can tell quoted text apart.
func (w *writer) quote(n *html.Node) {
	var inner writer
	inner.children(n)
	q := inner.String()
	if q == "" {
		return
	}
	ls := strings.Split(q, "\n")
	for i, l := range ls {
		ls[i] = strings.TrimRight("> "+l, " ")
	}
	w.br(2)
	w.raw(strings.Join(ls, "\n"))
	w.br(2)
}

// forceLine ends the line even when nothing follows on it yet, as <br><br> does in a mail.
func (w *writer) forceLine() {
	if w.b.Len() > 0 {
		w.raw("\n")
	}
}

// bullet is the marker of the next item of the innermost list, indented by nesting.
func (w *writer) bullet() string {
	if len(w.lists) == 0 {
		return "- "
	}
	indent := strings.Repeat("  ", len(w.lists)-1)
	i := len(w.lists) - 1
	if w.lists[i] == 0 {
		return indent + "- "
	}
	n := w.lists[i]
	w.lists[i]++
	return indent + strconv.Itoa(n) + ". "
}

// link adds the target of a link after its text, unless the text already says it: a player
// reading a chat must see where a link goes.
func (w *writer) link(n *html.Node) {
	href := strings.TrimSpace(attr(n, "href"))
	lower := strings.ToLower(href)
	if !strings.HasPrefix(lower, "http://") && !strings.HasPrefix(lower, "https://") && !strings.HasPrefix(lower, "mailto:") {
		return // relative, javascript: or anchors mean nothing outside the page
	}
	text := strings.TrimSpace(textOf(n))
	if text == href || "mailto:"+text == href {
		return
	}
	if text == "" {
		w.text(href)
		return
	}
	w.text(" (" + href + ")")
}

func textOf(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return collapse(b.String(), true)
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Namespace == "" && a.Key == key {
			return a.Val
		}
	}
	return ""
}
