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

func TestNextOpen(t *testing.T) {
	bucharest, err := calendar.New("Europe/Bucharest", []string{"mon-fri 09:00-18:00", "sat 10:00-14:00"},
		[]string{"2026-12-25", "2027-01-01"})
	require.NoError(t, err)
	newYork, err := calendar.New("America/New_York", []string{"sun 02:30-04:00"}, nil)
	require.NoError(t, err)
	closed, err := calendar.New("UTC", nil, nil)
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
		want string // RFC 3339 in UTC; "" for none
	}{
		{"open is now", bucharest, "2026-07-01T06:00:00Z", "2026-07-01T06:00:00Z"},
		{"before opening, summer (UTC+3)", bucharest, "2026-07-01T02:00:00Z", "2026-07-01T06:00:00Z"},
		{"before opening, winter (UTC+2)", bucharest, "2026-01-07T02:00:00Z", "2026-01-07T07:00:00Z"},
		{"Friday evening to Saturday 10:00", bucharest, "2026-01-09T17:00:00Z", "2026-01-10T08:00:00Z"},
		{"Saturday afternoon to Monday", bucharest, "2026-01-10T13:00:00Z", "2026-01-12T07:00:00Z"},
		// Friday 2026-03-27 evening; Romania springs forward on Sunday the 29th: Monday opens at UTC+3.
		{"across spring forward", bucharest, "2026-03-28T13:00:00Z", "2026-03-30T06:00:00Z"},
		{"across fall back", bucharest, "2026-10-24T13:00:00Z", "2026-10-26T07:00:00Z"},
		// Christmas is a Friday, then Saturday hours.
		{"Christmas Eve evening skips the holiday", bucharest, "2026-12-24T17:00:00Z", "2026-12-26T08:00:00Z"},
		// New Year's Eve is Thursday; 1 January a holiday, 2 January a Saturday.
		{"New Year", bucharest, "2026-12-31T20:00:00Z", "2027-01-02T08:00:00Z"},
		// 2026-03-08 02:30 does not exist in New York: the clocks jump from 02:00 EST to
		// 03:00 EDT (07:00 UTC), and the desk is open from then.
		{"opening in a DST gap", newYork, "2026-03-07T12:00:00Z", "2026-03-08T07:00:00Z"},
		{"never opens", closed, "2026-03-07T12:00:00Z", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next, ok := tt.cal.NextOpen(utc(tt.at))
			if tt.want == "" {
				require.False(t, ok)
				return
			}
			require.True(t, ok)
			require.Equal(t, tt.want, next.UTC().Format(time.RFC3339))
			require.True(t, tt.cal.Open(next), "the calendar is open at its next opening")
		})
	}
}
