package inbox

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"image"
	"image/png"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
)

const adminPassword = "ada-password"

// fakePairable is a channel instance waiting to be paired, or paired, as the test sets it.
type fakePairable struct {
	mu       sync.Mutex
	st       PairingStatus
	pairNows int
	phones   []string
	phoneErr error
}

func (p *fakePairable) PairingStatus() PairingStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.st
}

func (p *fakePairable) PairNow() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pairNows++
}

func (p *fakePairable) PairPhone(phone string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.phoneErr != nil {
		return p.phoneErr
	}
	p.phones = append(p.phones, phone)
	p.st.PairCode = "ABCD-EFGH"
	return nil
}

func (p *fakePairable) set(change func(*PairingStatus)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	change(&p.st)
}

func (p *fakePairable) refusePhones(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.phoneErr = err
}

func (p *fakePairable) calls() (pairNows int, phones []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pairNows, append([]string(nil), p.phones...)
}

// whatsAppCode is shaped like the codes whatsmeow hands out: ref, noise key, identity key, ADV secret.
const whatsAppCode = "2@Xy7QvKpd0mZ3c5GfLr1sTqNw8uHjYbEaKoVxCiPzRl4nMe9OgUdSh6Bt2WyFJ," +
	"kM3pQ0rZ8sVt1uWx2yZa3bCd4eFg5hIj6kLm7nOp8qR=,aB1cD2eF3gH4iJ5kL6mN7oP8qR9sT0uV1wX2yZ3aB4c=,Qm9Xc2VjcmV0LWtleS1mb3ItdGVzdHM="

// pairingFixture is an inbox with an admin agent, ada, beside alice, and two WhatsApp
// instances: wa-main waiting to be paired, wa-old paired.
func pairingFixture(t *testing.T) (*fixture, *fakePairable, *fakePairable) {
	waiting := &fakePairable{st: PairingStatus{Instance: "wa-main", Kind: normalize.KindWhatsApp, State: "pairing",
		Detail: "scan the QR code", Unlinked: true, PhoneCodes: true, QRCode: whatsAppCode,
		QRExpires: t0.Add(20 * time.Second), Since: t0}}
	paired := &fakePairable{st: PairingStatus{Instance: "wa-old", Kind: normalize.KindWhatsApp, State: "connected",
		Detail: "connected", Account: "+4930901820", PhoneCodes: true, Since: t0}}
	f := newFixture(t, func(c *Config, d *Deps) {
		c.Agents = append(c.Agents, Agent{Name: "ada", DisplayName: "Ada", PasswordHash: minCostHash(t, adminPassword), Admin: true})
		// Resolved at each request, as cmd/gateway's lookup is: the order is the page's to fix.
		d.Pairables = func() []Pairable { return []Pairable{paired, waiting} }
	})
	return f, waiting, paired
}

// TestPairingPageIsForAdmins: signed-out browsers go to sign-in (scripts get 401), agents get
// 403, and only admins see the page and the link to it.
func TestPairingPageIsForAdmins(t *testing.T) {
	f, waiting, _ := pairingFixture(t)
	alice := f.signedIn()
	ada := f.signedInAs("ada", adminPassword)
	tests := []struct {
		method, path string
		out, agent   int
	}{
		{"GET", "/inbox/admin/pairing", http.StatusSeeOther, http.StatusForbidden},
		{"GET", "/inbox/admin/pairing/status", http.StatusUnauthorized, http.StatusForbidden},
		{"GET", "/inbox/admin/pairing/wa-main/qr.png", http.StatusUnauthorized, http.StatusForbidden},
		{"POST", "/inbox/admin/pairing/wa-main/new-code", http.StatusSeeOther, http.StatusForbidden},
		{"POST", "/inbox/admin/pairing/wa-main/phone", http.StatusSeeOther, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			do := func(b *browser) response {
				form := url.Values{"csrf": {b.csrf}, "phone": {"+4915112345678"}}
				if tt.method == "POST" {
					return b.postForm(tt.path, form)
				}
				return b.get(tt.path)
			}
			out := do(f.browser())
			require.Equal(t, tt.out, out.status)
			require.NotContains(t, out.body, "wa-main")
			if tt.out == http.StatusSeeOther {
				require.True(t, strings.HasPrefix(out.header.Get("Location"), "/inbox/signin"), out.header.Get("Location"))
			}
			agent := do(alice)
			require.Equal(t, tt.agent, agent.status)
			require.Contains(t, agent.body, "Only administrators")
			require.NotContains(t, agent.body, "wa-main")
		})
	}
	nows, phones := waiting.calls()
	require.Zero(t, nows)
	require.Empty(t, phones)

	signin := f.browser().get("/inbox/admin/pairing")
	require.Equal(t, "/inbox/signin?next=%2Finbox%2Fadmin%2Fpairing", signin.header.Get("Location"),
		"after sign-in the admin comes back to the page")
	require.NotContains(t, alice.get("/inbox/").body, `id="nav-pairing"`)
	require.Contains(t, ada.get("/inbox/").body, `<a id="nav-pairing" href="/inbox/admin/pairing">Channels</a>`)
	require.Equal(t, http.StatusOK, ada.get("/inbox/admin/pairing").status)
}

// TestPairingPage: the page lists every instance by name with state and detail, the QR code
// of the one waiting as an image of its code, the account of the paired one, and the forms
// only where pairing applies.
func TestPairingPage(t *testing.T) {
	f, _, _ := pairingFixture(t)
	ada := f.signedInAs("ada", adminPassword)
	page := ada.get("/inbox/admin/pairing")
	require.Equal(t, http.StatusOK, page.status, page.body)
	require.Equal(t, "no-store", page.header.Get("Cache-Control"))
	body := page.body
	require.Less(t, strings.Index(body, `id="pair-wa-main"`), strings.Index(body, `id="pair-wa-old"`), "sorted by name")
	require.Contains(t, body, `<span class="badge pair-state" data-field="state">pairing</span> <span class="detail" data-field="detail">scan the QR code</span>`)
	require.Contains(t, body, `<strong data-field="account">&#43;4930901820</strong>`)
	require.NotContains(t, body, whatsAppCode, "the code reaches the browser only as an image")
	require.Equal(t, 1, strings.Count(body, `action="/inbox/admin/pairing/wa-main/new-code"`))
	require.Equal(t, 1, strings.Count(body, `action="/inbox/admin/pairing/wa-main/phone"`))

	// The paired instance's forms are there for the script to show, but hidden.
	old := body[strings.Index(body, `id="pair-wa-old"`):]
	require.Contains(t, old, `class="pair-actions" data-show="unlinked" hidden`)
	require.Contains(t, old, `data-field="qr" alt="QR code for wa-old: scan it with WhatsApp" hidden>`)

	src := find(t, `<img class="qr" data-field="qr" alt="QR code for wa-main: scan it with WhatsApp" src="([^"]+)">`, body)
	text, width := decodeQR(t, ada, strings.ReplaceAll(src, "&amp;", "&"))
	require.Equal(t, whatsAppCode, text)
	require.GreaterOrEqual(t, width, 300, "large enough for a phone to read off a screen")
}

// decodeQR fetches the QR image at path and returns the text a QR reader finds in it, and
// the image's width.
func decodeQR(t *testing.T, b *browser, path string) (string, int) {
	t.Helper()
	resp := b.get(path)
	require.Equal(t, http.StatusOK, resp.status, resp.body)
	require.Equal(t, "image/png", resp.header.Get("Content-Type"))
	img, err := png.Decode(strings.NewReader(resp.body))
	require.NoError(t, err)
	text, err := readQR(img)
	require.NoError(t, err)
	return text, img.Bounds().Dx()
}

// readQR returns the text a QR reader (ZXing's) finds in img.
func readQR(img image.Image) (string, error) {
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		return "", err
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		return "", err
	}
	return res.GetText(), nil
}

// qrText is decodeQR's text.
func qrText(t *testing.T, b *browser, path string) string {
	t.Helper()
	text, _ := decodeQR(t, b, path)
	return text
}

// TestPairingStatusJSON: the page's script follows the codes through the JSON: a new code is
// a new image address, and a paired instance shows its account and no code.
func TestPairingStatusJSON(t *testing.T) {
	f, waiting, _ := pairingFixture(t)
	ada := f.signedInAs("ada", adminPassword)
	status := func() map[string]pairingRow {
		t.Helper()
		resp := ada.get("/inbox/admin/pairing/status")
		require.Equal(t, http.StatusOK, resp.status, resp.body)
		require.Equal(t, "application/json", resp.header.Get("Content-Type"))
		require.Equal(t, "no-store", resp.header.Get("Cache-Control"))
		var got struct{ Instances []pairingRow }
		require.NoError(t, json.Unmarshal([]byte(resp.body), &got))
		rows := map[string]pairingRow{}
		for _, r := range got.Instances {
			rows[r.Instance] = r
		}
		require.Len(t, rows, 2)
		require.NotContains(t, resp.body, whatsAppCode)
		return rows
	}
	first := status()
	require.Equal(t, pairingRow{Instance: "wa-old", Kind: "whatsapp", State: "connected", Detail: "connected",
		PhoneCodes: true, Account: "+4930901820", Since: t0}, first["wa-old"])
	main := first["wa-main"]
	require.True(t, main.Unlinked)
	require.Equal(t, "pairing", main.State)
	require.True(t, main.QRExpires.Equal(t0.Add(20*time.Second)))
	require.Equal(t, whatsAppCode, qrText(t, ada, main.QR))

	waiting.set(func(s *PairingStatus) { s.QRCode = whatsAppCode[:40] + "-next" })
	next := status()["wa-main"]
	require.NotEqual(t, main.QR, next.QR, "a new code is a new address, so the browser fetches it")
	require.Equal(t, whatsAppCode[:40]+"-next", qrText(t, ada, next.QR))
	require.Equal(t, whatsAppCode[:40]+"-next", qrText(t, ada, main.QR), "an old address shows the current code")

	waiting.set(func(s *PairingStatus) {
		s.State, s.Detail, s.QRCode, s.Unlinked, s.Account = "connected", "connected", "", false, "+4915112345678"
	})
	done := status()["wa-main"]
	require.Empty(t, done.QR)
	require.False(t, done.Unlinked)
	require.Equal(t, "+4915112345678", done.Account)
	require.Equal(t, http.StatusNotFound, ada.get(main.QR).status, "no code waits")
	require.Equal(t, http.StatusNotFound, ada.get("/inbox/admin/pairing/wa-nope/qr.png").status)
}

// TestPairingActions: the buttons need the session's CSRF token; "New QR code" asks the
// instance for one, the phone form for a pairing code, whose refusal the page shows.
func TestPairingActions(t *testing.T) {
	f, waiting, _ := pairingFixture(t)
	ada := f.signedInAs("ada", adminPassword)

	for _, path := range []string{"/inbox/admin/pairing/wa-main/new-code", "/inbox/admin/pairing/wa-main/phone"} {
		for _, token := range []string{"", "forged"} {
			resp := ada.postForm(path, url.Values{"csrf": {token}, "phone": {"+4915112345678"}})
			require.Equal(t, http.StatusForbidden, resp.status, "%s with csrf %q", path, token)
		}
	}
	nows, phones := waiting.calls()
	require.Zero(t, nows)
	require.Empty(t, phones)

	resp := ada.postForm("/inbox/admin/pairing/wa-main/new-code", url.Values{"csrf": {ada.csrf}})
	require.Equal(t, http.StatusSeeOther, resp.status, resp.body)
	require.Equal(t, "/inbox/admin/pairing#pair-wa-main", resp.header.Get("Location"))
	resp = ada.postForm("/inbox/admin/pairing/wa-main/phone", url.Values{"csrf": {ada.csrf}, "phone": {" +49 151 12345678 "}})
	require.Equal(t, http.StatusSeeOther, resp.status, resp.body)
	nows, phones = waiting.calls()
	require.Equal(t, 1, nows)
	require.Equal(t, []string{"+49 151 12345678"}, phones, "the channel reads the number; the page only trims it")
	require.Contains(t, ada.get("/inbox/admin/pairing").body, `<strong data-field="pair_code">ABCD-EFGH</strong>`)

	waiting.refusePhones(errors.New(`whatsapp wa-main: "0151" is no number in E.164`))
	resp = ada.postForm("/inbox/admin/pairing/wa-main/phone", url.Values{"csrf": {ada.csrf}, "phone": {"0151"}})
	require.Equal(t, http.StatusBadRequest, resp.status)
	require.Contains(t, resp.body, `<p id="pairing-error" class="error" role="alert">No pairing code for wa-main: whatsapp wa-main: &#34;0151&#34; is no number in E.164</p>`)
	waiting.refusePhones(errors.ErrUnsupported)
	resp = ada.postForm("/inbox/admin/pairing/wa-main/phone", url.Values{"csrf": {ada.csrf}, "phone": {"+4915112345678"}})
	require.Equal(t, http.StatusBadRequest, resp.status)
	require.Contains(t, resp.body, "wa-main cannot be paired by a code typed on the phone; scan its QR code.")

	resp = ada.postForm("/inbox/admin/pairing/wa-nope/new-code", url.Values{"csrf": {ada.csrf}})
	require.Equal(t, http.StatusNotFound, resp.status)
}

// TestPairingPageWithoutChannels: an inbox of a gateway with nothing to pair says so.
func TestPairingPageWithoutChannels(t *testing.T) {
	f := newFixture(t, func(c *Config, d *Deps) {
		c.Agents = append(c.Agents, Agent{Name: "ada", PasswordHash: minCostHash(t, adminPassword), Admin: true})
	})
	page := f.signedInAs("ada", adminPassword).get("/inbox/admin/pairing")
	require.Equal(t, http.StatusOK, page.status)
	require.Contains(t, page.body, "No channel of this gateway is paired from the inbox.")
}

// TestAdminFlag: the first start's account is an admin, also in a database from before admin
// agents existed; configured agents are admins only when the configuration says so, and stop
// being one when it no longer does.
func TestAdminFlag(t *testing.T) {
	f := newFixture(t, func(c *Config, d *Deps) { c.Agents = nil })
	password := find(t, `with password (\S+) `, f.out.String())
	require.Contains(t, f.signedInAs("admin", password).get("/inbox/").body, `id="nav-pairing"`)

	isAdmin := func(db *sql.DB, name string) bool {
		var admin bool
		require.NoError(t, db.QueryRow(`SELECT admin FROM agents WHERE name = ?`, name).Scan(&admin))
		return admin
	}
	// A database from before: no admin column, the migration not applied.
	_, err := f.in.db.Exec(`ALTER TABLE agents DROP COLUMN admin; DELETE FROM schema_migrations WHERE version = 3`)
	require.NoError(t, err)
	require.NoError(t, f.in.Close())
	cfg := f.cfg
	cfg.Agents = nil
	again, err := New(t.Context(), testName, cfg, Deps{Conversations: f.convs, Out: &bytes.Buffer{}})
	require.NoError(t, err)
	require.True(t, isAdmin(again.db.DB, "admin"), "the first start's account stays the admin")
	require.NoError(t, again.Close())

	cfg.Agents = []Agent{{Name: "ada", PasswordHash: minCostHash(t, adminPassword), Admin: true}}
	again, err = New(t.Context(), testName, cfg, Deps{Conversations: f.convs, Out: &bytes.Buffer{}})
	require.NoError(t, err)
	require.True(t, isAdmin(again.db.DB, "ada"))
	require.NoError(t, again.Close())
	cfg.Agents[0].Admin = false
	again, err = New(t.Context(), testName, cfg, Deps{Conversations: f.convs, Out: &bytes.Buffer{}})
	require.NoError(t, err)
	require.False(t, isAdmin(again.db.DB, "ada"))
	require.NoError(t, again.Close())
}
