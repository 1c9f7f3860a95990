package inbox

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/casino-support/gateway/connectors/settings"
)

func TestUnauthenticatedAccessGetsNoContent(t *testing.T) {
	f := newFixture(t)
	c := f.conv("c1", lena, playerMsg("m1", "secret bonus question", t0))
	f.post(c, playerMsg("m1", "secret bonus question", t0))

	tests := []struct {
		method, path string
		want         int
	}{
		{"GET", "/inbox", http.StatusSeeOther},
		{"GET", "/inbox/", http.StatusSeeOther},
		{"GET", "/inbox/?status=all&partial=1", http.StatusSeeOther},
		{"GET", "/inbox/conversations/c1", http.StatusSeeOther},
		{"GET", "/inbox/conversations/c1?partial=1", http.StatusSeeOther},
		{"POST", "/inbox/conversations/c1/reply", http.StatusSeeOther},
		{"POST", "/inbox/conversations/c1/close", http.StatusSeeOther},
		{"POST", "/inbox/conversations/c1/reopen", http.StatusSeeOther},
		{"POST", "/inbox/signout", http.StatusSeeOther},
		{"POST", "/inbox/conversations/c1/typing", http.StatusUnauthorized},
		{"GET", "/inbox/attachments/c1/m1/0", http.StatusUnauthorized},
		{"GET", "/inbox/events", http.StatusUnauthorized},
	}
	for _, cookie := range []string{"", "forged-session-token"} {
		for _, tt := range tests {
			t.Run(tt.method+" "+tt.path+" cookie="+cookie, func(t *testing.T) {
				b := f.browser()
				req, err := http.NewRequest(tt.method, f.srv.URL+tt.path, strings.NewReader("text=hi"))
				require.NoError(t, err)
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				if cookie != "" {
					req.AddCookie(&http.Cookie{Name: sessionCookie, Value: cookie})
				}
				resp := b.do(req)
				require.Equal(t, tt.want, resp.status)
				require.NotContains(t, resp.body, "Lena")
				require.NotContains(t, resp.body, "secret bonus")
				if tt.want == http.StatusSeeOther && tt.path != "/inbox" {
					require.True(t, strings.HasPrefix(resp.header.Get("Location"), "/inbox/signin"), resp.header.Get("Location"))
				}
			})
		}
	}
	require.Empty(t, f.sink.delivered())
	require.Empty(t, f.statusCalls())
	require.Empty(t, f.typing.calls())
}

func TestSignIn(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name, user, password string
		want                 int
	}{
		{"right password", "alice", testPassword, http.StatusSeeOther},
		{"wrong password", "alice", "not-the-password", http.StatusUnauthorized},
		{"unknown user", "mallory", testPassword, http.StatusUnauthorized},
		{"empty password", "alice", "", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.clock.Add(maxSigninDelay) // past the delay the case before may have set
			b := f.browser()
			resp := b.signIn(tt.user, tt.password)
			require.Equal(t, tt.want, resp.status)
			if tt.want != http.StatusSeeOther {
				require.Contains(t, resp.body, "Wrong user name or password.")
				require.Equal(t, http.StatusSeeOther, b.get("/inbox/").status, "no session after a failed sign-in")
				return
			}
			require.Equal(t, "/inbox/", resp.header.Get("Location"))
			require.Equal(t, http.StatusOK, b.get("/inbox/").status)
		})
	}
}

func TestSessionCookieAttributes(t *testing.T) {
	for _, publicURL := range []string{"http://gateway.test", "https://gateway.test"} {
		t.Run(publicURL, func(t *testing.T) {
			f := newFixture(t, func(_ *Config, d *Deps) { d.PublicURL = publicURL })
			resp := f.browser().signIn("alice", testPassword)
			require.Equal(t, http.StatusSeeOther, resp.status)
			var session *http.Cookie
			for _, c := range (&http.Response{Header: resp.header}).Cookies() {
				if c.Name == sessionCookie && c.Value != "" {
					session = c
				}
			}
			require.NotNil(t, session)
			require.True(t, session.HttpOnly)
			require.Equal(t, http.SameSiteStrictMode, session.SameSite)
			require.Equal(t, "/inbox", session.Path)
			require.Equal(t, strings.HasPrefix(publicURL, "https"), session.Secure)
		})
	}
}

func TestSignInNextStaysInTheInbox(t *testing.T) {
	f := newFixture(t)
	f.conv("c1", lena)
	tests := []struct{ next, want string }{
		{"/inbox/conversations/c1", "/inbox/conversations/c1"},
		{"https://evil.test/inbox/", "/inbox/"},
		{"//evil.test/inbox/x", "/inbox/"},
		{"/inbox/..//evil.test", "/inbox/"},
		{"/inbox/../admin", "/inbox/"},
		{"/elsewhere", "/inbox/"},
	}
	for _, tt := range tests {
		t.Run(tt.next, func(t *testing.T) {
			f.clock.Add(signinEvery) // one attempt's budget each
			b := f.browser()
			form := b.get("/inbox/signin?next=" + url.QueryEscape(tt.next))
			token := find(t, `name="csrf" value="([^"]+)"`, form.body)
			resp := b.postForm("/inbox/signin", url.Values{"csrf": {token}, "username": {"alice"}, "password": {testPassword}, "next": {tt.next}})
			require.Equal(t, http.StatusSeeOther, resp.status)
			require.Equal(t, tt.want, resp.header.Get("Location"))
		})
	}
}

// withGuessTargets adds agents a0 to a4, so that a test can fail once at each and spend only
// its address's budget (one name's failures make its next attempt wait), and at agents'
// cheap test hashes rather than the dummy hash unknown names are checked against.
func withGuessTargets(t *testing.T) func(*Config, *Deps) {
	return func(c *Config, _ *Deps) {
		for n := range signinBurst {
			c.Agents = append(c.Agents, Agent{Name: fmt.Sprintf("a%d", n), PasswordHash: minCostHash(t, "unguessable")})
		}
	}
}

func TestSignInRateLimit(t *testing.T) {
	f := newFixture(t, withGuessTargets(t))
	b := f.browser()
	for n := range signinBurst {
		require.Equal(t, http.StatusUnauthorized, b.signIn(fmt.Sprintf("a%d", n), "guess").status)
	}
	resp := b.signIn("alice", testPassword)
	require.Equal(t, http.StatusTooManyRequests, resp.status)
	require.Contains(t, resp.body, "Too many sign-in attempts")
	require.Equal(t, http.StatusSeeOther, b.get("/inbox/").status, "the limit holds even for the right password")

	f.clock.Add(signinEvery)
	require.Equal(t, http.StatusSeeOther, b.signIn("alice", testPassword).status, "budget refills over time")
	require.Equal(t, http.StatusOK, b.get("/inbox/").status)
}

// An IPv6 host holds a whole /64 and picks its source address freely: counted per address,
// each guess would come with a fresh budget.
func TestSignInRateLimitCoversAnIPv6Prefix(t *testing.T) {
	f := newFixture(t, withGuessTargets(t))
	attempt := func(remote, user, password string) int {
		token := randomToken()
		form := url.Values{"csrf": {token}, "username": {user}, "password": {password}}
		req := httptest.NewRequest(http.MethodPost, "/inbox/signin", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(&http.Cookie{Name: signinCookie, Value: token})
		req.RemoteAddr = remote
		rec := httptest.NewRecorder()
		f.srv.Config.Handler.ServeHTTP(rec, req)
		return rec.Code
	}
	for n := range signinBurst {
		require.Equal(t, http.StatusUnauthorized, attempt(fmt.Sprintf("[2001:db8:1:2::%x]:40000", n+1), fmt.Sprintf("a%d", n), "guess"))
	}
	require.Equal(t, http.StatusTooManyRequests, attempt("[2001:db8:1:2:aaaa::1]:40000", "alice", testPassword),
		"another address of the same /64 shares its budget")
	require.Equal(t, http.StatusSeeOther, attempt("[2001:db8:1:3::1]:40000", "alice", testPassword), "another /64 has its own")
	require.Equal(t, http.StatusSeeOther, attempt("192.0.2.7:40000", "alice", testPassword), "IPv4 addresses count one by one")
}

func TestSignInNeedsItsCSRFToken(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	form := b.get("/inbox/signin")
	token := find(t, `name="csrf" value="([^"]+)"`, form.body)
	for _, sent := range []string{"", "wrong-" + token} {
		resp := b.postForm("/inbox/signin", url.Values{"csrf": {sent}, "username": {"alice"}, "password": {testPassword}})
		require.Equal(t, http.StatusForbidden, resp.status)
	}
	// Without the cookie the form's token alone does not do.
	resp := f.browser().postForm("/inbox/signin", url.Values{"csrf": {token}, "username": {"alice"}, "password": {testPassword}})
	require.Equal(t, http.StatusForbidden, resp.status)
}

func TestCSRFRequiredForEveryChange(t *testing.T) {
	f := newFixture(t)
	c := f.conv("c1", lena, playerMsg("m1", "hi", t0))
	f.post(c, playerMsg("m1", "hi", t0))
	b := f.signedIn()
	tests := []struct {
		path string
		form url.Values
	}{
		{"/inbox/conversations/c1/reply", url.Values{"text": {"hello"}, "token": {"abcdefghijklmnopqrstuv"}}},
		{"/inbox/conversations/c1/reply", url.Values{"text": {"note"}, "action": {"note"}}},
		{"/inbox/conversations/c1/close", url.Values{}},
		{"/inbox/conversations/c1/reopen", url.Values{}},
		{"/inbox/conversations/c1/typing", url.Values{}},
		{"/inbox/signout", url.Values{}},
	}
	for _, tt := range tests {
		for _, token := range []string{"", "wrong", b.csrf + "x"} {
			t.Run(tt.path+" token="+token, func(t *testing.T) {
				form := url.Values{}
				for k, v := range tt.form {
					form[k] = v
				}
				if token != "" {
					form.Set(csrfField, token)
				}
				require.Equal(t, http.StatusForbidden, b.postForm(tt.path, form).status)
				require.Equal(t, http.StatusForbidden, b.postMultipart(tt.path, form, "a.txt", []byte("x")).status)
			})
		}
	}
	require.Empty(t, f.sink.delivered())
	require.Empty(t, f.statusCalls())
	require.Empty(t, f.typing.calls())
	require.Equal(t, http.StatusOK, b.get("/inbox/").status, "still signed in")
}

func TestSignOut(t *testing.T) {
	f := newFixture(t)
	b := f.signedIn()
	resp := b.postForm("/inbox/signout", url.Values{csrfField: {b.csrf}})
	require.Equal(t, http.StatusSeeOther, resp.status)
	require.Equal(t, "/inbox/signin", resp.header.Get("Location"))
	require.Equal(t, http.StatusSeeOther, b.get("/inbox/").status)
}

func TestSessionExpires(t *testing.T) {
	f := newFixture(t)
	b := f.signedIn()
	f.clock.Add(f.cfg.SessionTTL - time.Second)
	require.Equal(t, http.StatusOK, b.get("/inbox/").status)
	f.clock.Add(time.Second)
	resp := b.get("/inbox/")
	require.Equal(t, http.StatusSeeOther, resp.status)
	require.Equal(t, "/inbox/signin", resp.header.Get("Location"))
	require.Equal(t, http.StatusUnauthorized, b.get("/inbox/events").status)
}

// adminLine is what the first start prints.
var adminLine = regexp.MustCompile(`^Inbox: sign in at http://gateway\.test/inbox as admin with password ([A-Za-z0-9]{20}) \(shown once; change it with: gateway inbox-password --user admin\)\n$`)

func TestFirstStartCreatesAdminOnce(t *testing.T) {
	f := newFixture(t, func(c *Config, _ *Deps) { c.Agents = nil })
	m := adminLine.FindStringSubmatch(f.out.String())
	require.NotNil(t, m, "printed %q", f.out.String())
	password := m[1]
	require.NotContains(t, password, "0")
	require.NotContains(t, password, "O")
	require.NotContains(t, password, "l")
	require.NotContains(t, password, "1")

	b := f.browser()
	require.Equal(t, http.StatusSeeOther, b.signIn("admin", password).status)
	require.Equal(t, http.StatusOK, b.get("/inbox/").status)

	var out bytes.Buffer
	again, err := New(t.Context(), testName, f.cfg, Deps{Conversations: f.convs, Out: &out, PublicURL: "http://gateway.test"})
	require.NoError(t, err)
	require.NoError(t, again.Close())
	require.Equal(t, restartLine("admin"), out.String(), "a restart says where to sign in and how to reset a password, and shows none")
}

// restartLine is what a start prints when agents exist already: where to sign in, as whom,
// and how to get back in with a forgotten password.
func restartLine(agents string) string {
	return "Inbox: sign in at http://gateway.test/inbox as " + agents +
		" (forgot a password? set a new one with: gateway inbox-password --user NAME)\n"
}

// TestStartLinesNameThePasswordCommand: the lines a start prints tell the operator the
// command that resets a password of this very inbox. A gateway started with --config FILE
// keeps the inbox's database where FILE says; the bare command would read the default
// configuration and change ./data/inbox.db instead, so the gateway passes the command with
// the file (and the inbox's name when there are several).
func TestStartLinesNameThePasswordCommand(t *testing.T) {
	tests := []struct {
		name    string
		command string // Deps.PasswordCommand
		want    string
	}{
		{"default configuration", "", "gateway inbox-password"},
		{"configuration file", "gateway inbox-password --config /etc/gateway.yaml", "gateway inbox-password --config /etc/gateway.yaml"},
		{"several inboxes", "gateway inbox-password --config '/srv/my configs/gw.yaml' --helpdesk desk-2",
			"gateway inbox-password --config '/srv/my configs/gw.yaml' --helpdesk desk-2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.Agents = nil
			start := func() string {
				var out bytes.Buffer
				in, err := New(t.Context(), testName, cfg, Deps{Conversations: newFakeConversations(), Out: &out,
					PublicURL: "http://gateway.test", PasswordCommand: tt.command})
				require.NoError(t, err)
				require.NoError(t, in.Close())
				return out.String()
			}
			require.Contains(t, start(), "(shown once; change it with: "+tt.want+" --user admin)\n", "the first start")
			require.Equal(t, "Inbox: sign in at http://gateway.test/inbox as admin (forgot a password? set a new one with: "+
				tt.want+" --user NAME)\n", start(), "a restart")
		})
	}
}

func TestRestartSaysHowToSignIn(t *testing.T) {
	f := newFixture(t)
	require.Equal(t, restartLine("alice"), f.out.String(), "configured agents: no account made, no password shown")
	require.NoError(t, SetPassword(t.Context(), f.cfg.Database, "bob", "bob-password"))
	var out bytes.Buffer
	again, err := New(t.Context(), testName, f.cfg, Deps{Conversations: f.convs, Out: &out, PublicURL: "http://gateway.test/"})
	require.NoError(t, err)
	require.NoError(t, again.Close())
	require.Equal(t, restartLine("alice, bob"), out.String())
}

func TestConfiguredAgentsNeedNoAdmin(t *testing.T) {
	f := newFixture(t)
	require.NotContains(t, f.out.String(), "with password")
	_, found, err := f.in.findAgent(t.Context(), firstAgent)
	require.NoError(t, err)
	require.False(t, found)
}

func TestConfigManagesItsAgents(t *testing.T) {
	f := newFixture(t)
	b := f.signedIn()

	// The configuration's hash wins over one set by the CLI, and changing it signs out.
	require.NoError(t, SetPassword(t.Context(), f.cfg.Database, "alice", "cli-password"))
	cfg := f.cfg
	cfg.Agents = []Agent{{Name: "alice", PasswordHash: minCostHash(t, "new-config-password")}}
	restarted, err := New(t.Context(), testName, cfg, Deps{Conversations: f.convs, Out: io.Discard})
	require.NoError(t, err)
	a, found, err := restarted.findAgent(t.Context(), "alice")
	require.NoError(t, err)
	require.True(t, found)
	require.True(t, restarted.auth.checkPassword(a, found, "new-config-password"))
	require.Equal(t, "alice", a.DisplayName, "display name defaults to the name")
	require.NoError(t, restarted.Close())
	require.Equal(t, http.StatusSeeOther, b.get("/inbox/").status, "signed out by the new hash")

	// An agent the configuration drops is removed; one made with the CLI stays.
	require.NoError(t, SetPassword(t.Context(), f.cfg.Database, "bob", "bob-password"))
	cfg.Agents = []Agent{{Name: "carol", PasswordHash: minCostHash(t, "carol-password")}}
	restarted, err = New(t.Context(), testName, cfg, Deps{Conversations: f.convs, Out: io.Discard})
	require.NoError(t, err)
	defer restarted.Close()
	for name, want := range map[string]bool{"alice": false, "bob": true, "carol": true} {
		_, found, err := restarted.findAgent(t.Context(), name)
		require.NoError(t, err)
		require.Equal(t, want, found, name)
	}
}

func TestSetPassword(t *testing.T) {
	f := newFixture(t)
	db := f.cfg.Database
	require.NoError(t, SetPassword(t.Context(), db, "bob", "first-password"), "creates the agent")
	b := f.browser()
	require.Equal(t, http.StatusSeeOther, b.signIn("bob", "first-password").status)
	require.Equal(t, http.StatusOK, b.get("/inbox/").status)

	require.NoError(t, SetPassword(t.Context(), db, "bob", "second-password"))
	require.Equal(t, http.StatusSeeOther, b.get("/inbox/").status, "a new password signs out everywhere")
	require.Equal(t, http.StatusUnauthorized, f.browser().signIn("bob", "first-password").status)
	f.clock.Add(signinDelay(1))
	require.Equal(t, http.StatusSeeOther, f.browser().signIn("bob", "second-password").status)

	for _, bad := range []struct{ user, password string }{
		{"bob", "short"},
		{"Bob Smith", "long-enough-password"},
		{"", "long-enough-password"},
		{"bob", strings.Repeat("x", 73)},
	} {
		require.Error(t, SetPassword(t.Context(), db, bad.user, bad.password), "%q %q", bad.user, bad.password)
	}
}

func TestHashPassword(t *testing.T) {
	h, err := HashPassword("correct horse")
	require.NoError(t, err)
	require.Regexp(t, `^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$`, h, "what config validates")
	require.True(t, (&authState{}).checkPassword(agent{Hash: h}, true, "correct horse"))
	_, err = HashPassword("short")
	require.Error(t, err)
}

func TestGeneratedPasswords(t *testing.T) {
	seen := map[string]bool{}
	for range 50 {
		p, err := generatePassword()
		require.NoError(t, err)
		require.Len(t, p, generatedPasswordLen)
		for _, r := range p {
			require.Contains(t, passwordAlphabet, string(r))
		}
		require.False(t, seen[p])
		seen[p] = true
	}
}

func TestNewRejectsMissingDeps(t *testing.T) {
	_, err := New(t.Context(), testName, testConfig(t), Deps{})
	require.Error(t, err)
	cfg := testConfig(t)
	cfg.Database = ""
	_, err = New(t.Context(), testName, cfg, Deps{Conversations: newFakeConversations()})
	require.Error(t, err)
}

// An unknown name is checked against a dummy hash as costly as the agents' own, or response
// times would tell which names exist.
func TestUnknownNamesCostWhatAgentsCost(t *testing.T) {
	hashAt := func(cost int) settings.Secret {
		h, err := bcrypt.GenerateFromPassword([]byte("correct horse battery"), cost)
		require.NoError(t, err)
		return settings.Secret(h)
	}
	for _, tc := range []struct {
		name   string
		agents []Agent
		want   int
	}{
		{"no configured agents: the inbox's own hashes", nil, bcrypt.DefaultCost},
		{"cheaper configured hashes", []Agent{{Name: "a", PasswordHash: hashAt(bcrypt.MinCost)}}, bcrypt.DefaultCost},
		{"a costlier configured hash", []Agent{{Name: "a", PasswordHash: hashAt(bcrypt.MinCost)}, {Name: "b", PasswordHash: hashAt(12)}}, 12},
		{"an unreadable hash is ignored", []Agent{{Name: "a", PasswordHash: "not a hash"}}, bcrypt.DefaultCost},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := bcrypt.Cost(newAuthState(hashCost(tc.agents)).dummyHash())
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}
