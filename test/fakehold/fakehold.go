// Package fakehold lets a fake remote take a write in full and then never answer it, as a
// connection that breaks after the remote committed: the end-to-end tests SIGKILL the
// gateway while such an answer is held, and check that its retry doubles nothing. Every fake
// helpdesk needs the same; this is its one copy.
package fakehold

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"time"
)

// maxHold bounds how long an answer is held when the caller never hangs up.
const maxHold = time.Minute

// Writes counts the writes still to hold. The zero value holds none; the fake guards it with
// its own lock (the one it passes to Serve).
type Writes struct {
	n    int
	held chan string
}

// Hold makes the next n writes Serve picks be held; each held one is named ("POST /path") on
// the returned channel, which keeps up to 16 names nobody reads.
func (w *Writes) Hold(n int) <-chan string {
	if w.held == nil {
		w.held = make(chan string, 16)
	}
	w.n = n
	return w.held
}

// Serve runs route with a recorder while mu is held, then writes its answer to w, unless
// the request is a write pick chose, route answered it 2xx and a hold is due: then the write
// is done but its answer never comes, until the caller hangs up (or a minute passed).
func Serve(w http.ResponseWriter, r *http.Request, mu sync.Locker, writes *Writes, route http.HandlerFunc, pick func(*http.Request) bool) {
	rec := httptest.NewRecorder()
	mu.Lock()
	route(rec, r)
	hold := writes.n > 0 && rec.Code/100 == 2 && pick(r)
	if hold {
		writes.n--
	}
	held := writes.held
	mu.Unlock()
	if hold {
		select {
		case held <- r.Method + " " + r.URL.Path:
		default:
		}
		select {
		case <-r.Context().Done():
		case <-time.After(maxHold):
		}
		return
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}
