package inbox

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"rsc.io/qr"

	"github.com/casino-support/gateway/normalize"
)

// Pairable is a channel instance an admin links to an account from the inbox: a WhatsApp
// linked device shows the QR code a phone scans. The inbox declares what it uses, so it
// depends on no channel package; cmd/gateway adapts the channels that can be paired.
type Pairable interface {
	// PairingStatus returns where the instance's link stands now.
	PairingStatus() PairingStatus
	// PairNow asks for a new round of codes at once when the instance waits between rounds.
	PairNow()
	// PairPhone asks for a code to type on the phone instead of scanning, for phone (E.164);
	// PairingStatus shows it as PairCode. Channels without such codes (PhoneCodes false)
	// return errors.ErrUnsupported.
	PairPhone(phone string) error
}

// PairingStatus is what the pairing page shows of an instance.
type PairingStatus struct {
	Instance normalize.InstanceName
	Kind     normalize.ChannelKind
	// State is the channel's word for where the link stands ("pairing", "connected" ...).
	State string
	// Detail says what to do or what happens next, in the channel's words.
	Detail string
	// Unlinked: no account is linked, so pairing applies; the page offers its buttons.
	Unlinked bool
	// PhoneCodes: the channel can pair by a code typed on the phone (PairPhone).
	PhoneCodes bool
	// QRCode is the text to show as a QR image; "" when none waits to be scanned.
	QRCode    string
	QRExpires time.Time
	// PairCode is the code PairPhone asked for, while it holds.
	PairCode string
	// Account is the linked account (a phone number in E.164) once paired.
	Account string
	Since   time.Time
}

// pairingView is the admin page of the channels that can be paired.
type pairingView struct {
	common
	Instances []pairingRow
	Error     string // why the last request was refused
}

// pairingRow is one instance on the pairing page and in its JSON, which the page's script
// polls to follow codes WhatsApp replaces every 20 to 60 seconds.
type pairingRow struct {
	Instance   string    `json:"instance"`
	Kind       string    `json:"kind"`
	State      string    `json:"state"`
	Detail     string    `json:"detail"`
	Unlinked   bool      `json:"unlinked"`
	PhoneCodes bool      `json:"phone_codes"`
	QR         string    `json:"qr"` // the QR image's address; "" when no code waits
	QRExpires  time.Time `json:"qr_expires,omitzero"`
	PairCode   string    `json:"pair_code"`
	Account    string    `json:"account"`
	Since      time.Time `json:"since,omitzero"`
}

// qrScale is the image pixels of a QR module: WhatsApp's codes (about 60 modules a side
// with the quiet zone) become some 400 pixels, which a phone reads off a screen.
const qrScale = 6

// pairables returns the instances that can be paired, by name.
func (i *Inbox) pairables() []Pairable {
	if i.deps.Pairables == nil {
		return nil
	}
	ps := i.deps.Pairables()
	slices.SortFunc(ps, func(a, b Pairable) int {
		return strings.Compare(string(a.PairingStatus().Instance), string(b.PairingStatus().Instance))
	})
	return ps
}

// pairable returns the instance of the request's {instance}, or answers 404 itself.
func (i *Inbox) pairable(w http.ResponseWriter, r *http.Request) (Pairable, bool) {
	name := normalize.InstanceName(r.PathValue("instance"))
	for _, p := range i.pairables() {
		if p.PairingStatus().Instance == name {
			return p, true
		}
	}
	http.Error(w, "No channel of that name can be paired here.", http.StatusNotFound)
	return nil, false
}

// pairingRows is what the page and its JSON show of every instance.
func (i *Inbox) pairingRows() []pairingRow {
	ps := i.pairables()
	rows := make([]pairingRow, 0, len(ps))
	for _, p := range ps {
		st := p.PairingStatus()
		row := pairingRow{Instance: string(st.Instance), Kind: string(st.Kind), State: st.State, Detail: st.Detail,
			Unlinked: st.Unlinked, PhoneCodes: st.PhoneCodes, QRExpires: st.QRExpires, PairCode: st.PairCode,
			Account: st.Account, Since: st.Since}
		if st.QRCode != "" {
			// The version changes with the code, so the browser fetches the new image; it is
			// a digest, so the address (in logs, in history) does not carry the code.
			sum := sha256.Sum256([]byte(st.QRCode))
			row.QR = i.pairingPath(st.Instance) + "/qr.png?v=" + hex.EncodeToString(sum[:6])
		}
		rows = append(rows, row)
	}
	return rows
}

// pairingPath is the address of the pairing page, or with an instance, of its actions.
func (i *Inbox) pairingPath(instance normalize.InstanceName) string {
	p := i.cfg.Path + "/admin/pairing"
	if instance != "" {
		p += "/" + url.PathEscape(string(instance))
	}
	return p
}

// handlePairing shows every instance that can be paired: state, detail, the QR code to scan
// and the forms that ask for a new code or a pairing code by phone number.
func (i *Inbox) handlePairing(w http.ResponseWriter, r *http.Request, s session) {
	i.showPairing(w, s, http.StatusOK, "")
}

func (i *Inbox) showPairing(w http.ResponseWriter, s session, status int, msg string) {
	i.render(w, "pairing", false, status, pairingView{common: i.commonFor(s, "Channels"),
		Instances: i.pairingRows(), Error: msg})
}

// handlePairingStatus answers the page's script with every instance's row as JSON.
func (i *Inbox) handlePairingStatus(w http.ResponseWriter, r *http.Request, s session) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(struct {
		Instances []pairingRow `json:"instances"`
	}{i.pairingRows()})
}

// handlePairingQR renders the instance's current QR code as a PNG; 404 when none waits.
func (i *Inbox) handlePairingQR(w http.ResponseWriter, r *http.Request, s session) {
	p, ok := i.pairable(w, r)
	if !ok {
		return
	}
	code := p.PairingStatus().QRCode
	if code == "" {
		http.Error(w, "No QR code waits to be scanned.", http.StatusNotFound)
		return
	}
	c, err := qr.Encode(code, qr.M)
	if err != nil {
		i.log.Error("render pairing QR code", "channel", r.PathValue("instance"), "err", err)
		http.Error(w, "The QR code could not be drawn.", http.StatusInternalServerError)
		return
	}
	c.Scale = qrScale
	w.Header().Set("Content-Type", "image/png")
	w.Write(c.PNG())
}

// handlePairNow asks the instance for a new QR code at once.
func (i *Inbox) handlePairNow(w http.ResponseWriter, r *http.Request, s session) {
	p, ok := i.pairable(w, r)
	if !ok {
		return
	}
	p.PairNow()
	i.log.Info("pairing: new code asked", "channel", r.PathValue("instance"), "agent", s.Agent)
	http.Redirect(w, r, i.pairingPath("")+"#pair-"+r.PathValue("instance"), http.StatusSeeOther)
}

// handlePairPhone asks the instance for a pairing code for the form's phone number.
func (i *Inbox) handlePairPhone(w http.ResponseWriter, r *http.Request, s session) {
	p, ok := i.pairable(w, r)
	if !ok {
		return
	}
	name, phone := r.PathValue("instance"), strings.TrimSpace(r.PostFormValue("phone"))
	if err := p.PairPhone(phone); err != nil {
		msg := "No pairing code for " + name + ": " + err.Error()
		if errors.Is(err, errors.ErrUnsupported) {
			msg = name + " cannot be paired by a code typed on the phone; scan its QR code."
		}
		i.showPairing(w, s, http.StatusBadRequest, msg)
		return
	}
	i.log.Info("pairing: pairing code asked", "channel", name, "agent", s.Agent)
	http.Redirect(w, r, i.pairingPath("")+"#pair-"+name, http.StatusSeeOther)
}
