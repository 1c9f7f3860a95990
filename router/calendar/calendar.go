// Package calendar tells whether a moment falls in an operator's business hours: weekly
// opening hours in one time zone, less the holidays. The hours are wall-clock times in that
// zone, so a DST change moves them with the local clocks, as the operator's staff do.
package calendar

import (
	"fmt"
	"strings"
	"time"
)

// Calendar is weekly opening hours in Location, closed on Holidays.
type Calendar struct {
	loc      *time.Location
	weekly   [7][]span // by time.Weekday
	holidays map[string]bool
}

// span is [from, to) in minutes after local midnight.
type span struct{ from, to int }

// New parses a calendar: zone is an IANA time zone ("Europe/Bucharest"); each of weekly is
// days and hours such as "mon-fri 09:00-18:00", "sat 10:00-14:00" or "sun 00:00-24:00";
// holidays are dates "2026-12-25", closed all day in zone. Errors name the entry at fault.
func New(zone string, weekly, holidays []string) (*Calendar, error) {
	loc, err := time.LoadLocation(zone)
	if err != nil || zone == "" {
		return nil, fmt.Errorf("timezone: want an IANA time zone such as \"Europe/Bucharest\", got %q", zone)
	}
	c := &Calendar{loc: loc, holidays: map[string]bool{}}
	for i, w := range weekly {
		days, s, err := parseWeekly(w)
		if err != nil {
			return nil, fmt.Errorf("weekly[%d]: %w", i, err)
		}
		for _, d := range days {
			c.weekly[d] = append(c.weekly[d], s)
		}
	}
	for i, h := range holidays {
		d, err := time.Parse(time.DateOnly, h)
		if err != nil {
			return nil, fmt.Errorf("holidays[%d]: want a date such as 2026-12-25, got %q", i, h)
		}
		c.holidays[d.Format(time.DateOnly)] = true
	}
	return c, nil
}

// Open reports whether t falls in business hours.
func (c *Calendar) Open(t time.Time) bool {
	local := t.In(c.loc)
	if c.holidays[local.Format(time.DateOnly)] {
		return false
	}
	minute := local.Hour()*60 + local.Minute()
	for _, s := range c.weekly[local.Weekday()] {
		if minute >= s.from && minute < s.to {
			return true
		}
	}
	return false
}

// NextOpen returns the first moment at or after t that falls in business hours: t itself
// when open, else the next opening in the calendar's zone (holidays skipped). ok is false
// when the calendar opens on none of the next 400 days (no weekly hours, or only holidays).
// An opening in a DST gap is the moment of the jump.
func (c *Calendar) NextOpen(t time.Time) (next time.Time, ok bool) {
	if c.Open(t) {
		return t, true
	}
	local := t.In(c.loc)
	y, m, d := local.Date()
	for i := range 400 {
		day := time.Date(y, m, d+i, 12, 0, 0, 0, c.loc) // noon: never in a DST gap
		if c.holidays[day.Format(time.DateOnly)] {
			continue
		}
		for _, s := range c.weekly[day.Weekday()] {
			opens := time.Date(day.Year(), day.Month(), day.Day(), s.from/60, s.from%60, 0, 0, c.loc)
			// An opening in a DST gap (02:30 on the spring-forward night) does not exist:
			// time.Date may put it before the jump, when the clocks still read 01:30. The desk
			// opens at the jump, the first minute the clocks read past the opening.
			for step := 0; step < 3*60 && !c.Open(opens); step++ {
				opens = opens.Add(time.Minute)
			}
			if opens.After(t) && (!ok || opens.Before(next)) {
				next, ok = opens, true
			}
		}
		if ok {
			return next, true
		}
	}
	return time.Time{}, false
}

// Location is the calendar's time zone.
func (c *Calendar) Location() *time.Location { return c.loc }

var dayNames = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday,
	"wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

func parseWeekly(w string) ([]time.Weekday, span, error) {
	bad := func(why string) ([]time.Weekday, span, error) {
		return nil, span{}, fmt.Errorf("want days and hours such as \"mon-fri 09:00-18:00\", got %q: %s", w, why)
	}
	fields := strings.Fields(strings.ToLower(w))
	if len(fields) != 2 {
		return bad("two parts")
	}
	first, last, isRange := strings.Cut(fields[0], "-")
	if !isRange {
		last = first
	}
	from, ok1 := dayNames[first]
	to, ok2 := dayNames[last]
	if !ok1 || !ok2 {
		return bad("days are mon, tue, wed, thu, fri, sat, sun")
	}
	var days []time.Weekday
	for d := from; ; d = (d + 1) % 7 {
		days = append(days, d)
		if d == to {
			break
		}
	}
	start, end, ok := strings.Cut(fields[1], "-")
	if !ok {
		return bad("hours are from-to")
	}
	s, err1 := minutes(start)
	e, err2 := minutes(end)
	if err1 != nil || err2 != nil || s >= e {
		return bad("hours are HH:MM-HH:MM, the start before the end")
	}
	return days, span{s, e}, nil
}

func minutes(hhmm string) (int, error) {
	if hhmm == "24:00" {
		return 24 * 60, nil
	}
	t, err := time.Parse("15:04", hhmm)
	if err != nil {
		return 0, err
	}
	return t.Hour()*60 + t.Minute(), nil
}
