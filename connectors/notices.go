package connectors

import (
	"context"
	"crypto/rand"
	"encoding/hex"
)

// MaxNotice is the most a notice carries, its topic included: PostgreSQL's NOTIFY refuses
// longer payloads (8000 bytes), less room for the framing.
const MaxNotice = 7000

// Notices carries small notices between the gateway's replicas (LISTEN/NOTIFY on a PostgreSQL
// store), so that a live page on one replica hears of what another did: an agent's reply a
// replica delivered to a player whose WebSocket is open on another, a conversation that
// changed under an agent's open list. Notices are hints, not storage: the pages catch up from
// the store. A gateway of one process (the SQLite store) has none, and its connectors reach
// their own pages directly.
type Notices interface {
	// Publish sends payload on topic to the subscribers of every replica, this one included.
	// payload must not be empty, and with topic must fit MaxNotice.
	Publish(ctx context.Context, topic, payload string) error
	// Subscribe returns the payloads published on topic from now on, and a function that ends
	// the subscription. An empty payload means notices may have been lost (this replica's
	// listener lost its connection and is back): the subscriber wakes its pages so they reread
	// what they show from the store.
	Subscribe(topic string) (<-chan string, func())
}

// NewReplicaID returns a random name for this process's notices, so that a connector tells
// its own from the other replicas' and skips them (it reached its own pages directly).
func NewReplicaID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // crypto/rand.Read does not fail (Go 1.24+)
	return hex.EncodeToString(b)
}

// Listen hands the payloads published on topic to handle, one at a time, until the function
// it returns is called; that function returns once handle has returned for the last time.
func Listen(n Notices, topic string, handle func(payload string)) (stop func()) {
	heard, unsubscribe := n.Subscribe(topic)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case payload := <-heard:
				handle(payload)
			}
		}
	}()
	return func() {
		unsubscribe()
		cancel()
		<-done
	}
}
