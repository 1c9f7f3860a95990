package wamsg

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/casino-support/gateway/normalize"
)

// sendTimes has n sends to each of addrs wait on l, all at once, and returns when each went,
// counted from the start on the bubble's fake clock.
func sendTimes(t *testing.T, l *Limiter, n int, addrs ...normalize.Address) map[normalize.Address][]time.Duration {
	t.Helper()
	start := time.Now()
	got := map[normalize.Address][]time.Duration{}
	for _, a := range addrs {
		for range n {
			require.NoError(t, l.Wait(t.Context(), a))
			got[a] = append(got[a], time.Since(start))
		}
	}
	return got
}

func TestLimiterPacesEachConversation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// One message every 6 s per player, as the Cloud API's pair rate limit wants; the
		// global limit is off.
		l := NewLimiter(rate.Every(6*time.Second), rate.Inf, 1)
		got := sendTimes(t, l, 3, "+491701234567")
		require.Equal(t, []time.Duration{0, 6 * time.Second, 12 * time.Second}, got["+491701234567"])

		// Another player is not held up by the first one's pace.
		start := time.Now()
		require.NoError(t, l.Wait(t.Context(), "+447911123456"))
		require.Zero(t, time.Since(start))
	})
}

func TestLimiterAllowsABurstThenPaces(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(1, 100, 3)
		got := sendTimes(t, l, 5, "+491701234567")
		require.Equal(t, []time.Duration{0, 0, 0, time.Second, 2 * time.Second}, got["+491701234567"])
	})
}

func TestLimiterPacesAllConversationsTogether(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Two messages a second in all: five players answered one after the other.
		l := NewLimiter(1, 2, 1)
		addrs := []normalize.Address{"+491701234567", "+447911123456", "+14155552671", "+919876543210", "+61412345678"}
		got := sendTimes(t, l, 1, addrs...)
		var at []time.Duration
		for _, a := range addrs {
			at = append(at, got[a]...)
		}
		require.Equal(t, []time.Duration{0, 500 * time.Millisecond, time.Second, 1500 * time.Millisecond, 2 * time.Second}, at)
	})
}

func TestLimiterWaitEndsWithItsContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(rate.Every(time.Hour), 100, 1)
		require.NoError(t, l.Wait(t.Context(), "+491701234567"))
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		require.Error(t, l.Wait(ctx, "+491701234567"), "the next slot is an hour away")
	})
}

func TestLimiterForgetsIdleConversations(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(rate.Every(time.Second), rate.Inf, 1)
		for i := range 1100 {
			require.NoError(t, l.Wait(t.Context(), normalize.Address("+4917012"+time.Duration(i).String())))
		}
		time.Sleep(idleChat + time.Second)
		require.NoError(t, l.Wait(t.Context(), "+491701234567"))
		l.mu.Lock()
		defer l.mu.Unlock()
		require.Len(t, l.chats, 1, "only the conversation just answered is kept")
	})
}
