package inbox

import (
	"io/fs"
	"net/http"

	"github.com/casino-support/gateway/normalize"
)

// contentSecurityPolicy allows the inbox's own script, styles and images and nothing else: no
// inline script, no third-party origin, no framing. A player's message that slipped past
// escaping still could not run.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Mount registers every inbox route under cfg.Path. Pages answer a browser without a session
// with a redirect to the sign-in page; script endpoints (events, typing) and downloads answer
// 401. Every state-changing request needs the session's CSRF token.
func (i *Inbox) Mount(mux *http.ServeMux) {
	p := i.cfg.Path
	handle := func(pattern string, h http.HandlerFunc) { mux.Handle(pattern, secureHeaders(h)) }

	handle("GET "+p, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, p+"/", http.StatusSeeOther)
	})
	handle("GET "+p+"/{$}", i.authed(asPage, i.handleList))
	handle("GET "+p+"/signin", i.handleSigninForm)
	handle("POST "+p+"/signin", i.handleSignin)
	handle("POST "+p+"/signout", i.authed(asPage, i.handleSignout))
	handle("GET "+p+"/conversations/{id}", i.authed(asPage, i.handleThread))
	handle("POST "+p+"/conversations/{id}/reply", i.authed(asPage, i.handleReply))
	handle("POST "+p+"/conversations/{id}/close", i.authed(asPage, i.handleStatus(normalize.StatusClosed)))
	handle("POST "+p+"/conversations/{id}/reopen", i.authed(asPage, i.handleStatus(normalize.StatusOpen)))
	handle("POST "+p+"/conversations/{id}/complex", i.authed(asPage, i.handleFlagComplex))
	handle("POST "+p+"/conversations/{id}/typing", i.authed(asAPI, i.handleTyping))
	handle("GET "+p+"/attachments/{conv}/{msg}/{index}", i.authed(asAPI, i.handleAttachment))
	handle("GET "+p+"/events", i.authed(asAPI, i.handleEvents))
	// Admin pages: other agents get 403.
	handle("GET "+p+"/admin/pairing", i.adminOnly(asPage, i.handlePairing))
	handle("GET "+p+"/admin/pairing/status", i.adminOnly(asAPI, i.handlePairingStatus))
	handle("GET "+p+"/admin/pairing/{instance}/qr.png", i.adminOnly(asAPI, i.handlePairingQR))
	handle("POST "+p+"/admin/pairing/{instance}/new-code", i.adminOnly(asPage, i.handlePairNow))
	handle("POST "+p+"/admin/pairing/{instance}/phone", i.adminOnly(asPage, i.handlePairPhone))
	// Script and styles are public: the sign-in page needs them and they hold no data.
	static := http.StripPrefix(p+"/", http.FileServerFS(filesOnly{staticFiles}))
	handle("GET "+p+"/static/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		static.ServeHTTP(w, r)
	})
}

// secureHeaders sets what every inbox response carries; handlers may tighten them.
func secureHeaders(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", contentSecurityPolicy)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "same-origin")
		h(w, r)
	})
}

// filesOnly hides the directories of an FS: http.FileServerFS would list them, telling anyone
// what the inbox ships, and answers 404 instead when Open says they do not exist.
type filesOnly struct{ fsys fs.FS }

func (f filesOnly) Open(name string) (fs.File, error) {
	file, err := f.fsys.Open(name)
	if err != nil {
		return nil, err
	}
	info, err := file.Stat()
	if err != nil || info.IsDir() {
		file.Close()
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return file, nil
}
