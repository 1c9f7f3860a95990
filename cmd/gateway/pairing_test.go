package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/casino-support/gateway/config"
)

// TestInboxPairsWhatsApp: with a whatsapp channel and the inbox configured, the inbox's admins
// find the instance on the Channels page, waiting to be paired, and its forms reach the
// channel. The connectors are assembled, not run: nothing dials WhatsApp.
func TestInboxPairsWhatsApp(t *testing.T) {
	dir := t.TempDir()
	hash := func(password string) string {
		h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
		require.NoError(t, err)
		return string(h)
	}
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
listen: 127.0.0.1:0
data_dir: %s
channels:
  - {name: web, type: webchat}
  - {name: wa-main, type: whatsapp}
helpdesks:
  - name: inbox
    type: inbox
    agents:
      - {name: ada, password_hash: %q, admin: true}
      - {name: alice, password_hash: %q}
default_helpdesk: inbox
`, dir, hash("ada-password"), hash("alice-password"))), dir, nil, catalog(connectorTypes()))
	require.NoError(t, err)
	g, err := assemble(t.Context(), cfg, "", io.Discard, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(g.close)
	srv := httptest.NewServer(g.handler())
	t.Cleanup(srv.Close)

	// fetch GETs path, or with a form, POSTs it, as b.
	fetch := func(b *agentBrowser, path string, form url.Values) (int, string) {
		method, body := http.MethodGet, ""
		if form != nil {
			method, body = http.MethodPost, form.Encode()
		}
		req, err := http.NewRequestWithContext(context.Background(), method, srv.URL+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := b.send(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		got, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(got)
	}
	get := func(b *agentBrowser, path string) (int, string) { return fetch(b, path, nil) }
	alice := newAgentBrowser(t, srv.URL, "")
	require.Equal(t, http.StatusSeeOther, alice.signIn("alice", "alice-password"))
	status, _ := get(alice, "/inbox/admin/pairing")
	require.Equal(t, http.StatusForbidden, status, "agents are not admins")

	ada := newAgentBrowser(t, srv.URL, "")
	require.Equal(t, http.StatusSeeOther, ada.signIn("ada", "ada-password"))
	_, list := get(ada, "/inbox/")
	require.Contains(t, list, `href="/inbox/admin/pairing"`, "the navigation links the page for admins")
	status, page := get(ada, "/inbox/admin/pairing")
	require.Equal(t, http.StatusOK, status, page)
	require.Contains(t, page, `id="pair-wa-main"`)
	require.NotContains(t, page, `id="pair-web"`, "the web chat has nothing to pair")

	status, body := get(ada, "/inbox/admin/pairing/status")
	require.Equal(t, http.StatusOK, status, body)
	var got struct {
		Instances []struct {
			Instance   string `json:"instance"`
			Kind       string `json:"kind"`
			State      string `json:"state"`
			Unlinked   bool   `json:"unlinked"`
			PhoneCodes bool   `json:"phone_codes"`
			QR         string `json:"qr"`
		} `json:"instances"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &got))
	require.Len(t, got.Instances, 1)
	wa := got.Instances[0]
	require.Equal(t, "wa-main", wa.Instance)
	require.Equal(t, "whatsapp", wa.Kind)
	require.Equal(t, "unpaired", wa.State, "not run: no QR round began")
	require.True(t, wa.Unlinked)
	require.True(t, wa.PhoneCodes)
	require.Empty(t, wa.QR)

	// The phone form reaches the channel, which checks the number.
	csrf := csrfInput.FindStringSubmatch(page)
	require.NotNil(t, csrf)
	post := func(path string, form url.Values) (int, string) { return fetch(ada, path, form) }
	status, body = post("/inbox/admin/pairing/wa-main/phone", url.Values{"csrf": {csrf[1]}, "phone": {"12"}})
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, body, "No pairing code for wa-main: whatsapp wa-main:")
	status, _ = post("/inbox/admin/pairing/wa-main/phone", url.Values{"csrf": {csrf[1]}, "phone": {"+49 151 12345678"}})
	require.Equal(t, http.StatusSeeOther, status)
	status, _ = post("/inbox/admin/pairing/wa-main/new-code", url.Values{"csrf": {csrf[1]}})
	require.Equal(t, http.StatusSeeOther, status)
}
