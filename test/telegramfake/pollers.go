package telegramfake

import (
	"sync"
	"time"
)

// ConflictPollers is Telegram's description of the 409 a long poll gets when a newer
// getUpdates of the same bot arrives while it still waits: two processes poll one bot.
const ConflictPollers = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"

// overlapGrace is how long a newer getUpdates waits for the one in flight to end before both
// count as concurrent. A client that cancelled its poll (a replica that stopped or was
// killed) closed the connection, but the server notices that a moment later, after the
// client's next poll may have arrived: that is one poller, not two.
const overlapGrace = time.Second

// poll is one getUpdates in flight.
type poll struct {
	ended      chan struct{} // closed when it answers or its client goes away
	terminated chan struct{} // closed when a newer poll overlapped it: it answers 409
	endOnce    sync.Once
}

// startPoll records a getUpdates arriving and makes it the one in flight. One still in flight
// after overlapGrace is an overlap: counted, and terminated with 409 as Telegram does.
func (s *Server) startPoll() *poll {
	me := &poll{ended: make(chan struct{}), terminated: make(chan struct{})}
	s.mu.Lock()
	s.polls = append(s.polls, time.Now())
	prev := s.active
	s.active = me
	s.mu.Unlock()
	if prev == nil {
		return me
	}
	select {
	case <-prev.ended:
	case <-time.After(overlapGrace):
		s.mu.Lock()
		s.overlaps++
		s.mu.Unlock()
		close(prev.terminated)
	}
	return me
}

// endPoll marks p answered; it is called before the answer is written, so that the client's
// next poll never overlaps its own previous one.
func (s *Server) endPoll(p *poll) {
	p.endOnce.Do(func() {
		s.mu.Lock()
		if s.active == p {
			s.active = nil
		}
		s.mu.Unlock()
		close(p.ended)
	})
}

// Overlaps returns how often a getUpdates arrived while another was still waiting: two
// pollers of one bot at once, which Telegram answers 409 Conflict.
func (s *Server) Overlaps() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.overlaps
}

// Polls returns when each getUpdates arrived, in order.
func (s *Server) Polls() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.polls...)
}
