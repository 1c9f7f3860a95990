package inbox

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// signinFrom posts the sign-in form as a browser at remote would, carrying cookies.
func (f *fixture) signinFrom(remote, user, password string, cookies ...*http.Cookie) (*http.Response, string) {
	f.t.Helper()
	token := randomToken()
	form := url.Values{"csrf": {token}, "username": {user}, "password": {password}}
	req := httptest.NewRequest(http.MethodPost, "/inbox/signin", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: signinCookie, Value: token})
	for _, c := range cookies {
		req.AddCookie(c)
	}
	req.RemoteAddr = remote
	rec := httptest.NewRecorder()
	f.srv.Config.Handler.ServeHTTP(rec, req)
	resp := rec.Result()
	body, err := io.ReadAll(resp.Body)
	require.NoError(f.t, err)
	return resp, string(body)
}

// addr returns the n-th of many client addresses, so that tests of the per-account delay
// never meet the per-address budget.
func addr(n int) string { return fmt.Sprintf("198.51.%d.%d:40000", n/250, n%250+1) }

// deviceOf returns the device cookie a successful sign-in set.
func deviceOf(t *testing.T, resp *http.Response) *http.Cookie {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Name == deviceCookie && c.Value != "" {
			require.True(t, c.HttpOnly)
			require.Equal(t, http.SameSiteStrictMode, c.SameSite)
			return c
		}
	}
	t.Fatal("no device cookie set")
	return nil
}

// Guessing one account from many addresses: the per-address budget never bites, so each
// failure makes the next attempt wait, 2 s after the first, doubling to a minute. An attempt
// that comes too early is not checked at all, not even with the right password.
func TestSignInDelayGrowsPerAccount(t *testing.T) {
	f := newFixture(t)
	n := 0
	next := func() string { n++; return addr(n) }
	for i, delay := range []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second,
		32 * time.Second, time.Minute, time.Minute, time.Minute} {
		resp, _ := f.signinFrom(next(), "alice", "guess")
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "failure %d is checked", i+1)
		f.clock.Add(delay - time.Second)
		resp, body := f.signinFrom(next(), "alice", testPassword)
		require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "after failure %d the next waits %s", i+1, delay)
		require.Equal(t, "1", resp.Header.Get("Retry-After"))
		require.Contains(t, body, "Please wait 1 seconds")
		f.clock.Add(time.Second)
	}
	resp, _ := f.signinFrom(next(), "alice", testPassword)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, "never longer than a minute")

	// Success resets: the next failure waits 2 s again.
	resp, _ = f.signinFrom(next(), "alice", "guess")
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	resp, _ = f.signinFrom(next(), "alice", testPassword)
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	require.Equal(t, "2", resp.Header.Get("Retry-After"))
}

// The delay is a brake on guessing, not a lock someone else can set: other agents are not
// slowed, the agent's own browser is not slowed by another's failures, and a browser without
// the device cookie waits a minute at most.
func TestFailedSignInsLockNoOneElseOut(t *testing.T) {
	f := newFixture(t, func(c *Config, _ *Deps) {
		c.Agents = append(c.Agents, Agent{Name: "bob", PasswordHash: minCostHash(t, "bob-password")})
	})
	resp, _ := f.signinFrom(addr(1), "alice", testPassword)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	device := deviceOf(t, resp)

	// Someone guesses at alice's account as fast as the delay lets them, from many addresses.
	at := 10
	for range 8 {
		f.clock.Add(maxSigninDelay)
		at++
		resp, _ := f.signinFrom(addr(at), "alice", "guess")
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	}
	resp, _ = f.signinFrom(addr(2), "alice", testPassword)
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "a new browser waits like the guesser")
	resp, _ = f.signinFrom(addr(3), "bob", "bob-password")
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, "another agent is not slowed")
	resp, _ = f.signinFrom(addr(1), "alice", testPassword, device)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, "alice's own browser is not slowed by the guesser")
	device = deviceOf(t, resp)

	// A device cookie counts its own failures.
	resp, _ = f.signinFrom(addr(1), "alice", "typo", device)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	resp, _ = f.signinFrom(addr(1), "alice", testPassword, device)
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	f.clock.Add(signinDelay(1))
	resp, _ = f.signinFrom(addr(1), "alice", testPassword, device)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	device = deviceOf(t, resp)

	// Forged or foreign device cookies are no device.
	f.clock.Add(maxSigninDelay)
	at++
	resp, _ = f.signinFrom(addr(at), "alice", "guess")
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	// The MAC's last character changed to another one (a fixed replacement would sometimes be
	// the same character, and the cookie still valid).
	last := device.Value[len(device.Value)-1]
	altered := byte('0')
	if last == altered {
		altered = '1'
	}
	for name, v := range map[string]string{
		"altered MAC":    device.Value[:len(device.Value)-1] + string(altered),
		"another name":   strings.Replace(device.Value, "alice.", "bob.", 1),
		"no MAC":         "alice.nonce",
		"arbitrary text": "x",
	} {
		resp, _ := f.signinFrom(addr(4), "alice", testPassword, &http.Cookie{Name: deviceCookie, Value: v})
		require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, name)
	}
	// A new password revokes every device.
	require.NoError(t, SetPassword(t.Context(), f.cfg.Database, "alice", "a-new-password"))
	resp, _ = f.signinFrom(addr(1), "alice", "a-new-password", device)
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)

	f.clock.Add(maxSigninDelay)
	resp, _ = f.signinFrom(addr(2), "alice", "a-new-password")
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, "a minute later the account is open again")
}

// Made-up names wait like agents' names do: the delay does not tell which names exist.
func TestSignInDelayHidesWhichNamesExist(t *testing.T) {
	f := newFixture(t)
	var bodies []string
	for i, user := range []string{"alice", "mallory"} {
		resp, _ := f.signinFrom(addr(2*i), user, "guess")
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		resp, body := f.signinFrom(addr(2*i+1), user, "guess")
		require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, user)
		require.Equal(t, "2", resp.Header.Get("Retry-After"), user)
		bodies = append(bodies, find(t, `(Too many failed sign-ins[^<]*)`, body))
	}
	require.Equal(t, bodies[0], bodies[1])
}

func TestSigninDelay(t *testing.T) {
	for n, want := range []time.Duration{0, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second,
		32 * time.Second, time.Minute, time.Minute} {
		require.Equal(t, want, signinDelay(n), "after %d failures", n)
	}
	require.Equal(t, time.Minute, signinDelay(1000))
}
