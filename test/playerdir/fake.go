// Package playerdir is a fake of an operator's player directory hook (docs/policy.md): it
// checks each request's signature like a careful operator would, answers the players it was
// given by channel and address or by player ID, and can be made slow or failing.
package playerdir

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/casino-support/gateway/connectors/helpdesk/webhook"
)

// Player is the directory's answer, as the documented response body.
type Player struct {
	PlayerID        string `json:"player_id"`
	Name            string `json:"name,omitempty"`
	VIPTier         int    `json:"vip_tier"`
	Country         string `json:"country,omitempty"`
	AccountStatus   string `json:"account_status,omitempty"`
	KYCStatus       string `json:"kyc_status,omitempty"`
	PersonalManager string `json:"personal_manager,omitempty"`
	// Withdrawals are the player's pending withdrawals, which the FAQ bot reads out.
	Withdrawals []Withdrawal `json:"withdrawals,omitempty"`
}

// Withdrawal is one of Player.Withdrawals, as documented.
type Withdrawal struct {
	Amount      float64 `json:"amount"`
	Currency    string  `json:"currency"`
	Status      string  `json:"status"`
	RequestedAt string  `json:"requested_at"`
}

// Request is a look-up the fake received, as the documented request body.
type Request struct {
	PlayerID    string `json:"player_id"`
	Channel     string `json:"channel"`
	ChannelKind string `json:"channel_kind"`
	Address     string `json:"address"`
	Email       string `json:"email"`
}

// Fake is a running fake directory.
type Fake struct {
	URL    string
	secret []byte
	srv    *httptest.Server

	mu        sync.Mutex
	byID      map[string]Player
	byAddress map[string]string // "channel kind/address" → player ID
	delay     time.Duration
	status    int
	requests  []Request
	refused   int
}

// Start runs a fake that accepts requests signed with secret; Close stops it.
func Start(secret string) *Fake {
	f := &Fake{secret: []byte(secret), byID: map[string]Player{}, byAddress: map[string]string{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	f.URL = f.srv.URL + "/players/lookup"
	return f
}

// Close stops the fake.
func (f *Fake) Close() { f.srv.Close() }

// Add makes p known, reachable on the given channel kind and address when kind is not empty.
func (f *Fake) Add(p Player, kind, address string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.byID[p.PlayerID] = p
	if kind != "" {
		f.byAddress[kind+"/"+strings.ToLower(address)] = p.PlayerID
	}
}

// SetDelay makes every answer wait d.
func (f *Fake) SetDelay(d time.Duration) { f.mu.Lock(); f.delay = d; f.mu.Unlock() }

// SetStatus makes every answer this HTTP status (0: answer normally).
func (f *Fake) SetStatus(code int) { f.mu.Lock(); f.status = code; f.mu.Unlock() }

// Requests returns the properly signed look-ups received so far.
func (f *Fake) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.requests...)
}

// Refused counts requests refused for their signature.
func (f *Fake) Refused() int { f.mu.Lock(); defer f.mu.Unlock(); return f.refused }

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil || r.Method != http.MethodPost {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	if err := webhook.Verify(f.secret, r.Header.Get(webhook.HeaderTimestamp), r.Header.Get(webhook.HeaderSignature), body, time.Now(), 5*time.Minute); err != nil {
		f.mu.Lock()
		f.refused++
		f.mu.Unlock()
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var q Request
	if err := json.Unmarshal(body, &q); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.requests = append(f.requests, q)
	delay, status := f.delay, f.status
	id := q.PlayerID
	if id == "" {
		id = f.byAddress[q.ChannelKind+"/"+strings.ToLower(q.Address)]
	}
	p, found := f.byID[id]
	f.mu.Unlock()
	select {
	case <-time.After(delay):
	case <-r.Context().Done():
		return
	}
	switch {
	case status != 0:
		http.Error(w, "directory unavailable", status)
	case !found:
		http.Error(w, "unknown player", http.StatusNotFound)
	default:
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(p)
	}
}
