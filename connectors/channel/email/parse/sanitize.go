package parse

import (
	"regexp"
	"strings"
	"sync"

	"github.com/microcosm-cc/bluemonday"
)

// sanitizeHTML makes a mail's HTML safe for a helpdesk to show: no scripts, style sheets,
// event handlers, forms or frames, and nothing loaded from elsewhere (remote images are how
// senders track who read a mail, and where; remote CSS and fonts likewise). What remains is
// the text with its formatting, links (opening apart, without a referrer) and the inline
// images the mail carries itself (cid: and data: sources).
func sanitizeHTML(html string) string {
	return strings.TrimSpace(htmlPolicy().Sanitize(html))
}

// htmlPolicy is built once; a bluemonday policy is safe for concurrent use once built.
var htmlPolicy = sync.OnceValue(func() *bluemonday.Policy {
	p := bluemonday.NewPolicy()
	// Not bluemonday's standard attributes, which include id: an id in the mail could
	// clobber the helpdesk page's own (DOM clobbering).
	p.AllowAttrs("dir").Matching(bluemonday.Direction).Globally()
	p.AllowAttrs("lang").Matching(regexp.MustCompile(`^[a-zA-Z]{2,8}(-[a-zA-Z0-9]{1,8})*$`)).Globally()
	p.AllowAttrs("title").Matching(bluemonday.Paragraph).Globally()
	p.AllowElements("p", "br", "div", "span", "b", "strong", "i", "em", "u", "s", "strike", "del", "ins",
		"sub", "sup", "small", "big", "mark", "code", "pre", "kbd", "samp", "tt", "blockquote", "q", "cite",
		"h1", "h2", "h3", "h4", "h5", "h6", "hr", "abbr", "address", "center", "font", "section", "article",
		"header", "footer", "figure", "figcaption")
	p.AllowAttrs("color", "face", "size").OnElements("font")
	p.AllowAttrs("align").OnElements("p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "center", "td", "th", "tr", "table")
	p.AllowLists()
	p.AllowTables()
	p.AllowAttrs("width", "height", "cellpadding", "cellspacing", "border", "bgcolor", "valign").
		OnElements("table", "td", "th", "tr", "col", "colgroup")
	p.AllowAttrs("colspan", "rowspan").Matching(bluemonday.Integer).OnElements("td", "th")
	// Inline styles carry most of a mail's formatting; bluemonday checks each property's value,
	// so no url() (a remote load) or expression() gets through.
	p.AllowStyles("color", "background-color", "font-family", "font-size", "font-style", "font-weight",
		"text-align", "text-decoration", "text-indent", "line-height", "white-space", "vertical-align",
		"margin", "margin-top", "margin-bottom", "margin-left", "margin-right",
		"padding", "padding-top", "padding-bottom", "padding-left", "padding-right",
		"border", "border-top", "border-bottom", "border-left", "border-right", "border-color",
		"border-style", "border-width", "border-collapse", "width", "height", "display").Globally()
	// Links: to the web and to mail only, opening apart from the helpdesk, without telling
	// the target where they were read.
	p.AllowAttrs("href").OnElements("a")
	p.AllowURLSchemes("http", "https", "mailto", "cid")
	p.RequireParseableURLs(true)
	p.RequireNoFollowOnLinks(true)
	p.RequireNoReferrerOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	// Images: only those the mail carries (cid: parts, data: URIs); a remote source is
	// dropped and the alt text stays.
	p.AllowAttrs("src").Matching(localImage).OnElements("img")
	p.AllowAttrs("alt", "title", "width", "height").OnElements("img")
	p.AllowDataURIImages()
	p.SkipElementsContent("title")
	return p
})

// localImage matches the image sources a mail carries itself.
var localImage = regexp.MustCompile(`(?i)^\s*(cid:|data:image/(png|jpeg|gif|webp);base64,)`)
