package conformance

import (
	"context"
	"slices"
	"sync"

	"github.com/casino-support/gateway/normalize"
)

// RecordingSink is a connectors.Sink that keeps what it was given, for connector tests. Set a
// failure with Fail to check that a connector does not acknowledge what was not stored;
// Attempts counts what the connector tried to deliver, failed or not.
type RecordingSink struct {
	mu       sync.Mutex
	calls    [][]normalize.Message
	attempts [][]normalize.Message // every call, failed ones included
	err      error
}

// Deliver records msgs, or returns the error set by Fail without recording anything but the
// attempt.
func (s *RecordingSink) Deliver(_ context.Context, msgs ...normalize.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attempts = append(s.attempts, slices.Clone(msgs))
	if s.err != nil {
		return s.err
	}
	s.calls = append(s.calls, slices.Clone(msgs))
	return nil
}

// Attempts counts the messages for which keep is true in every Deliver call, failed ones
// included: how often a connector tried to hand them over.
func (s *RecordingSink) Attempts(keep func(normalize.Message) bool) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.attempts {
		for _, m := range c {
			if keep(m) {
				n++
			}
		}
	}
	return n
}

// Fail makes every later Deliver return err; nil makes it succeed again.
func (s *RecordingSink) Fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
}

// Messages returns every recorded message in delivery order.
func (s *RecordingSink) Messages() []normalize.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []normalize.Message
	for _, c := range s.calls {
		out = append(out, c...)
	}
	return out
}

// Calls returns the recorded Deliver calls, each with its messages.
func (s *RecordingSink) Calls() [][]normalize.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([][]normalize.Message, len(s.calls))
	for i, c := range s.calls {
		out[i] = slices.Clone(c)
	}
	return out
}

// Where returns the recorded messages for which keep is true.
func (s *RecordingSink) Where(keep func(normalize.Message) bool) []normalize.Message {
	var out []normalize.Message
	for _, m := range s.Messages() {
		if keep(m) {
			out = append(out, m)
		}
	}
	return out
}
