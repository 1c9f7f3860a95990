// Package httpfault is a fault-injecting http.RoundTripper for tests: put a Transport in the
// *http.Client a connector is built with, and the requests it picks answer with a status
// (and Retry-After), stall until their context ends, fail with a connection reset, or reach
// the remote and lose its answer on the way back. Everything else passes to the real remote
// unchanged, so faults are injected on the connector's own wire, in front of a fake or a real
// peer alike.
package httpfault

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// MaxStall bounds a Stall whose request has no deadline, so a connector that forgot its
// context fails its test instead of hanging the run.
const MaxStall = 30 * time.Second

// Fault is what happens to one request picked by Next or After. Build one with Status,
// Stall, Reset or LoseAnswer.
type Fault struct {
	// Status answers the request with this status without passing it on.
	Status int
	// RetryAfter is the Retry-After header of a Status answer ("7", or an HTTP date); empty
	// sends none.
	RetryAfter string
	// Stall holds the request until its context ends (a client or caller deadline), then
	// fails it as a timed-out request fails; nothing reaches the remote.
	Stall bool
	// Reset fails the request with a connection reset. Without LoseAnswer nothing reaches
	// the remote.
	Reset bool
	// LoseAnswer passes the request on and waits for the remote's whole answer, then drops
	// it: the caller gets Status (a 502 from a proxy) or, with Reset, a connection reset,
	// although the remote did what was asked.
	LoseAnswer bool
}

// Status answers with status (and Retry-After retryAfter, when given) without reaching the remote.
func Status(status int, retryAfter ...string) Fault {
	f := Fault{Status: status}
	if len(retryAfter) > 0 {
		f.RetryAfter = retryAfter[0]
	}
	return f
}

// Stall holds the request until its context ends.
func Stall() Fault { return Fault{Stall: true} }

// Reset fails the request with a connection reset before it reaches the remote.
func Reset() Fault { return Fault{Reset: true} }

// LoseAnswer lets the remote process the request and answers status instead of its answer;
// status 0 resets the connection instead, as if it broke after the request was read.
func LoseAnswer(status int) Fault {
	return Fault{LoseAnswer: true, Status: status, Reset: status == 0}
}

// String names the fault for test names and failure messages.
func (f Fault) String() string {
	switch {
	case f.LoseAnswer && f.Reset:
		return "answer lost to a connection reset"
	case f.LoseAnswer:
		return fmt.Sprintf("answer lost, %d instead", f.Status)
	case f.Stall:
		return "stall until timeout"
	case f.Reset:
		return "connection reset"
	case f.RetryAfter != "":
		return fmt.Sprintf("%d with Retry-After %s", f.Status, f.RetryAfter)
	}
	return strconv.Itoa(f.Status)
}

// Match picks the requests a rule counts; nil picks every request.
type Match func(*http.Request) bool

// Transport is the fault injector. The zero value passes everything to
// http.DefaultTransport; it is safe for concurrent use.
type Transport struct {
	// Base carries the requests that pass; nil means http.DefaultTransport.
	Base http.RoundTripper
	// Body writes the answer of an injected Status in the remote's own error format (Telegram
	// answers JSON with error_code and retry_after); nil answers text/plain.
	Body func(status int, retryAfter string) (contentType string, body []byte)

	mu       sync.Mutex
	rules    []*rule
	injected int
}

// rule applies fault to the matching request after skip others matched.
type rule struct {
	match Match
	skip  int
	fault Fault
}

// Wrap returns a copy of client (nil: a zero client) whose requests go through a new
// Transport in front of client's own transport, and that Transport.
func Wrap(client *http.Client) (*http.Client, *Transport) {
	var c http.Client
	if client != nil {
		c = *client
	}
	t := &Transport{Base: c.Transport}
	c.Transport = t
	return &c, t
}

// Next makes the next request that match picks meet f.
func (t *Transport) Next(match Match, f Fault) { t.After(0, match, f) }

// After lets the next n requests that match picks pass, and makes the one after meet f.
// Rules queue up: a request meets the first rule that is due for it.
func (t *Transport) After(n int, match Match, f Fault) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rules = append(t.rules, &rule{match: match, skip: n, fault: f})
}

// Pending counts the faults not yet injected.
func (t *Transport) Pending() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.rules)
}

// Injected counts the faults injected so far.
func (t *Transport) Injected() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.injected
}

// Clear drops the faults not yet injected.
func (t *Transport) Clear() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rules = nil
}

// take returns the fault req meets, if any, and counts req against every rule it matches.
func (t *Transport) take(req *http.Request) (Fault, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, r := range t.rules {
		if r.match != nil && !r.match(req) {
			continue
		}
		if r.skip > 0 {
			r.skip--
			continue
		}
		t.rules = append(t.rules[:i:i], t.rules[i+1:]...)
		t.injected++
		return r.fault, true
	}
	return Fault{}, false
}

func (t *Transport) base() http.RoundTripper {
	if t.Base != nil {
		return t.Base
	}
	return http.DefaultTransport
}

// RoundTrip passes req on or injects the fault due for it.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	f, ok := t.take(req)
	if !ok {
		return t.base().RoundTrip(req)
	}
	switch {
	case f.LoseAnswer:
		resp, err := t.base().RoundTrip(req)
		if err != nil {
			return nil, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if f.Reset {
			return nil, resetError(req)
		}
		return t.answer(req, f), nil
	case f.Stall:
		drain(req)
		timer := time.NewTimer(MaxStall)
		defer timer.Stop()
		select {
		case <-req.Context().Done():
			return nil, req.Context().Err()
		case <-timer.C:
			return nil, &net.OpError{Op: "read", Net: "tcp", Addr: addr(req), Err: os.ErrDeadlineExceeded}
		}
	case f.Reset:
		drain(req)
		return nil, resetError(req)
	}
	drain(req)
	return t.answer(req, f), nil
}

// drain reads and closes a request body that does not go out, as a RoundTripper must.
func drain(req *http.Request) {
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
}

// answer builds the response of an injected status.
func (t *Transport) answer(req *http.Request, f Fault) *http.Response {
	contentType, body := "text/plain; charset=utf-8", []byte("injected fault: "+f.String()+"\n")
	if t.Body != nil {
		contentType, body = t.Body(f.Status, f.RetryAfter)
	}
	h := http.Header{"Content-Type": {contentType}}
	if f.RetryAfter != "" {
		h.Set("Retry-After", f.RetryAfter)
	}
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", f.Status, http.StatusText(f.Status)),
		StatusCode:    f.Status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}
}

// resetError is what a read from a connection the peer reset returns.
func resetError(req *http.Request) error {
	return &net.OpError{Op: "read", Net: "tcp", Addr: addr(req), Err: os.NewSyscallError("read", syscall.ECONNRESET)}
}

type hostAddr string

func (a hostAddr) Network() string { return "tcp" }
func (a hostAddr) String() string  { return string(a) }

func addr(req *http.Request) net.Addr { return hostAddr(req.URL.Host) }
