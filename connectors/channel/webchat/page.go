package webchat

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/casino-support/gateway/connectors/media"
)

// static holds the player page's template, script and styles and the widget: served as they
// are, no build step and nothing from a CDN.
//
//go:embed static
var static embed.FS

// widgetConfig is where widget.js receives its settings; the file stays valid JavaScript.
const widgetConfig = "/*CONFIG*/null"

var (
	colorPattern = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)
	// hostPattern is what a Host header must look like to be written into a CSP directive.
	hostPattern = regexp.MustCompile(`^[A-Za-z0-9.-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$`)
)

// assets are the page and files rendered once from the configuration at New.
type assets struct {
	page    *template.Template
	static  http.Handler
	widget  []byte
	theme   []byte
	version string // a digest of the static files, to bust caches on upgrade
	words   *translations
}

// pageData fills static/page.html. Lang is the chosen language's tag, T its words by key
// (written into the HTML) and Strings the same as JSON for chat.js.
type pageData struct {
	Title   string
	Path    string
	Embed   bool
	Version string
	Accept  string
	// Callback shows the "Request a call-back" action (callback_requests).
	Callback bool
	Lang     string
	T        map[string]string
	Strings  string
}

func newAssets(cfg Config) (*assets, error) {
	if !colorPattern.MatchString(cfg.Color) {
		return nil, fmt.Errorf("color: want #rrggbb, got %q", cfg.Color)
	}
	// A key the template names but the words lack fails the render instead of showing nothing.
	page, err := template.New("page.html").Option("missingkey=error").ParseFS(static, "static/page.html")
	if err != nil {
		return nil, fmt.Errorf("page template: %w", err)
	}
	sub, err := fs.Sub(static, "static/public")
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	for _, name := range []string{"static/public/chat.js", "static/public/chat.css", "static/page.html", "static/widget.js"} {
		b, err := static.ReadFile(name)
		if err != nil {
			return nil, err
		}
		h.Write(b)
	}
	h.Write([]byte(cfg.Color))
	src, err := static.ReadFile("static/widget.js")
	if err != nil {
		return nil, err
	}
	settings, err := json.Marshal(map[string]any{
		"path": cfg.Path, "title": cfg.Title, "color": cfg.Color, "on_color": onColor(cfg.Color), "greetings": cfg.Greetings,
	})
	if err != nil {
		return nil, err
	}
	if !bytes.Contains(src, []byte(widgetConfig)) {
		return nil, fmt.Errorf("widget.js lacks its %s placeholder", widgetConfig)
	}
	words, err := newTranslations(cfg.Strings, map[string]string{
		"{types}":      typeNames(cfg.UploadTypes),
		"{megapixels}": strconv.Itoa(media.MaxImagePixels / 1_000_000),
	})
	if err != nil {
		return nil, err
	}
	return &assets{
		page:    page,
		static:  staticHeaders(http.FileServerFS(sub)),
		widget:  bytes.Replace(src, []byte(widgetConfig), settings, 1),
		theme:   fmt.Appendf(nil, ":root { --accent: %s; --on-accent: %s; }\n", cfg.Color, onColor(cfg.Color)),
		version: hex.EncodeToString(h.Sum(nil))[:12],
		words:   words,
	}, nil
}

// typeNames lists the accepted file types as players know them from file names ("PNG, JPG,
// PDF"), for the notice about a file of another type. Unlike media.Name ("PNG image") these
// read the same in every language.
func typeNames(types []string) string {
	names := make([]string, 0, len(types))
	for _, mt := range types {
		name := mt[strings.LastIndex(mt, "/")+1:]
		if t, ok := media.Lookup(mt); ok && len(t.Exts) > 0 {
			name = strings.TrimPrefix(t.Exts[0], ".")
		}
		if name = strings.ToUpper(name); !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	return strings.Join(names, ", ")
}

// onColor picks black or white text for the accent colour, whichever reads better.
func onColor(hex string) string {
	v, _ := strconv.ParseUint(hex[1:], 16, 32)
	r, g, b := float64(v>>16&0xff), float64(v>>8&0xff), float64(v&0xff)
	if 0.299*r+0.587*g+0.114*b > 160 {
		return "#000000"
	}
	return "#ffffff"
}

// servePage renders the player page in the player's language; ?embed=1 is the widget's
// iframe, which the allowed origins may frame.
func (c *Channel) servePage(w http.ResponseWriter, r *http.Request) {
	embed := r.URL.Query().Get("embed") == "1"
	lang := c.assets.words.choose(r.URL.Query().Get("lang"), r.Header.Get("Accept-Language"))
	c.securityHeaders(w, r, embed)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Vary", "Accept-Language") // caches must not hand a German page to a Swede
	var buf bytes.Buffer
	err := c.assets.page.Execute(&buf, pageData{Title: c.cfg.Title, Path: c.cfg.Path, Embed: embed,
		Version: c.assets.version, Accept: strings.Join(c.cfg.UploadTypes, ","), Callback: c.cfg.CallbackRequests,
		Lang: lang.Tag, T: lang.Text, Strings: lang.JSON})
	if err != nil {
		c.log.Error("page not rendered", "err", err)
		http.Error(w, "the chat page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Write(buf.Bytes())
}

// securityHeaders lock the page to its own scripts and styles, its own API and WebSocket, and
// to being framed only by the allowed origins (and only as the embed page).
func (c *Channel) securityHeaders(w http.ResponseWriter, r *http.Request, embed bool) {
	connect := []string{"'self'"}
	if hostPattern.MatchString(r.Host) {
		connect = append(connect, "ws://"+r.Host, "wss://"+r.Host)
	}
	if c.origins.public != "" {
		connect = append(connect, "ws"+strings.TrimPrefix(c.origins.public, "http"))
	}
	ancestors := "'none'"
	if embed {
		ancestors = strings.Join(append([]string{"'self'"}, c.origins.list...), " ")
	} else {
		w.Header().Set("X-Frame-Options", "DENY")
	}
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "+
		"connect-src "+strings.Join(connect, " ")+"; base-uri 'none'; form-action 'none'; frame-ancestors "+ancestors)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
}

// serveWidget serves the script operators paste into the casino site. It is meant to run on
// other origins, so it carries no secrets: only the look of the button.
func (c *Channel) serveWidget(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	w.Write(c.assets.widget)
}

// staticHeaders marks the script and styles as what they are; URLs carry the version, so
// they may be cached for a day.
func staticHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "" || strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r) // no directory listings
			return
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "public, max-age=86400")
		next.ServeHTTP(w, r)
	})
}

func (c *Channel) serveTheme(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/css; charset=utf-8")
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("X-Content-Type-Options", "nosniff")
	w.Write(c.assets.theme)
}
