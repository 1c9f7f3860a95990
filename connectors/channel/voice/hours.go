package voice

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// span is one line of opening hours: some weekdays, from one time of day to another (minutes
// after midnight, to after from).
type span struct {
	days     [7]bool // by time.Weekday
	from, to int
}

var dayNames = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday,
	"wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

// parseHours reads "mon-fri 09:00-18:00", "sat,sun 10:00-14:00" or "daily 08:00-20:00".
func parseHours(s string) (span, error) {
	var sp span
	days, times, ok := strings.Cut(strings.ToLower(strings.TrimSpace(s)), " ")
	if !ok {
		return sp, fmt.Errorf("want days and times such as mon-fri 09:00-18:00, got %q", s)
	}
	if days == "daily" {
		days = "sun-sat"
	}
	for part := range strings.SplitSeq(days, ",") {
		first, last, isRange := strings.Cut(part, "-")
		a, okA := dayNames[first]
		b, okB := dayNames[last]
		if !isRange {
			b, okB = a, okA
		}
		if !okA || !okB {
			return sp, fmt.Errorf("want days such as mon-fri or sat,sun, got %q", days)
		}
		for d := a; ; d = (d + 1) % 7 {
			sp.days[d] = true
			if d == b {
				break
			}
		}
	}
	from, to, ok := strings.Cut(strings.TrimSpace(times), "-")
	var err error
	if sp.from, err = clock(from); err == nil && ok {
		sp.to, err = clock(to)
	}
	if err != nil || !ok {
		return sp, fmt.Errorf("want times such as 09:00-18:00, got %q", times)
	}
	if sp.to <= sp.from {
		return sp, errors.New("the closing time must come after the opening time (24:00 for midnight)")
	}
	return sp, nil
}

// clock reads "09:00" as minutes after midnight; "24:00" is the end of the day.
func clock(s string) (int, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		if s == "24:00" {
			return 24 * 60, nil
		}
		return 0, err
	}
	return t.Hour()*60 + t.Minute(), nil
}

// hours are a number's opening hours in its time zone; none means always open.
type hours struct {
	spans []span
	loc   *time.Location
	specs []string // as configured, in order
}

func newHours(specs []string, zone string) (hours, error) {
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return hours{}, err
	}
	h := hours{loc: loc, specs: specs}
	for _, s := range specs {
		sp, err := parseHours(s)
		if err != nil {
			return hours{}, err
		}
		h.spans = append(h.spans, sp)
	}
	return h, nil
}

// open reports whether t falls within the hours.
func (h hours) open(t time.Time) bool {
	if len(h.spans) == 0 {
		return true
	}
	t = t.In(h.loc)
	m := t.Hour()*60 + t.Minute()
	for _, sp := range h.spans {
		if sp.days[t.Weekday()] && m >= sp.from && m < sp.to {
			return true
		}
	}
	return false
}

// spoken renders the hours in the words of p: "Monday to Friday, 09:00 to 18:00".
func (h hours) spoken(p phrases) string {
	var parts []string
	for _, sp := range h.spans {
		parts = append(parts, spokenDays(sp.days, p)+", "+hhmm(sp.from)+" "+p.to+" "+hhmm(sp.to))
	}
	return strings.Join(parts, "; ")
}

// spokenDays names runs of days: "Monday to Friday", "Saturday", "Monday, Wednesday".
func spokenDays(days [7]bool, p phrases) string {
	var runs []string
	// Weeks are read from Monday, as opening hours are written.
	order := []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday}
	for i := 0; i < len(order); i++ {
		if !days[order[i]] {
			continue
		}
		j := i
		for j+1 < len(order) && days[order[j+1]] {
			j++
		}
		switch {
		case j-i >= 2:
			runs = append(runs, p.days[order[i]]+" "+p.to+" "+p.days[order[j]])
		case j > i:
			runs = append(runs, p.days[order[i]], p.days[order[j]])
		default:
			runs = append(runs, p.days[order[i]])
		}
		i = j
	}
	return strings.Join(runs, ", ")
}

func hhmm(m int) string { return fmt.Sprintf("%02d:%02d", m/60, m%60) }
