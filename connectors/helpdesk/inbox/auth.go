package inbox

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/time/rate"

	"github.com/casino-support/gateway/connectors"
)

const (
	sessionCookie = "inbox_session"
	// signinCookie carries the sign-in form's CSRF token (double submit): before sign-in there
	// is no session to keep it in, and a forged sign-in would put a victim into an attacker's
	// account.
	signinCookie = "inbox_signin"
	csrfField    = "csrf"
	csrfHeader   = "X-CSRF-Token"

	// signinBurst attempts at once, then one every signinEvery, per client address: enough for
	// typos, far too few for guessing.
	signinBurst = 5
	signinEvery = 20 * time.Second
	// limiterIdle is how long an address's limiter, or a user name's failures, are kept after
	// the last attempt.
	limiterIdle = 10 * time.Minute
	maxLimiters = 4096

	// After the n-th failed sign-in as one user name, the next attempt is checked only
	// min(2^n s, maxSigninDelay) later: guessing one account slows to a crawl from any number
	// of addresses, while no failure, however many, locks the account for longer than that.
	maxSigninDelay = time.Minute

	// deviceCookie marks a browser an agent signed in from before. Its attempts wait only for
	// its own failures, not for the account's: someone guessing an agent's password once a
	// minute would otherwise keep the agent out for good.
	deviceCookie    = "inbox_device"
	deviceCookieAge = 180 * 24 * 3600
)

// authState is the in-memory part of authentication: per-address and per-account sign-in
// limits and the hash unknown user names are checked against.
type authState struct {
	mu       sync.Mutex
	limiters map[string]*addrLimiter
	// failures holds the failed sign-ins by throttle key: an account's from unknown browsers,
	// or one known browser's (see throttleKey).
	failures map[string]*failureRecord
	// dummyHash makes a sign-in as an unknown user cost one bcrypt comparison like a known
	// one, so response times do not tell which user names exist.
	dummyHash func() []byte
}

// failureRecord is the failed sign-ins of one throttle key since its last success.
type failureRecord struct {
	count int
	last  time.Time
	// kept records a known agent's failures: those are never dropped to make room, or
	// trying made-up names could erase the delay of a real account.
	kept bool
}

type addrLimiter struct {
	lim  *rate.Limiter
	seen time.Time
}

// newAuthState returns the state with a dummy hash of the given bcrypt cost: that of the
// agents' hashes, since a cheaper comparison would tell unknown names apart all the same.
func newAuthState(dummyCost int) *authState {
	return &authState{
		limiters: map[string]*addrLimiter{},
		failures: map[string]*failureRecord{},
		dummyHash: sync.OnceValue(func() []byte {
			h, err := bcrypt.GenerateFromPassword([]byte(randomToken()), dummyCost)
			if err != nil {
				panic("inbox: bcrypt of a random password failed: " + err.Error()) // it cannot: the input is short
			}
			return h
		}),
	}
}

// allowSignin takes one sign-in attempt from addr out of its budget.
func (a *authState) allowSignin(addr string, now time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.limiters) >= maxLimiters {
		for k, l := range a.limiters {
			if now.Sub(l.seen) > limiterIdle {
				delete(a.limiters, k)
			}
		}
	}
	l := a.limiters[addr]
	if l == nil {
		l = &addrLimiter{lim: rate.NewLimiter(rate.Every(signinEvery), signinBurst)}
		a.limiters[addr] = l
	}
	l.seen = now
	return l.lim.AllowN(now, 1)
}

// signinDelay is how long an attempt must wait after n failures: min(2^n s, maxSigninDelay).
func signinDelay(n int) time.Duration {
	if n <= 0 {
		return 0
	}
	if n >= 6 { // 2^6 s is over a minute already; shifting further would overflow in the end
		return maxSigninDelay
	}
	return min(time.Duration(1<<n)*time.Second, maxSigninDelay)
}

// signinWait returns how much longer an attempt under key must wait before it is checked; 0
// lets it through. Attempts held back do not count as failures, so hammering the form does
// not stretch the delay.
func (a *authState) signinWait(key string, now time.Time) time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	f := a.failures[key]
	if f == nil || now.Sub(f.last) > limiterIdle {
		return 0
	}
	return max(f.last.Add(signinDelay(f.count)).Sub(now), 0)
}

// signinFailed records a checked attempt under key that failed; known is whether the user name
// is an agent's.
func (a *authState) signinFailed(key string, known bool, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	f := a.failures[key]
	if f == nil {
		if len(a.failures) >= maxLimiters {
			for k, old := range a.failures {
				if now.Sub(old.last) > limiterIdle {
					delete(a.failures, k)
				}
			}
		}
		if len(a.failures) >= maxLimiters && !known {
			// Full of recent failures at made-up names: this name protects no account.
			return
		}
		f = &failureRecord{}
		a.failures[key] = f
	}
	if now.Sub(f.last) > limiterIdle {
		f.count = 0
	}
	f.count++
	f.last = now
	f.kept = f.kept || known
}

// signinSucceeded forgets key's failures.
func (a *authState) signinSucceeded(key string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.failures, key)
}

// throttleKey is what an attempt to sign in as user waits for: the failures of its browser
// when the browser carries a device cookie that ag (the agent named user, when found) issued,
// else the failures of the user name from anywhere.
func throttleKey(r *http.Request, user string, ag agent, found bool) string {
	if found {
		if c, err := r.Cookie(deviceCookie); err == nil {
			if nonce, ok := checkDeviceToken(c.Value, ag); ok {
				return "device:" + nonce
			}
		}
	}
	return "user:" + user
}

// deviceToken returns a new device cookie value for ag: agent name, a random nonce and their
// HMAC under the agent's password hash. Keyed so, it needs no key of its own, outlives
// restarts, and a new password revokes every device.
func deviceToken(ag agent) string {
	nonce := randomToken()
	return ag.Name + "." + nonce + "." + deviceMAC(ag, nonce)
}

// checkDeviceToken returns the nonce of a device cookie value that ag issued.
func checkDeviceToken(v string, ag agent) (string, bool) {
	name, rest, ok := strings.Cut(v, ".")
	if !ok || name != ag.Name {
		return "", false
	}
	nonce, mac, ok := strings.Cut(rest, ".")
	if !ok || nonce == "" || !sameToken(mac, deviceMAC(ag, nonce)) {
		return "", false
	}
	return nonce, true
}

func deviceMAC(ag agent, nonce string) string {
	m := hmac.New(sha256.New, []byte(ag.Hash))
	m.Write([]byte("inbox device\x00" + ag.Name + "\x00" + nonce))
	return hex.EncodeToString(m.Sum(nil))
}

// checkPassword compares password with the agent's hash; for an unknown agent it does the
// same work against a dummy hash and fails.
func (a *authState) checkPassword(ag agent, found bool, password string) bool {
	if !found {
		bcrypt.CompareHashAndPassword(a.dummyHash(), []byte(password))
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(ag.Hash), []byte(password)) == nil
}

// clientAddr is the address sign-in attempts are counted against (connectors.ClientKey: the
// client as the gateway resolved it, an IPv6 one by its /64).
func clientAddr(r *http.Request) string { return connectors.ClientKey(r) }

// session is a signed-in browser.
type session struct {
	Agent       string
	DisplayName string
	CSRF        string
	ExpiresAt   time.Time
	// Admin agents may open the admin pages.
	Admin bool
}

// randomToken returns 256 random bits, URL-safe.
func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("inbox: crypto/rand failed: " + err.Error()) // the runtime guarantees it does not
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// createSession signs ag in for cfg.SessionTTL and returns the cookie token. Expired sessions
// are swept here, the one moment sessions are written anyway.
func (i *Inbox) createSession(ctx context.Context, ag agent) (string, error) {
	token := randomToken()
	now := i.now()
	if _, err := i.db.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= ?`, millis(now)); err != nil {
		return "", fmt.Errorf("sweep sessions: %w", err)
	}
	if _, err := i.db.ExecContext(ctx, `INSERT INTO sessions (token_hash, agent, csrf_token, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
		hashToken(token), ag.Name, randomToken(), millis(now), millis(now.Add(i.cfg.SessionTTL))); err != nil {
		return "", fmt.Errorf("create session: %w", err)
	}
	return token, nil
}

// currentSession returns the session of r's cookie; ok is false when there is none, or it
// expired or was revoked.
func (i *Inbox) currentSession(r *http.Request) (s session, ok bool, err error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return session{}, false, nil
	}
	var expires int64
	err = i.db.QueryRowContext(r.Context(), `SELECT s.agent, a.display_name, s.csrf_token, s.expires_at, a.admin
		FROM sessions s JOIN agents a ON a.name = s.agent WHERE s.token_hash = ?`, hashToken(c.Value)).
		Scan(&s.Agent, &s.DisplayName, &s.CSRF, &expires, &s.Admin)
	if errors.Is(err, sql.ErrNoRows) {
		return session{}, false, nil
	}
	if err != nil {
		return session{}, false, fmt.Errorf("read session: %w", err)
	}
	s.ExpiresAt = time.UnixMilli(expires)
	if !i.now().Before(s.ExpiresAt) {
		return session{}, false, nil
	}
	return s, true, nil
}

// endSession signs out the browser of r.
func (i *Inbox) endSession(r *http.Request) error {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	if _, err := i.db.ExecContext(r.Context(), `DELETE FROM sessions WHERE token_hash = ?`, hashToken(c.Value)); err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	return nil
}

// cookie returns a cookie scoped to the inbox: HttpOnly and SameSite=Strict always, Secure
// when agents reach the gateway over https. maxAge < 0 deletes it.
func (i *Inbox) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: i.cfg.Path, MaxAge: maxAge, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: strings.HasPrefix(strings.ToLower(i.deps.PublicURL), "https://")}
}

// sameToken compares CSRF tokens in constant time; an empty token never matches.
func sameToken(got, want string) bool {
	return got != "" && want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// requestCSRF is the CSRF token a request carries, in the header (fetch) or the form.
func requestCSRF(r *http.Request) string {
	if t := r.Header.Get(csrfHeader); t != "" {
		return t
	}
	return r.PostFormValue(csrfField)
}

// authMode says how a request without a valid session is answered.
type authMode int

const (
	// asPage redirects to the sign-in page: a browser navigating to an inbox page.
	asPage authMode = iota
	// asAPI answers 401: script requests and downloads, where a redirect to HTML would be
	// mistaken for content.
	asAPI
)

// sessionHandler is a handler that runs for a signed-in agent.
type sessionHandler func(w http.ResponseWriter, r *http.Request, s session)

// authed runs h only for a signed-in agent, and for state-changing methods only with the
// session's CSRF token. Request bodies are capped before anything reads them.
func (i *Inbox) authed(mode authMode, h sessionHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, ok, err := i.currentSession(r)
		if err != nil {
			i.log.Error("read session", "err", err)
			http.Error(w, "The inbox cannot read its database right now.", http.StatusInternalServerError)
			return
		}
		if !ok {
			if mode == asAPI {
				http.Error(w, "Sign in first.", http.StatusUnauthorized)
				return
			}
			i.redirectToSignin(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			r.Body = http.MaxBytesReader(w, r.Body, i.deps.MaxUploadBytes+formOverhead)
			if err := parseForm(r); err != nil {
				tooLarge(w, err, i.deps.MaxUploadBytes)
				return
			}
			if !sameToken(requestCSRF(r), s.CSRF) {
				http.Error(w, "This form has expired or did not come from the inbox. Reload the page and try again.", http.StatusForbidden)
				return
			}
		}
		w.Header().Set("Cache-Control", "no-store")
		h(w, r, s)
	}
}

// adminOnly runs h only for an admin agent (after authed's checks); other agents get 403: a
// page to read, or plain text for a script.
func (i *Inbox) adminOnly(mode authMode, h sessionHandler) http.HandlerFunc {
	return i.authed(mode, func(w http.ResponseWriter, r *http.Request, s session) {
		if !s.Admin {
			const msg = "Only administrators may open this page."
			if mode == asAPI {
				http.Error(w, msg, http.StatusForbidden)
				return
			}
			i.renderError(w, s, http.StatusForbidden, msg)
			return
		}
		h(w, r, s)
	})
}

// redirectToSignin sends a browser to the sign-in page, remembering where it wanted to go.
func (i *Inbox) redirectToSignin(w http.ResponseWriter, r *http.Request) {
	target := i.cfg.Path + "/signin"
	if r.Method == http.MethodGet && r.URL.Path != i.cfg.Path+"/" && r.URL.Query().Get("partial") == "" {
		target += "?next=" + urlQueryEscape(r.URL.Path)
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// safeNext returns where to go after sign-in: next only when it is a page of this inbox, so
// the sign-in form cannot be used to send agents to another site.
func (i *Inbox) safeNext(next string) string {
	if strings.HasPrefix(next, i.cfg.Path+"/") && !strings.ContainsAny(next, "\\?#") && !strings.Contains(next, "//") && !strings.Contains(next, "..") &&
		!strings.Contains(next, "/signin") {
		return next
	}
	return i.cfg.Path + "/"
}

// hashCost is the bcrypt cost unknown names are checked at: the highest of the configured
// agents' hashes (an operator may raise it with htpasswd -C) and of the hashes the inbox
// makes itself (bcrypt.DefaultCost).
func hashCost(agents []Agent) int {
	cost := bcrypt.DefaultCost
	for _, a := range agents {
		if c, err := bcrypt.Cost([]byte(a.PasswordHash.Value())); err == nil {
			cost = max(cost, c)
		}
	}
	return cost
}
