package router_test

import (
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router"
	"github.com/casino-support/gateway/router/health"
)

// healthLog records what the router reports of the connectors' health.
type healthLog struct {
	mu      sync.Mutex
	reports []healthReport
}

type healthReport struct {
	name    normalize.InstanceName
	source  health.Source
	problem bool
}

func (h *healthLog) Report(name normalize.InstanceName, source health.Source, problem error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reports = append(h.reports, healthReport{name, source, problem != nil})
}

func (h *healthLog) last() healthReport {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.reports[len(h.reports)-1]
}

// TestRefusedCredentialsWaitInsteadOfDeadLettering: a helpdesk refusing the gateway's
// credentials (401/403) is no fault of the message. The message waits about a minute between
// tries, however many, never becomes a dead letter for it, and is delivered once the
// credentials are accepted; meanwhile the helpdesk is reported not ready, and ready again
// after the delivery.
func TestRefusedCredentialsWaitInsteadOfDeadLettering(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hl := &healthLog{}
		f := newFixture(t, router.Options{BackoffBase: 10 * time.Millisecond, BackoffMax: time.Hour, MaxAttempts: 3, Health: hl})
		var mu sync.Mutex
		refused := true
		f.hd.fail = func(int) error {
			mu.Lock()
			defer mu.Unlock()
			if refused {
				return connectors.Unauthorized(errors.New("HTTP 401: bad token"))
			}
			return nil
		}
		calls := func() int {
			f.hd.mu.Lock()
			defer f.hd.mu.Unlock()
			return f.hd.calls
		}
		require.NoError(t, f.r.Deliver(f.ctx, inbound("p", 1)))
		synctest.Wait()
		require.Equal(t, 1, calls())
		require.Equal(t, healthReport{"desk", health.SourceDelivery, true}, hl.last())

		f.advance(29 * time.Second)
		require.Equal(t, 1, calls(), "a refused delivery waits at least half a minute, not the 10ms back-off")
		for range 5 { // more tries than max_attempts: none of them dead-letters
			f.advance(time.Minute)
		}
		require.Equal(t, 6, calls(), "about one try a minute")
		stats, err := f.st.Stats(f.ctx)
		require.NoError(t, err)
		require.Zero(t, stats.DeadLetters, "refused credentials never make a dead letter")
		require.Equal(t, 1, stats.Queued[normalize.Inbound], "the message waits")

		mu.Lock()
		refused = false
		mu.Unlock()
		f.advance(time.Minute)
		require.Equal(t, healthReport{"desk", health.SourceDelivery, false}, hl.last(), "a delivery that went through clears the report")
		f.hd.mu.Lock()
		require.Len(t, f.hd.tickets, 1, "delivered once the credentials are accepted")
		f.hd.mu.Unlock()
		stats, err = f.st.Stats(f.ctx)
		require.NoError(t, err)
		require.Zero(t, stats.Queued[normalize.Inbound])
	})
}
