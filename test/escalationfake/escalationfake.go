// Package escalationfake is a test stand-in for an operator's escalation webhook
// (docs/policy.md, "Escalation"): it verifies signatures and timestamps, deduplicates on
// Idempotency-Key, records the escalations it took, and answers with injected statuses.
package escalationfake

import (
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/casino-support/gateway/connectors/helpdesk/webhook"
	"github.com/casino-support/gateway/router/escalation"
)

// Receiver is an http.Handler.
type Receiver struct {
	secret []byte
	mu     sync.Mutex
	fail   []int // statuses to answer, first first, before taking requests
	taken  []escalation.Escalation
	seen   map[string]bool
	tries  int
	errs   []string
}

// New returns a receiver checking signatures with secret.
func New(secret string) *Receiver { return &Receiver{secret: []byte(secret), seen: map[string]bool{}} }

// FailNext makes the next requests answer statuses, in order.
func (rc *Receiver) FailNext(statuses ...int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.fail = append(rc.fail, statuses...)
}

func (rc *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.tries++
	if err := webhook.Verify(rc.secret, r.Header.Get(webhook.HeaderTimestamp), r.Header.Get(webhook.HeaderSignature), body, time.Now(), 5*time.Minute); err != nil {
		rc.errs = append(rc.errs, err.Error())
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	if r.Header.Get(webhook.HeaderEvent) != escalation.Event {
		rc.errs = append(rc.errs, "event "+r.Header.Get(webhook.HeaderEvent))
		http.Error(w, "wrong event", http.StatusBadRequest)
		return
	}
	if len(rc.fail) > 0 {
		s := rc.fail[0]
		rc.fail = rc.fail[1:]
		w.WriteHeader(s)
		return
	}
	var e escalation.Escalation
	if err := json.Unmarshal(body, &e); err != nil || e.Key == "" || e.Key != r.Header.Get(webhook.HeaderIdempotencyKey) {
		rc.errs = append(rc.errs, "bad body or idempotency key")
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	if !rc.seen[e.Key] {
		rc.seen[e.Key] = true
		rc.taken = append(rc.taken, e)
	}
	w.WriteHeader(http.StatusNoContent)
}

// Taken returns the escalations taken, each key once.
func (rc *Receiver) Taken() []escalation.Escalation {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]escalation.Escalation(nil), rc.taken...)
}

// Requests counts every request, refused and repeated ones too.
func (rc *Receiver) Requests() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.tries
}

// Errors lists the requests refused for a bad signature, event or body.
func (rc *Receiver) Errors() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]string(nil), rc.errs...)
}
