package webhook

import (
	"errors"
	"io"
	"sync"
	"time"
)

// Until its signature is checked, a hook body is anyone's, and one over maxBody may hold tens
// of MiB: such bodies are read a few at a time (maxBigReads), at most maxBigReadsPerSource of
// them from one client address, so one source cannot take every slot from the operator's
// system, and each must arrive within bigReadHold, or its slot goes to the next sender. The
// gateway's server paces every body besides (a minimum rate, a longest stall), which ends a
// trickling sender's read even where this hold would not yet.
const (
	maxBigReads          = 4
	maxBigReadsPerSource = 1
	// bigReadRate is the rate an unverified large body must keep up after bigReadGrace: the
	// operator's system sends from a server, and a body trickling slower holds a slot that a
	// signed reply with files needs.
	bigReadRate  = 512 << 10
	bigReadGrace = 30 * time.Second
)

// errBigReadTooSlow ends the read of an unverified large body that held its slot too long.
var errBigReadTooSlow = errors.New("a large body that is not verified yet must arrive faster")

// bigReadSlots hands out the slots of unverified large reads, by source.
type bigReadSlots struct {
	mu       sync.Mutex
	total    int
	bySource map[string]int // only sources holding a slot: at most maxBigReads entries
}

// acquire takes a slot for source; ok is false when source holds its share or every slot is
// taken. release gives it back.
func (s *bigReadSlots) acquire(source string) (release func(), ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.total >= maxBigReads || s.bySource[source] >= maxBigReadsPerSource {
		return nil, false
	}
	if s.bySource == nil {
		s.bySource = map[string]int{}
	}
	s.total++
	s.bySource[source]++
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.total--
		if s.bySource[source]--; s.bySource[source] <= 0 {
			delete(s.bySource, source)
		}
	}, true
}

// bigReadHold is how long an unverified body of at most limit bytes may hold its slot.
func bigReadHold(limit int64) time.Duration {
	return bigReadGrace + time.Duration(limit/bigReadRate)*time.Second
}

// heldReader fails reads once now() is past until.
type heldReader struct {
	r     io.Reader
	until time.Time
	now   func() time.Time
}

func (h *heldReader) Read(p []byte) (int, error) {
	if h.now().After(h.until) {
		return 0, errBigReadTooSlow
	}
	return h.r.Read(p)
}
