package inbox

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"mime"
	"net/http"
	"net/url"
	"time"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// pageFiles names each page and the template files it is made of; every page shares the
// layout. A page "name" is rendered whole by executing "layout" and as a fragment (what the
// live refresh swaps in) by executing "fragment".
var pageFiles = map[string][]string{
	"signin": {"templates/layout.html", "templates/signin.html"},
	"list":   {"templates/layout.html", "templates/list.html"},
	"thread": {"templates/layout.html", "templates/thread.html"},
	"error":  {"templates/layout.html", "templates/error.html"},
	// Admin pages.
	"pairing": {"templates/layout.html", "templates/pairing.html"},
}

// parsePages parses every page once at start, so a template error stops New instead of a page.
func parsePages() (map[string]*template.Template, error) {
	pages := make(map[string]*template.Template, len(pageFiles))
	for name, files := range pageFiles {
		t, err := template.New(name).Funcs(template.FuncMap{"isoTime": isoTime, "shortTime": shortTime}).
			ParseFS(templateFiles, files...)
		if err != nil {
			return nil, fmt.Errorf("parse page %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// common is what every page's layout needs.
type common struct {
	Base  string // the inbox path, prefix of every link
	Title string
	Agent string // display name of the signed-in agent; empty on the sign-in page
	CSRF  string
	Admin bool // the agent may open the admin pages: the layout links them
}

// commonFor is the layout's part of a page titled title, for the agent of s.
func (i *Inbox) commonFor(s session, title string) common {
	return common{Base: i.cfg.Path, Title: title, Agent: s.DisplayName, CSRF: s.CSRF, Admin: s.Admin}
}

// render writes page (or only its fragment) with status. It renders into a buffer first, so a
// template error becomes a clean 500 instead of half a page.
func (i *Inbox) render(w http.ResponseWriter, page string, fragment bool, status int, data any) {
	t := i.pages[page]
	name := "layout"
	if fragment {
		name = "fragment"
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, data); err != nil {
		i.log.Error("render page", "page", page, "err", err)
		http.Error(w, "The inbox could not show this page.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// renderError shows a message page to a signed-in agent (or a plain one on failure).
func (i *Inbox) renderError(w http.ResponseWriter, s session, status int, msg string) {
	i.render(w, "error", false, status, struct {
		common
		Message string
	}{i.commonFor(s, http.StatusText(status)), msg})
}

// formOverhead is what a reply form may carry besides the attachment (text, tokens, multipart
// framing).
const formOverhead = 1 << 20

// multipartMemory is how much of an upload is held in memory; the rest spills to a temp file
// that net/http removes after the request.
const multipartMemory = 8 << 20

// parseForm reads a urlencoded or multipart form body.
func parseForm(r *http.Request) error {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
		return r.ParseMultipartForm(multipartMemory)
	}
	return r.ParseForm()
}

// tooLarge answers a form that could not be read: 413 when it was over the size limit.
func tooLarge(w http.ResponseWriter, err error, limit int64) {
	if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
		http.Error(w, fmt.Sprintf("The upload is too large: attachments may have at most %s.", humanBytes(limit)), http.StatusRequestEntityTooLarge)
		return
	}
	http.Error(w, "The form could not be read.", http.StatusBadRequest)
}

// humanBytes renders a size the way file managers do.
func humanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

func isoTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// shortTime is the server's rendering in UTC; the page's script shows it in local time.
func shortTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }
