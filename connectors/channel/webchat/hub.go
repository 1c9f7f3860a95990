package webchat

import (
	"sync"
	"time"

	"github.com/casino-support/gateway/normalize"
)

const (
	// maxConnsPerAddress bounds the WebSocket connections of one conversation (tabs, devices):
	// far above what a player opens, low enough that a script cannot exhaust the process.
	maxConnsPerAddress = 20
	// boxTTL is how long a long-poll mailbox outlives its last poll: a page between two polls
	// must not miss a reply, a page that went away must not be kept forever.
	boxTTL = 2 * time.Minute
	// sweepEvery spaces the lazy clean-ups of idle mailboxes.
	sweepEvery = 30 * time.Second
)

// pageConn is one open WebSocket page as the hub sees it.
type pageConn struct {
	// out is drained by the connection's writer; push never blocks on it.
	out chan []byte
	// kick closes the connection; the page reconnects and catches up from the history.
	kick func(reason string)
}

// hub knows which pages are open on which address, so Send and Typing can reach them. It
// holds WebSocket connections and long-poll mailboxes; both see every frame pushed to their
// address.
type hub struct {
	mu        sync.Mutex
	conns     map[normalize.Address]map[*pageConn]struct{}
	boxes     map[normalize.Address]*mailbox
	seq       int64 // last sequence number given to a mailbox frame
	lastSweep time.Time
	now       func() time.Time
}

func newHub(now func() time.Time) *hub {
	return &hub{
		conns: map[normalize.Address]map[*pageConn]struct{}{},
		boxes: map[normalize.Address]*mailbox{},
		// Starting from the clock keeps cursors growing across restarts, so a page polling
		// with a cursor from before a restart is told to resync instead of waiting forever.
		seq: now().UnixMicro(),
		now: now,
	}
}

// join registers a connection; false when the address already has too many.
func (h *hub) join(addr normalize.Address, c *pageConn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	set := h.conns[addr]
	if len(set) >= maxConnsPerAddress {
		return false
	}
	if set == nil {
		set = map[*pageConn]struct{}{}
		h.conns[addr] = set
	}
	set[c] = struct{}{}
	return true
}

func (h *hub) leave(addr normalize.Address, c *pageConn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.conns[addr], c)
	if len(h.conns[addr]) == 0 {
		delete(h.conns, addr)
	}
}

// publish pushes frame to every page open on addr except the connection except (nil for
// none) and returns how many it reached. A connection too slow to take it is kicked rather
// than waited for: one stuck tab must not hold up Send for the others.
func (h *hub) publish(addr normalize.Address, frame []byte, except *pageConn) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for c := range h.conns[addr] {
		if c == except {
			continue
		}
		select {
		case c.out <- frame:
			n++
		default:
			c.kick("too slow to keep up")
		}
	}
	// Expired means the same here as in mailbox: a box mailbox would keep must get the frame.
	if box := h.boxes[addr]; box != nil && h.now().Sub(box.touched) <= boxTTL {
		h.seq++
		box.add(h.seq, frame)
		n++
	}
	return n
}

// mailbox returns the long-poll mailbox of addr, creating it if needed, and marks it used.
func (h *hub) mailbox(addr normalize.Address) *mailbox {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.now()
	if now.Sub(h.lastSweep) > sweepEvery {
		h.lastSweep = now
		for a, b := range h.boxes {
			if now.Sub(b.touched) > boxTTL {
				delete(h.boxes, a)
			}
		}
	}
	box := h.boxes[addr]
	if box == nil || now.Sub(box.touched) > boxTTL {
		// Frames pushed while addr had no live box were kept nowhere and did not move seq,
		// so a cursor handed out before must fall below the new floor and resync.
		h.seq++
		box = newMailbox(h.seq)
		h.boxes[addr] = box
	}
	box.touched = now
	return box
}

// resync makes every page on addr reload the history: WebSocket connections are kicked and
// reconnect, long-polling pages are told to reset.
func (h *hub) resync(addr normalize.Address, reason string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.resyncLocked(addr, reason)
}

// resyncAll makes every page of the hub reload the history.
func (h *hub) resyncAll(reason string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for addr := range h.conns {
		h.resyncLocked(addr, reason)
	}
	for addr := range h.boxes {
		h.resyncLocked(addr, reason)
	}
}

func (h *hub) resyncLocked(addr normalize.Address, reason string) {
	for c := range h.conns[addr] {
		c.kick(reason)
	}
	if box := h.boxes[addr]; box != nil {
		// Every cursor handed out so far falls below the floor, so each poll answers reset.
		h.seq++
		box.reset(h.seq)
	}
}

// closeAll kicks every WebSocket connection: the channel stops, the pages reconnect to
// whoever serves next.
func (h *hub) closeAll(reason string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, set := range h.conns {
		for c := range set {
			c.kick(reason)
		}
	}
}
