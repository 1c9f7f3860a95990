package loopback

import (
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/casino-support/gateway/connectors/loopbackwire"
)

// fault is one injected failure answer.
type fault struct {
	status     int
	retryAfter time.Duration
}

// faults is the fault injection shared by the fakes. It is not locked itself: the fakes call
// it under their own lock, so a decision and the state it guards change together.
type faults struct {
	queue []fault
	// lose counts requests to process but answer 502, as when an answer is lost on the way
	// back: the caller retries, and only idempotency keeps the remote from doubling.
	lose int
}

func (f *faults) failNext(n, status int, retryAfter time.Duration) {
	for range n {
		f.queue = append(f.queue, fault{status: status, retryAfter: retryAfter})
	}
}

// take pops the next injected failure, if any.
func (f *faults) take() (fault, bool) {
	if len(f.queue) == 0 {
		return fault{}, false
	}
	next := f.queue[0]
	f.queue = f.queue[1:]
	return next, true
}

// takeLose reports whether this processed request's answer is to be lost.
func (f *faults) takeLose() bool {
	if f.lose == 0 {
		return false
	}
	f.lose--
	return true
}

func (ft fault) write(w http.ResponseWriter) {
	if ft.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(ft.retryAfter.Seconds()))))
	}
	loopbackwire.WriteError(w, ft.status, "injected failure")
}

func writeLost(w http.ResponseWriter) {
	loopbackwire.WriteError(w, http.StatusBadGateway, "injected loss of the answer")
}
