package inbox

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestComputeSLA(t *testing.T) {
	sla := 5 * time.Minute
	since := t0
	tests := []struct {
		name   string
		since  time.Time
		waited time.Duration
		want   slaState
	}{
		{"nothing waits", time.Time{}, time.Hour, slaAnswered},
		{"just arrived", since, 0, slaOK},
		{"clock skew", since, -time.Minute, slaOK},
		{"before the last fifth", since, 4*time.Minute - time.Millisecond, slaOK},
		{"last fifth begins", since, 4 * time.Minute, slaDueSoon},
		{"last moment", since, sla - time.Millisecond, slaDueSoon},
		{"deadline", since, sla, slaBreached},
		{"long gone", since, 48 * time.Hour, slaBreached},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, computeSLA(t0.Add(tt.waited), tt.since, sla))
		})
	}
}

func TestSLAClass(t *testing.T) {
	require.Equal(t, "sla-due-soon", slaDueSoon.class())
	require.Equal(t, "sla-breached", slaBreached.class())
	require.Equal(t, "sla-ok", slaOK.class())
	require.Equal(t, "sla-answered", slaAnswered.class())
}

func TestHumanDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{-time.Second, "0s"},
		{0, "0s"},
		{45 * time.Second, "45s"},
		{time.Minute, "1m"},
		{59*time.Minute + 59*time.Second, "59m"},
		{time.Hour, "1h"},
		{3*time.Hour + 5*time.Minute, "3h 5m"},
		{24 * time.Hour, "1d"},
		{52 * time.Hour, "2d 4h"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, humanDuration(tt.d), tt.d.String())
	}
}
