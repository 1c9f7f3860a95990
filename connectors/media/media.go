// Package media is the one table of the media types the gateway knows: what to call them,
// their file extensions, how to recognise their content, and whether a browser may show
// them. Connectors ask it instead of keeping lists of their own, so "which images does a
// chat show" or "is a PDF safe to serve inline" has one answer everywhere.
package media

import (
	"mime"
	"net/http"
	"path"
	"slices"
	"strings"
	"unicode"

	"github.com/casino-support/gateway/normalize"
)

// Type is one media type the gateway knows.
type Type struct {
	// MediaType is the bare type/subtype, lower case, e.g. "image/png".
	MediaType string
	// Name is how people are told the type, e.g. "PNG image".
	Name string
	// Exts are the usual file extensions, with the dot; the first is the one given to a file
	// whose extension does not match its content.
	Exts []string
	// Sniffed is what http.DetectContentType reports for content of the type, bare, so a
	// declared type can be checked against the bytes; empty where the content has no
	// signature the sniffer knows reliably (text, Office documents, which are ZIP inside,
	// audio and video, whose sniffing misses common variants).
	Sniffed string
	// InlineImage marks the images channels and pages show inline: raster formats browsers
	// decode safely (not SVG, which can carry script).
	InlineImage bool
	// SafeInline marks the types a page may serve under their own type without a download:
	// browsers render them without running anything of the file (unlike HTML or SVG). Every
	// one is sniffed, so what is stored under it is checked to be one.
	SafeInline bool
}

// table is every known type; Known lists them in this order.
var table = []Type{
	{MediaType: "image/png", Name: "PNG image", Exts: []string{".png"}, Sniffed: "image/png", InlineImage: true, SafeInline: true},
	{MediaType: "image/jpeg", Name: "JPEG image", Exts: []string{".jpg", ".jpeg"}, Sniffed: "image/jpeg", InlineImage: true, SafeInline: true},
	{MediaType: "image/gif", Name: "GIF image", Exts: []string{".gif"}, Sniffed: "image/gif", InlineImage: true, SafeInline: true},
	{MediaType: "image/webp", Name: "WebP image", Exts: []string{".webp"}, Sniffed: "image/webp", InlineImage: true, SafeInline: true},
	{MediaType: "image/bmp", Name: "BMP image", Exts: []string{".bmp"}, Sniffed: "image/bmp"},
	{MediaType: "application/pdf", Name: "PDF document", Exts: []string{".pdf"}, Sniffed: "application/pdf", SafeInline: true},
	{MediaType: "text/plain", Name: "text file", Exts: []string{".txt"}},
	{MediaType: "text/html", Name: "web page (HTML)", Exts: []string{".html"}},
	{MediaType: "application/zip", Name: "ZIP archive", Exts: []string{".zip"}, Sniffed: "application/zip"},
	{MediaType: "application/gzip", Name: "gzip archive", Exts: []string{".gz"}, Sniffed: "application/x-gzip"},
	{MediaType: "application/x-gzip", Name: "gzip archive", Exts: []string{".gz"}, Sniffed: "application/x-gzip"},
	// DetectContentType reports executables, like anything it does not recognise, as this.
	{MediaType: "application/octet-stream", Name: "unknown or program file", Exts: []string{".bin"}},
}

var byType = func() map[string]Type {
	m := make(map[string]Type, len(table))
	for _, t := range table {
		m[t.MediaType] = t
	}
	return m
}()

// Lookup returns the known type mediaType, a bare type as Sniff returns it.
func Lookup(mediaType string) (Type, bool) {
	t, ok := byType[mediaType]
	return t, ok
}

// Known returns the known media types that keep accepts, in the table's order.
func Known(keep func(Type) bool) []string {
	var out []string
	for _, t := range table {
		if keep(t) {
			out = append(out, t.MediaType)
		}
	}
	return out
}

// Name is how people are told mediaType: its name, or the type itself when it is unknown.
func Name(mediaType string) string {
	if t, ok := byType[mediaType]; ok {
		return t.Name
	}
	return mediaType
}

// IsInlineImage reports whether mediaType is an image channels and pages show inline.
func IsInlineImage(mediaType string) bool { return byType[mediaType].InlineImage }

// SafeInline reports whether mediaType may be served under its own type for a browser to
// show; anything else goes out as application/octet-stream, or as a download.
func SafeInline(mediaType string) bool { return byType[mediaType].SafeInline }

// Kind is the kind of a message that carries atts, for channels to send it as: an image when
// every one is an inline image, a document when any is not, text when there is none.
func Kind(atts []normalize.Attachment) normalize.MessageKind {
	if len(atts) == 0 {
		return normalize.KindText
	}
	for _, a := range atts {
		if !IsInlineImage(a.MediaType) {
			return normalize.KindDocument
		}
	}
	return normalize.KindImage
}

// Sniff returns the bare media type of content starting with head (http.DetectContentType,
// which looks at 512 bytes at most, without its parameters).
func Sniff(head []byte) string {
	mt, _, _ := strings.Cut(http.DetectContentType(head), ";")
	return mt
}

// Check reports whether content starting with head can be of mediaType: false only for a
// type whose content has a signature (Type.Sniffed) that head does not show. It returns what
// the content looks like, for the refusal.
func Check(mediaType string, head []byte) (sniffed string, ok bool) {
	sniffed = Sniff(head)
	want := byType[mediaType].Sniffed
	return sniffed, want == "" || sniffed == want
}

// Hidden reports whether r is a control or bidirectional formatting character: invisible in
// a file name, where a right-to-left override can disguise "fdp.exe" as "exe.pdf".
func Hidden(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r)
}

// FileName makes a client's file name safe to store and show: no directories, no Hidden
// characters or quotes, at most 100 characters, never empty, and an extension that matches
// mediaType (the content's sniffed type): the table's, else the system's MIME table's.
func FileName(name, mediaType string) string {
	name = name[strings.LastIndexAny(name, `/\`)+1:]
	name = strings.Map(func(r rune) rune {
		if Hidden(r) || r == '"' {
			return -1
		}
		return r
	}, strings.ToValidUTF8(name, ""))
	name = strings.TrimSpace(name)
	if r := []rune(name); len(r) > 100 {
		name = string(r[len(r)-100:])
	}
	if name == "" || name == "." || name == ".." {
		name = "attachment"
	}
	exts := byType[mediaType].Exts
	if exts == nil {
		exts, _ = mime.ExtensionsByType(mediaType)
	}
	if len(exts) == 0 {
		return name
	}
	if slices.Contains(exts, strings.ToLower(path.Ext(name))) {
		return name
	}
	return strings.TrimSuffix(name, path.Ext(name)) + exts[0]
}
