package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
)

// agentBrowser signs in to the inbox of a running gateway as if from client, an address a
// proxy forwards in X-Forwarded-For ("" sends none).
type agentBrowser struct {
	t      *testing.T
	base   string
	client *http.Client
	from   string
}

func newAgentBrowser(t *testing.T, base, from string) *agentBrowser {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &agentBrowser{t: t, base: base, from: from, client: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// signIn posts the sign-in form and returns the status: 303 signed in, 401 wrong password,
// 429 held back.
func (b *agentBrowser) signIn(user, password string) int {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.base+"/inbox/signin", nil)
	require.NoError(b.t, err)
	form := b.do(req)
	m := csrfInput.FindStringSubmatch(form)
	require.NotNil(b.t, m, "sign-in form: %s", form)
	req, err = http.NewRequest(http.MethodPost, b.base+"/inbox/signin",
		strings.NewReader(url.Values{"csrf": {m[1]}, "username": {user}, "password": {password}}.Encode()))
	require.NoError(b.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := b.send(req)
	require.NoError(b.t, err)
	resp.Body.Close()
	return resp.StatusCode
}

func (b *agentBrowser) send(req *http.Request) (*http.Response, error) {
	if b.from != "" {
		req.Header.Set("X-Forwarded-For", b.from)
	}
	return b.client.Do(req)
}

func (b *agentBrowser) do(req *http.Request) string {
	b.t.Helper()
	resp, err := b.send(req)
	require.NoError(b.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(b.t, err)
	return string(body)
}

// inboxWithAgents is a configuration with the inbox and agents alice to grace, whose
// passwords are their names followed by "-password". (Guesses at agents' names are checked
// against their cheap test hashes; an unknown name costs a full bcrypt comparison.)
func inboxWithAgents(t *testing.T, trusted string) string {
	var agents strings.Builder
	for _, name := range []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace"} {
		h, err := bcrypt.GenerateFromPassword([]byte(name+"-password"), bcrypt.MinCost)
		require.NoError(t, err)
		fmt.Fprintf(&agents, "      - {name: %s, password_hash: %q}\n", name, h)
	}
	return fmt.Sprintf(`
trusted_proxies: %s
channels: [{name: web, type: webchat}]
helpdesks:
  - name: inbox
    type: inbox
    agents:
%sdefault_helpdesk: inbox
`, trusted, agents.String())
}

// Behind the TLS proxy every deployment has, the TCP peer of every agent is the proxy: the
// inbox's per-address sign-in limit then counted all agents as one, and five bad passwords
// locked everyone out. With the proxy in trusted_proxies, each agent counts by the address the
// proxy forwarded.
func TestSignInLimitsCountTheForwardedAddress(t *testing.T) {
	base, _, _, logs := runServe(t, inboxWithAgents(t, "[127.0.0.1/32]"))
	guesser := newAgentBrowser(t, base, "203.0.113.66")
	// Five bad passwords, each at another name so that only the address's budget is spent
	// (one name's failures make its next attempt wait, wherever it comes from).
	for _, user := range []string{"alice", "dave", "erin", "frank", "grace"} {
		require.Equal(t, http.StatusUnauthorized, guesser.signIn(user, "guess"), user)
	}
	require.Equal(t, http.StatusTooManyRequests, guesser.signIn("bob", "guess"),
		"the forwarded address has spent its budget")
	require.Equal(t, http.StatusTooManyRequests, newAgentBrowser(t, base, "10.0.0.1, 203.0.113.66").signIn("bob", "bob-password"),
		"what the client adds in front of the proxy's entry does not change its address")

	// Another agent, at another address, behind the same proxy: not locked out.
	require.Equal(t, http.StatusSeeOther, newAgentBrowser(t, base, "198.51.100.7").signIn("bob", "bob-password"))
	require.Equal(t, http.StatusSeeOther, newAgentBrowser(t, base, "2001:db8::7").signIn("carol", "carol-password"))

	// Log lines name the client, not the proxy.
	require.Contains(t, logs.String(), `"msg":"sign-in attempts over the limit","helpdesk":"inbox","client":"203.0.113.66"`)
	require.Contains(t, logs.String(), `"msg":"agent signed in","helpdesk":"inbox","agent":"carol","client":"2001:db8::7"`)
	require.NotContains(t, logs.String(), `"client":"127.0.0.1"`)
}

// From a peer that is not a trusted proxy, X-Forwarded-For is whatever the client wants it to
// be: a guesser changing it on every try must still be counted by its TCP address.
func TestSpoofedForwardedForIsIgnored(t *testing.T) {
	base, _, _, _ := runServe(t, inboxWithAgents(t, "[]"))
	for n, user := range []string{"alice", "dave", "erin", "frank", "grace"} {
		spoofer := newAgentBrowser(t, base, fmt.Sprintf("198.51.100.%d", n+1))
		require.Equal(t, http.StatusUnauthorized, spoofer.signIn(user, "guess"), user)
	}
	require.Equal(t, http.StatusTooManyRequests, newAgentBrowser(t, base, "198.51.100.99").signIn("bob", "bob-password"),
		"a fresh X-Forwarded-For bought no fresh budget")
	require.Equal(t, http.StatusTooManyRequests, newAgentBrowser(t, base, "").signIn("bob", "bob-password"))
}
