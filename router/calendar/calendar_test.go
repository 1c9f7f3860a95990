package calendar_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/router/calendar"
)

func TestOpen(t *testing.T) {
	bucharest, err := calendar.New("Europe/Bucharest", []string{"mon-fri 09:00-18:00", "sat 10:00-14:00"}, []string{"2026-12-25"})
	require.NoError(t, err)
	saoPaulo, err := calendar.New("America/Sao_Paulo", []string{"fri-mon 22:00-24:00"}, nil)
	require.NoError(t, err)
	newYork, err := calendar.New("America/New_York", []string{"sun 01:00-04:00"}, nil)
	require.NoError(t, err)
	utc := func(s string) time.Time {
		ts, err := time.Parse(time.RFC3339, s)
		require.NoError(t, err)
		return ts
	}
	tests := []struct {
		name string
		cal  *calendar.Calendar
		at   string
		open bool
	}{
		// Bucharest is UTC+3 in summer and UTC+2 in winter: 09:00 local moves in UTC.
		{"summer opening", bucharest, "2026-07-01T06:00:00Z", true},
		{"summer before opening", bucharest, "2026-07-01T05:59:00Z", false},
		{"winter 06:00 UTC is 08:00 local", bucharest, "2026-01-07T06:00:00Z", false},
		{"winter opening", bucharest, "2026-01-07T07:00:00Z", true},
		{"closing is exclusive", bucharest, "2026-01-07T16:00:00Z", false},
		{"Saturday hours", bucharest, "2026-01-10T09:30:00Z", true},
		{"Sunday closed", bucharest, "2026-01-11T09:30:00Z", false},
		{"a holiday on a Friday", bucharest, "2026-12-25T09:00:00Z", false},
		// The Monday after the last Sunday of March 2026 is summer time already.
		{"the day after spring forward", bucharest, "2026-03-30T06:00:00Z", true},
		{"the day after fall back", bucharest, "2026-10-26T06:00:00Z", false},
		// A range across the week's end; Sao Paulo has no DST since 2019 (UTC-3).
		{"Saturday night in Sao Paulo", saoPaulo, "2026-01-11T01:30:00Z", true},
		{"Tuesday night is outside fri-mon", saoPaulo, "2026-01-14T01:30:00Z", false},
		// 2026-03-08 02:00 New York springs to 03:00: 01:59 EST and 03:00 EDT are both open.
		{"before the spring gap", newYork, "2026-03-08T06:59:00Z", true},
		{"after the spring gap", newYork, "2026-03-08T07:00:00Z", true},
		{"past closing in EDT", newYork, "2026-03-08T08:00:00Z", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.open, tt.cal.Open(utc(tt.at)))
		})
	}
}

func TestNewRejects(t *testing.T) {
	tests := []struct {
		name     string
		zone     string
		weekly   []string
		holidays []string
		want     string
	}{
		{"unknown zone", "Mars/Olympus", nil, nil, "timezone"},
		{"no zone", "", nil, nil, "timezone"},
		{"unknown day", "UTC", []string{"mon-fry 09:00-18:00"}, nil, "weekly[0]"},
		{"end before start", "UTC", []string{"mon 09:00-18:00", "tue 18:00-09:00"}, nil, "weekly[1]"},
		{"no hours", "UTC", []string{"mon"}, nil, "weekly[0]"},
		{"bad date", "UTC", nil, []string{"25.12.2026"}, "holidays[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := calendar.New(tt.zone, tt.weekly, tt.holidays)
			require.ErrorContains(t, err, tt.want)
		})
	}
}
