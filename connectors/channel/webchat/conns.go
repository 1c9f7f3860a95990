package webchat

import "sync"

// openConns counts the chat's open connections, WebSockets from the handshake on (a silent
// socket that never says hello holds memory like any other) and long polls while they wait:
// in all, and per client address. The hub's per-conversation cap comes on top, after hello.
type openConns struct {
	mu         sync.Mutex
	max        int
	perAddress int
	total      int
	byClient   map[string]int
}

func newOpenConns(max, perAddress int) *openConns {
	return &openConns{max: max, perAddress: perAddress, byClient: map[string]int{}}
}

// acquire takes a place for a connection of client; it returns the reason of a refusal, or ""
// with the place taken, to be given back by release.
func (o *openConns) acquire(client string) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	switch {
	case o.total >= o.max:
		return reasonConnections
	case o.byClient[client] >= o.perAddress:
		return reasonAddressConnections
	}
	o.total++
	o.byClient[client]++
	return ""
}

func (o *openConns) release(client string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.total--
	if o.byClient[client]--; o.byClient[client] <= 0 {
		delete(o.byClient, client)
	}
}
