// Package ratelog keeps warnings that an outsider or an outage can repeat at will (a forged
// token, a directory that is down) to one line per key and interval, and lets that line say
// how many occurrences it stands for.
package ratelog

import (
	"sync"
	"time"
)

// Limiter lets one line per key through every Every; safe for concurrent use.
type Limiter struct {
	every time.Duration
	now   func() time.Time

	mu     sync.Mutex
	last   map[string]time.Time
	missed map[string]int
}

// New returns a limiter letting a key through once per every; now nil is time.Now.
func New(every time.Duration, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{every: every, now: now, last: map[string]time.Time{}, missed: map[string]int{}}
}

// Allow reports whether to log key now, and how many occurrences the line stands for (this
// one and those held back since the last line). Keys are expected to be few (reasons, kinds),
// not one per client: the limiter never forgets one.
func (l *Limiter) Allow(key string) (int, bool) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if last, ok := l.last[key]; ok && now.Sub(last) < l.every {
		l.missed[key]++
		return 0, false
	}
	n := 1 + l.missed[key]
	l.last[key], l.missed[key] = now, 0
	return n, true
}
