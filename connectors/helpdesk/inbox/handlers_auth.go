package inbox

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/casino-support/gateway/connectors"
)

// signinView is the sign-in page.
type signinView struct {
	common
	Next     string
	Username string
	Error    string
}

// signinCookieAge bounds how long a sign-in form may stay open before it must be reloaded.
const signinCookieAge = 3600

// handleSigninForm shows the sign-in form with a fresh pre-session CSRF token.
func (i *Inbox) handleSigninForm(w http.ResponseWriter, r *http.Request) {
	if _, ok, _ := i.currentSession(r); ok {
		http.Redirect(w, r, i.safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	i.showSignin(w, r, http.StatusOK, "", "")
}

func (i *Inbox) showSignin(w http.ResponseWriter, r *http.Request, status int, username, msg string) {
	token := randomToken()
	http.SetCookie(w, i.cookie(signinCookie, token, signinCookieAge))
	w.Header().Set("Cache-Control", "no-store")
	i.render(w, "signin", false, status, signinView{
		common: common{Base: i.cfg.Path, Title: "Sign in", CSRF: token},
		Next:   i.safeNext(r.FormValue("next")), Username: username, Error: msg,
	})
}

// handleSignin checks the form's CSRF token, the address's attempt budget, the delay the
// account's (or this browser's) failed attempts impose, and the password, then starts a new
// session (never reusing one, so a planted cookie cannot be signed in).
func (i *Inbox) handleSignin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, formOverhead)
	if err := r.ParseForm(); err != nil {
		tooLarge(w, err, formOverhead)
		return
	}
	c, err := r.Cookie(signinCookie)
	if err != nil || !sameToken(r.PostFormValue(csrfField), c.Value) {
		i.showSignin(w, r, http.StatusForbidden, "", "The sign-in form had expired. Please try again.")
		return
	}
	username := strings.TrimSpace(r.PostFormValue("username"))
	addr := clientAddr(r)
	// Logs name the client's own address; limits count its key (an IPv6 client by its /64).
	client := connectors.ClientAddr(r).String()
	if !i.auth.allowSignin(addr, i.now()) {
		i.log.Warn("sign-in attempts over the limit", "client", client)
		i.showSignin(w, r, http.StatusTooManyRequests, username,
			"Too many sign-in attempts from your address. Please wait a minute and try again.")
		return
	}
	ag, found, err := i.findAgent(r.Context(), username)
	if err != nil {
		i.log.Error("sign in", "err", err)
		i.showSignin(w, r, http.StatusInternalServerError, username, "The inbox cannot read its database right now.")
		return
	}
	// Unknown names wait like agents' do, so the delay does not tell which names exist.
	key := throttleKey(r, username, ag, found)
	if wait := i.auth.signinWait(key, i.now()); wait > 0 {
		secs := int(math.Ceil(wait.Seconds()))
		i.log.Warn("sign-in held back after failed attempts", "agent", username, "client", client, "wait", wait.String())
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		i.showSignin(w, r, http.StatusTooManyRequests, username,
			fmt.Sprintf("Too many failed sign-ins as this user. Please wait %d seconds and try again.", secs))
		return
	}
	if !i.auth.checkPassword(ag, found, r.PostFormValue("password")) {
		i.auth.signinFailed(key, found, i.now())
		i.log.Info("sign-in failed", "agent", username, "client", client)
		i.showSignin(w, r, http.StatusUnauthorized, username, "Wrong user name or password.")
		return
	}
	i.auth.signinSucceeded(key)
	token, err := i.createSession(r.Context(), ag)
	if err != nil {
		i.log.Error("sign in", "err", err)
		i.showSignin(w, r, http.StatusInternalServerError, username, "The inbox cannot write its database right now.")
		return
	}
	i.log.Info("agent signed in", "agent", ag.Name, "client", client)
	http.SetCookie(w, i.cookie(signinCookie, "", -1))
	http.SetCookie(w, i.cookie(sessionCookie, token, int(i.cfg.SessionTTL.Seconds())))
	http.SetCookie(w, i.cookie(deviceCookie, deviceToken(ag), deviceCookieAge))
	http.Redirect(w, r, i.safeNext(r.PostFormValue("next")), http.StatusSeeOther)
}

// handleSignout ends the session and forgets the cookie.
func (i *Inbox) handleSignout(w http.ResponseWriter, r *http.Request, s session) {
	if err := i.endSession(r); err != nil {
		i.log.Error("sign out", "agent", s.Agent, "err", err)
		i.renderError(w, s, http.StatusInternalServerError, "The inbox could not sign you out; please try again.")
		return
	}
	http.SetCookie(w, i.cookie(sessionCookie, "", -1))
	http.Redirect(w, r, i.cfg.Path+"/signin", http.StatusSeeOther)
}
