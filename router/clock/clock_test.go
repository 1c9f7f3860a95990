package clock_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/router/clock"
)

func fired(t clock.Timer) bool {
	select {
	case <-t.C():
		return true
	default:
		return false
	}
}

func TestFakeTimers(t *testing.T) {
	start := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		d       time.Duration
		advance []time.Duration
		stop    bool // Stop before advancing
		want    bool
	}{
		{"not yet due", time.Second, []time.Duration{999 * time.Millisecond}, false, false},
		{"due exactly", time.Second, []time.Duration{time.Second}, false, true},
		{"due in steps", time.Second, []time.Duration{400 * time.Millisecond, 600 * time.Millisecond}, false, true},
		{"overshot", time.Second, []time.Duration{time.Hour}, false, true},
		{"zero fires at once", 0, nil, false, true},
		{"stopped", time.Second, []time.Duration{time.Hour}, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := clock.NewFake(start)
			tm := c.NewTimer(tc.d)
			if tc.stop {
				require.True(t, tm.Stop(), "Stop() of a pending timer")
			}
			var total time.Duration
			for _, d := range tc.advance {
				c.Advance(d)
				total += d
			}
			require.Equal(t, start.Add(total), c.Now())
			require.Equal(t, tc.want, fired(tm))
			require.False(t, fired(tm), "a timer fires once")
			require.Equal(t, !tc.want && !tc.stop, tm.Stop(), "Stop() reports whether the timer was pending")
		})
	}
}

func TestFakeNowStandsStill(t *testing.T) {
	start := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	c := clock.NewFake(start)
	time.Sleep(time.Millisecond)
	require.Equal(t, start, c.Now())
	require.Panics(t, func() { c.Advance(-time.Second) })
}

func TestRealTimerFires(t *testing.T) {
	var c clock.Clock = clock.Real{}
	before := c.Now()
	tm := c.NewTimer(time.Millisecond)
	at := <-tm.C()
	require.False(t, at.Before(before.Add(time.Millisecond)))
	require.False(t, tm.Stop())
}
