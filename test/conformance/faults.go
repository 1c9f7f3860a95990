package conformance

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/test/httpfault"
)

// ErrorClass is how the router must treat a connector's error, by connectors.ClassifyStatus,
// the one HTTP error policy, or by a harness's declared override of it.
type ErrorClass string

const (
	// Retryable errors are retried with back-off: neither permanent nor unauthorized.
	Retryable ErrorClass = "retryable"
	// RetryLater errors carry the remote's wait (connectors.RetryAfter): 429, 503 with
	// Retry-After.
	RetryLater ErrorClass = "retry after the remote's wait"
	// Permanent errors wrap connectors.ErrPermanent: the router dead-letters the message.
	Permanent ErrorClass = "permanent"
	// Unauthorized errors wrap connectors.ErrUnauthorized and are not permanent: credentials
	// get rotated and fixed without losing messages.
	Unauthorized ErrorClass = "unauthorized"
)

// errStoreDown is what the suites' failing sink answers: a store that cannot commit for now.
var errStoreDown = errors.New("conformance: the store is unavailable")

// ackWindow is how long the suites watch a remote's view for an acknowledgement that must not
// come: a connector acknowledges right after Deliver returned, so a wrong one shows in
// microseconds, and the fakes redeliver every 100 ms.
const ackWindow = 300 * time.Millisecond

// stallDeadline is the deadline of a call whose request stalls: the caller's context ends it.
const stallDeadline = 300 * time.Millisecond

// faultCase is one way a remote fails a request, and the class the router needs for it.
type faultCase struct {
	name  string
	fault httpfault.Fault
	want  ErrorClass
	wait  time.Duration // for RetryLater: the wait the remote asked for
}

// faultCases are the remote's failures every connector that speaks HTTP must classify alike.
var faultCases = []faultCase{
	{name: "429+Retry-After", fault: httpfault.Status(http.StatusTooManyRequests, "7"), want: RetryLater, wait: 7 * time.Second},
	{name: "503+Retry-After", fault: httpfault.Status(http.StatusServiceUnavailable, "9"), want: RetryLater, wait: 9 * time.Second},
	{name: "500", fault: httpfault.Status(http.StatusInternalServerError), want: Retryable},
	{name: "502", fault: httpfault.Status(http.StatusBadGateway), want: Retryable},
	{name: "503", fault: httpfault.Status(http.StatusServiceUnavailable), want: Retryable},
	{name: "timeout", fault: httpfault.Stall(), want: Retryable},
	{name: "connection_reset", fault: httpfault.Reset(), want: Retryable},
	{name: "400", fault: httpfault.Status(http.StatusBadRequest), want: Permanent},
	{name: "401", fault: httpfault.Status(http.StatusUnauthorized), want: Unauthorized},
	{name: "403", fault: httpfault.Status(http.StatusForbidden), want: Unauthorized},
}

// expected returns the class the router needs for c, after the harness's overrides.
func (c faultCase) expected(overrides map[int]ErrorClass) ErrorClass {
	if f := c.fault; f.Status != 0 && !f.LoseAnswer {
		if class, ok := overrides[f.Status]; ok {
			return class
		}
	}
	return c.want
}

// faultContext returns the context of a call meeting c's fault: a short deadline for a
// stall, which is how a timeout reaches a connector.
func faultContext(t *testing.T, c faultCase) context.Context {
	ctx := testContext(t)
	if c.fault.Stall {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, stallDeadline)
		t.Cleanup(cancel)
	}
	return ctx
}

// requireClass requires err, returned by op while the remote failed as c says, to be of
// class want. took is how long op ran: a connector must give up when its caller's context
// ends.
func requireClass(t *testing.T, op string, c faultCase, want ErrorClass, err error, took time.Duration) {
	t.Helper()
	require.Error(t, err, "%s returned no error though the remote failed the request (%s)", op, c.fault)
	if c.fault.Stall {
		require.Less(t, took, stallDeadline+5*time.Second, "%s must give up when its context ends, not wait for the stalled remote", op)
	}
	switch want {
	case RetryLater:
		wait, ok := connectors.RetryDelay(err)
		require.True(t, ok, "%s = %v: the remote answered %s; the error must carry its wait (connectors.RetryAfter), or the router retries too soon", op, err, c.fault)
		require.Equal(t, c.wait, wait, "%s = %v: the router must wait what the remote asked for", op, err)
		require.False(t, connectors.IsPermanent(err), "%s = %v: a %s is retried later, but the error is permanent (the router would dead-letter the message)", op, err, c.fault)
	case Retryable:
		require.False(t, connectors.IsPermanent(err), "%s = %v: the remote answered %s, which a retry can get past, but the error is permanent (the router would dead-letter the message)", op, err, c.fault)
		require.False(t, connectors.IsUnauthorized(err), "%s = %v: the remote answered %s, which says nothing about the credentials", op, err, c.fault)
	case Permanent:
		require.True(t, connectors.IsPermanent(err), "%s = %v: the remote refused the request (%s), which no retry fixes; the error must wrap connectors.ErrPermanent, or the router retries it forever", op, err, c.fault)
	case Unauthorized:
		require.True(t, connectors.IsUnauthorized(err), "%s = %v: the remote refused the credentials (%s); the error must wrap connectors.ErrUnauthorized, so the connector is reported not ready", op, err, c.fault)
		require.False(t, connectors.IsPermanent(err), "%s = %v: credentials get rotated and fixed; a %s must be retried, not dead-lettered", op, err, c.fault)
	default:
		t.Fatalf("harness: unknown error class %q", want)
	}
}

// Acks keeps what a remote that delivers by request (a webhook sender, a player's page, an
// agent's browser) learned of its deliveries, for harnesses' Acknowledged and
// ReplyAcknowledged: a delivery is acknowledged once one of its requests got a success
// answer, after which the remote sends it no more. The zero value is ready; it is safe for
// concurrent use.
type Acks struct {
	mu  sync.Mutex
	ack map[string]bool
}

// Record notes the outcome of one delivery of key (err nil: acknowledged) and returns err.
func (a *Acks) Record(key string, err error) error {
	if err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ack == nil {
		a.ack = map[string]bool{}
	}
	a.ack[key] = true
	return nil
}

// Acknowledged reports whether a delivery of key was acknowledged.
func (a *Acks) Acknowledged(key string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.ack[key]
}
