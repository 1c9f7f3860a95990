package inbox

import (
	"sync"

	"github.com/casino-support/gateway/normalize"
)

// subscriberBuffer is how many changes one browser may lag behind before further ones are
// dropped; dropping is harmless because any one "changed" event makes the page refetch
// everything, and the page also refreshes on a timer.
const subscriberBuffer = 16

// broker fans "a conversation changed" out to the open event streams of this process. It
// carries only hints: the pages refetch their content, so nothing is lost when one is missed.
type broker struct {
	mu     sync.Mutex
	subs   map[chan normalize.ConversationID]struct{}
	closed bool
}

func newBroker() *broker {
	return &broker{subs: map[chan normalize.ConversationID]struct{}{}}
}

// subscribe returns a channel of changed conversations; it is closed when the broker drops
// every stream (shutdown). ok is false once the broker is closed.
func (b *broker) subscribe() (ch chan normalize.ConversationID, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, false
	}
	ch = make(chan normalize.ConversationID, subscriberBuffer)
	b.subs[ch] = struct{}{}
	return ch, true
}

// unsubscribe forgets ch; the caller stops reading it.
func (b *broker) unsubscribe(ch chan normalize.ConversationID) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.subs, ch)
}

// publish tells every stream that conv changed, never blocking on a slow one.
func (b *broker) publish(conv normalize.ConversationID) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		select {
		case ch <- conv:
		default:
		}
	}
}

// disconnectAll ends the current streams; browsers reconnect on their own if the server goes on.
func (b *broker) disconnectAll() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		close(ch)
		delete(b.subs, ch)
	}
}

// close ends the current streams and refuses new ones.
func (b *broker) close() {
	b.disconnectAll()
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
}
