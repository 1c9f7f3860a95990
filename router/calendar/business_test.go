package calendar_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/router/calendar"
)

func mustCalendar(t *testing.T, zone string, weekly, holidays []string) *calendar.Calendar {
	t.Helper()
	c, err := calendar.New(zone, weekly, holidays)
	require.NoError(t, err)
	return c
}

func at(t *testing.T, s string) time.Time {
	t.Helper()
	ts, err := time.Parse(time.RFC3339, s)
	require.NoError(t, err)
	return ts
}

// The SLA arithmetic: a target counted in business hours pauses outside them, across nights,
// weekends, holidays and DST changes.
func TestAdd(t *testing.T) {
	// Bucharest: EET (UTC+2) in winter, EEST (UTC+3) from 2026-03-29 to 2026-10-25.
	office := mustCalendar(t, "Europe/Bucharest", []string{"mon-fri 09:00-18:00", "sat 10:00-14:00"}, []string{"2026-12-25"})
	weekdays := mustCalendar(t, "Europe/Bucharest", []string{"mon-fri 09:00-18:00"}, nil)
	// New York springs forward 2026-03-08 02:00 and falls back 2026-11-01 02:00.
	sundays := mustCalendar(t, "America/New_York", []string{"sun 00:00-24:00"}, nil)
	tokyo := mustCalendar(t, "Asia/Tokyo", []string{"mon-fri 09:00-17:00"}, nil)
	overlapping := mustCalendar(t, "UTC", []string{"mon-fri 09:00-12:00", "mon 11:00-13:00"}, nil)
	tests := []struct {
		name  string
		cal   *calendar.Calendar
		start string
		d     time.Duration
		want  string
	}{
		{"within the day", office, "2026-01-07T08:00:00Z", 2 * time.Hour, "2026-01-07T10:00:00Z"},
		{"zero is the start", office, "2026-01-07T03:00:00Z", 0, "2026-01-07T03:00:00Z"},
		{"before opening waits for it", office, "2026-01-07T05:00:00Z", 30 * time.Minute, "2026-01-07T07:30:00Z"},
		{"over the night", office, "2026-01-07T15:00:00Z", 2 * time.Hour, "2026-01-08T08:00:00Z"},
		{"ending exactly at closing", office, "2026-01-07T15:00:00Z", time.Hour, "2026-01-07T16:00:00Z"},
		{"Friday evening to Saturday hours", office, "2026-01-09T15:30:00Z", time.Hour, "2026-01-10T08:30:00Z"},
		{"over the weekend", weekdays, "2026-01-09T15:30:00Z", time.Hour, "2026-01-12T07:30:00Z"},
		{"written on Sunday", weekdays, "2026-01-11T12:00:00Z", 5 * time.Minute, "2026-01-12T07:05:00Z"},
		{"a holiday is skipped", office, "2026-12-24T15:00:00Z", 2 * time.Hour, "2026-12-26T09:00:00Z"},
		{"a week of hours", weekdays, "2026-01-12T07:00:00Z", 45 * time.Hour, "2026-01-16T16:00:00Z"},
		// 17:00 EET Friday + 2h: 1h on Friday, the other at 10:00 EEST on Monday, 07:00 UTC.
		{"over the spring change", weekdays, "2026-03-27T15:00:00Z", 2 * time.Hour, "2026-03-30T07:00:00Z"},
		// 17:00 EEST Friday + 2h: 1h on Friday, the other at 10:00 EET on Monday, 08:00 UTC.
		{"over the autumn change", weekdays, "2026-10-23T14:00:00Z", 2 * time.Hour, "2026-10-26T08:00:00Z"},
		{"the spring Sunday has 23 hours", sundays, "2026-03-08T05:00:00Z", 23 * time.Hour, "2026-03-09T04:00:00Z"},
		{"past the spring Sunday, the next one", sundays, "2026-03-08T05:00:00Z", 24 * time.Hour, "2026-03-15T05:00:00Z"},
		{"the autumn Sunday has 25 hours", sundays, "2026-11-01T04:00:00Z", 24*time.Hour + 30*time.Minute, "2026-11-02T04:30:00Z"},
		{"inside the repeated hour", sundays, "2026-11-01T05:30:00Z", time.Hour, "2026-11-01T06:30:00Z"},
		{"a zone without DST", tokyo, "2026-03-06T07:00:00Z", 2 * time.Hour, "2026-03-09T01:00:00Z"},
		{"a zone ahead of UTC, already Monday there", tokyo, "2026-03-08T23:30:00Z", time.Hour, "2026-03-09T01:00:00Z"},
		{"overlapping entries count once", overlapping, "2026-01-12T09:00:00Z", 5 * time.Hour, "2026-01-13T10:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := at(t, tt.start)
			got := tt.cal.Add(start, tt.d)
			require.Equal(t, at(t, tt.want).UTC(), got.UTC())
			require.Equal(t, tt.d, tt.cal.Between(start, got), "Between undoes Add")
		})
	}
}

func TestAddNeverOpen(t *testing.T) {
	closed := mustCalendar(t, "UTC", nil, nil)
	require.True(t, closed.Add(at(t, "2026-01-07T08:00:00Z"), time.Minute).IsZero())
}

func TestBetween(t *testing.T) {
	weekdays := mustCalendar(t, "Europe/Bucharest", []string{"mon-fri 09:00-18:00"}, []string{"2026-12-25"})
	tests := []struct {
		name string
		a, b string
		want time.Duration
	}{
		{"b before a", "2026-01-07T10:00:00Z", "2026-01-07T09:00:00Z", 0},
		{"all outside hours", "2026-01-10T08:00:00Z", "2026-01-11T20:00:00Z", 0},
		{"Friday afternoon to Monday morning", "2026-01-09T14:00:00Z", "2026-01-12T08:00:00Z", 3 * time.Hour},
		{"Christmas Eve to the 28th", "2026-12-24T07:00:00Z", "2026-12-28T16:00:00Z", 18 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, weekdays.Between(at(t, tt.a), at(t, tt.b)))
		})
	}
}

// BenchmarkAdd is the cost of a due time in business hours, which intake computes in its
// transaction when a response clock starts: a two-hour target from Friday evening, over a
// weekend.
func BenchmarkAdd(b *testing.B) {
	c, err := calendar.New("Europe/Bucharest", []string{"mon-fri 09:00-18:00"}, []string{"2026-12-25"})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Date(2026, 1, 9, 15, 30, 0, 0, time.UTC)
	b.ReportAllocs()
	for b.Loop() {
		c.Add(start, 2*time.Hour)
	}
}
