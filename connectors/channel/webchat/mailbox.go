package webchat

import (
	"encoding/json"
	"time"

	"github.com/casino-support/gateway/normalize"
)

// maxBoxFrames is how many pushed frames a long-poll mailbox keeps for a page between polls;
// a page that falls further behind is told to resync (say hello again and reload the history).
const maxBoxFrames = 100

// mailbox keeps the frames pushed to one address for long-polling pages. Frames carry
// sequence numbers from the hub, so several pages polling the same address each read at
// their own cursor and nothing is consumed.
type mailbox struct {
	// floor is the highest sequence number that may be missing: frames up to it were pushed
	// before the mailbox existed or were dropped. A cursor below it must resync.
	floor  int64
	frames []boxFrame
	// wake is closed (and replaced) whenever a frame arrives, waking every waiting poll.
	wake    chan struct{}
	touched time.Time
}

type boxFrame struct {
	seq   int64
	frame json.RawMessage
}

func newMailbox(seq int64) *mailbox {
	return &mailbox{floor: seq, wake: make(chan struct{})}
}

func (b *mailbox) add(seq int64, frame []byte) {
	if len(b.frames) == maxBoxFrames {
		b.floor = b.frames[0].seq
		copy(b.frames, b.frames[1:])
		b.frames = b.frames[:len(b.frames)-1]
	}
	b.frames = append(b.frames, boxFrame{seq: seq, frame: frame})
	close(b.wake)
	b.wake = make(chan struct{})
}

// reset drops the frames and raises the floor to seq, waking every waiting poll, which then
// answers reset.
func (b *mailbox) reset(seq int64) {
	b.floor = seq
	b.frames = nil
	close(b.wake)
	b.wake = make(chan struct{})
}

// take returns the frames of addr after cursor, the cursor to poll with next, whether the
// page must resync, and a channel closed when more frames arrive.
func (h *hub) take(addr normalize.Address, after int64) (frames []json.RawMessage, cursor int64, reset bool, wake <-chan struct{}) {
	box := h.mailbox(addr)
	h.mu.Lock()
	defer h.mu.Unlock()
	if after < box.floor || after > h.seq {
		return nil, h.seq, true, box.wake
	}
	cursor = after
	for _, f := range box.frames {
		if f.seq > after {
			frames = append(frames, f.frame)
			cursor = f.seq
		}
	}
	return frames, cursor, false, box.wake
}

// cursor returns where a page that just loaded the history starts polling, and makes sure a
// mailbox collects what is pushed from now on.
func (h *hub) cursor(addr normalize.Address) int64 {
	h.mailbox(addr)
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.seq
}
