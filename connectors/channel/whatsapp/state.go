package whatsapp

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

// State is where an instance's link to WhatsApp stands.
type State string

const (
	// StateUnpaired: the session holds no linked device; nobody is pairing right now.
	StateUnpaired State = "unpaired"
	// StatePairing: a QR code (or a pairing code) waits for the phone to scan (enter) it.
	StatePairing State = "pairing"
	// StatePaired: linked, connecting to WhatsApp.
	StatePaired State = "paired"
	// StateConnected: connected and logged in; messages flow.
	StateConnected State = "connected"
	// StateDisconnected: the connection dropped; reconnecting.
	StateDisconnected State = "disconnected"
	// StateLoggedOut: the phone (or WhatsApp) removed the linked device; pair again.
	StateLoggedOut State = "logged_out"
	// StateReplaced: another process connected with the same session.
	StateReplaced State = "replaced"
	// StateBanned: WhatsApp banned the number for a while.
	StateBanned State = "banned"
	// StateFailed: WhatsApp refused the connection (a connect failure, an outdated client).
	StateFailed State = "failed"
)

// states are all states, for the gauge's series.
var states = []State{StateUnpaired, StatePairing, StatePaired, StateConnected, StateDisconnected,
	StateLoggedOut, StateReplaced, StateBanned, StateFailed}

// Status is what an operator sees of an instance: its state, the health details, and the QR
// code to scan while it waits to be paired (for an admin page).
type Status struct {
	Instance normalize.InstanceName `json:"instance"`
	State    State                  `json:"state"`
	// QRCode is the code to show as a QR image while State is StatePairing (the phone's
	// Linked devices → Link a device scans it); "" otherwise.
	QRCode string `json:"qr_code,omitempty"`
	// QRExpires is when WhatsApp replaces QRCode with the next one.
	QRExpires time.Time `json:"qr_expires,omitzero"`
	// PairCode is the code PairPhone asked for, to type on the phone instead of scanning,
	// while State is StatePairing; it holds for the whole round.
	PairCode string `json:"pair_code,omitempty"`
	// Detail says why in words an operator acts on (how to pair, until when a ban lasts).
	Detail string `json:"detail,omitempty"`
	// Account is the linked number (E.164) once paired.
	Account string    `json:"account,omitempty"`
	Since   time.Time `json:"since"`
}

// Unlinked tells whether the instance waits for a phone to be linked (PairPhone, PairNow):
// none ever was, or the phone removed it.
func (s Status) Unlinked() bool {
	return s.State == StateUnpaired || s.State == StatePairing || s.State == StateLoggedOut
}

// stateKeeper holds the instance's Status and tells the health sink, the log and the gauge
// of every change.
type stateKeeper struct {
	name   normalize.InstanceName
	log    *slog.Logger
	gauge  *prometheus.GaugeVec // curried with the channel; nil when not exported
	health func(problem error)  // the sink's ReportHealth while Run runs
	now    func() time.Time

	mu sync.Mutex
	st Status
	// until is when a temporary ban ends (zero when there is none), for Send's Retry-After.
	until time.Time
}

func newStateKeeper(name normalize.InstanceName, log *slog.Logger, reg prometheus.Registerer) (*stateKeeper, error) {
	k := &stateKeeper{name: name, log: log, now: time.Now, health: func(error) {}}
	k.st = Status{Instance: name, State: StateUnpaired, Since: k.now()}
	vec := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "gateway_whatsapp_state",
		Help: "The linked-device WhatsApp instance's state: 1 for the current one, by channel instance and state."},
		[]string{"channel", "state"})
	if reg != nil {
		if err := reg.Register(vec); err != nil {
			are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err)
			if !ok {
				return nil, fmt.Errorf("register gateway_whatsapp_state: %w", err)
			}
			if vec, ok = are.ExistingCollector.(*prometheus.GaugeVec); !ok {
				return nil, fmt.Errorf("register gateway_whatsapp_state: taken by a %T", are.ExistingCollector)
			}
		}
	}
	curried, err := vec.CurryWith(prometheus.Labels{"channel": string(name)})
	if err != nil {
		return nil, fmt.Errorf("gateway_whatsapp_state: %w", err)
	}
	k.gauge = curried
	k.publish(StateUnpaired)
	return k, nil
}

// publish sets the gauge: 1 for s, 0 for every other state, so each has a series to alert on.
func (k *stateKeeper) publish(s State) {
	for _, st := range states {
		v := 0.0
		if st == s {
			v = 1
		}
		k.gauge.WithLabelValues(string(st)).Set(v)
	}
}

// status returns the current Status.
func (k *stateKeeper) status() Status {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.st
}

// set moves to state with detail; problem is what the health sink hears (nil: healthy).
// A change is logged once; a repeat of the same state and detail is not.
func (k *stateKeeper) set(state State, detail string, problem error) {
	k.mu.Lock()
	k.setLocked(state, detail, problem)
}

// setFrom moves to state only from the state from: a pairing's end must not undo the
// Connected that whatsmeow reported before it.
func (k *stateKeeper) setFrom(from, state State, detail string, problem error) {
	k.mu.Lock()
	if k.st.State != from {
		k.mu.Unlock()
		return
	}
	k.setLocked(state, detail, problem)
}

// setLocked is set with k.mu held; it unlocks it.
func (k *stateKeeper) setLocked(state State, detail string, problem error) {
	prev := k.st
	changed := prev.State != state || prev.Detail != detail
	k.st.State, k.st.Detail = state, detail
	if state != StatePairing {
		k.st.QRCode, k.st.QRExpires, k.st.PairCode = "", time.Time{}, ""
	}
	if state != StateBanned {
		k.until = time.Time{}
	}
	if prev.State != state {
		k.st.Since = k.now()
	}
	health := k.health
	k.mu.Unlock()
	if changed {
		k.publish(state)
		switch {
		case problem != nil:
			k.log.Warn("whatsapp: "+string(state), "detail", detail, "was", prev.State)
		default:
			k.log.Info("whatsapp: "+string(state), "detail", detail, "was", prev.State)
		}
	}
	health(problem)
}

// setAccount records the linked number.
func (k *stateKeeper) setAccount(account string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.st.Account = account
}

// qr shows a new QR code (and pairing code) of p until expires.
func (k *stateKeeper) qr(p PairProgress, expires time.Time, detail string) {
	k.set(StatePairing, detail, unpairedProblem(k.name))
	k.mu.Lock()
	defer k.mu.Unlock()
	k.st.QRCode, k.st.QRExpires, k.st.PairCode = p.QRCode, expires, p.PairCode
}

// banned records a temporary ban until until.
func (k *stateKeeper) banned(detail string, until time.Time) {
	k.set(StateBanned, detail, errors.New(detail))
	k.mu.Lock()
	defer k.mu.Unlock()
	k.until = until
}

// banUntil returns when the current temporary ban ends; zero when there is none.
func (k *stateKeeper) banUntil() time.Time {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.until
}

// setHealth directs health reports to the sink of the Run that started.
func (k *stateKeeper) setHealth(sink connectors.Sink) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if sink == nil {
		k.health = func(error) {}
		return
	}
	k.health = func(p error) { connectors.ReportHealth(sink, k.name, p) }
}

// pairCommand is the command that pairs instance name from a terminal.
func pairCommand(name normalize.InstanceName) string {
	return "gateway whatsapp pair --instance " + string(name)
}

// unpairedProblem is the health problem of an instance without a linked device.
func unpairedProblem(name normalize.InstanceName) error {
	return fmt.Errorf("not paired: stop the gateway and run `%s`: %w", pairCommand(name), connectors.ErrUnauthorized)
}
