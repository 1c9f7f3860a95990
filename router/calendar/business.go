package calendar

import (
	"slices"
	"time"
)

// horizon bounds the search for business time: a calendar that stays closed this long (no
// weekly hours, or a year of holidays) never reaches a deadline.
const horizon = 2 * 366

// Add returns the moment d of business time after start: the clock runs only while the
// calendar is open and pauses outside its hours, over nights, weekends and holidays. The
// hours are wall-clock times, so an opening day of 09:00-18:00 is nine real hours whatever
// the DST change, while an all-day span on the day of a change is 23 or 25 hours long, as
// the staff working it live it. The zero time means the calendar does not open again within
// about two years.
func (c *Calendar) Add(start time.Time, d time.Duration) time.Time {
	if d <= 0 {
		return start
	}
	left := d
	local := start.In(c.loc)
	y, m, day := local.Date()
	for i := range horizon {
		for _, iv := range c.day(y, m, day+i) {
			from := later(iv.from, start)
			if !iv.to.After(from) {
				continue
			}
			if avail := iv.to.Sub(from); left <= avail {
				return from.Add(left)
			} else {
				left -= avail
			}
		}
	}
	return time.Time{}
}

// Between returns the business time from a to b: how long the calendar was open in between;
// zero when b is not after a.
func (c *Calendar) Between(a, b time.Time) time.Duration {
	if !b.After(a) {
		return 0
	}
	var sum time.Duration
	local := a.In(c.loc)
	y, m, day := local.Date()
	for i := range horizon {
		for _, iv := range c.day(y, m, day+i) {
			if !iv.from.Before(b) {
				return sum
			}
			from, to := later(iv.from, a), iv.to
			if b.Before(to) {
				to = b
			}
			if to.After(from) {
				sum += to.Sub(from)
			}
		}
	}
	return sum
}

// interval is one opening of one day as instants, [from, to).
type interval struct{ from, to time.Time }

// day returns the openings of the local date y-m-d (d may overflow the month, as in
// time.Date), merged and in order; none on a holiday.
func (c *Calendar) day(y int, m time.Month, d int) []interval {
	midnight := time.Date(y, m, d, 0, 0, 0, 0, c.loc)
	// time.Date normalizes an overflowing day: read the real date back.
	y, m, d = midnight.Date()
	if c.holidays[midnight.Format(time.DateOnly)] {
		return nil
	}
	spans := slices.Clone(c.weekly[midnight.Weekday()])
	slices.SortFunc(spans, func(a, b span) int { return a.from - b.from })
	var out []interval
	at := func(minute int) time.Time { return time.Date(y, m, d, minute/60, minute%60, 0, 0, c.loc) }
	for _, s := range spans {
		// Overlapping entries ("mon-fri 09:00-18:00" and "fri 12:00-20:00") count once.
		if n := len(out); n > 0 && !at(s.from).After(out[n-1].to) {
			out[n-1].to = later(out[n-1].to, at(s.to))
			continue
		}
		out = append(out, interval{at(s.from), at(s.to)})
	}
	return out
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
