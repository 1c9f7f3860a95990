package main

import (
	"net/http"
	"time"
)

// idleConnsPerHost is how many idle connections the connectors keep to one remote host. Go's
// default is 2, while the router posts to one helpdesk from delivery.workers (16) workers at
// once: every post beyond the second opened a new connection and closed it afterwards, about
// one TCP (and, to a real helpdesk, TLS) handshake per message (issue 16).
const idleConnsPerHost = 64

// connectorClient is the HTTP client the connectors share, keeping their connections to each
// remote for reuse; otherwise http.DefaultTransport's settings (proxy from the environment,
// dial and TLS timeouts, HTTP/2).
func connectorClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = idleConnsPerHost
	t.MaxIdleConns = max(t.MaxIdleConns, 4*idleConnsPerHost)
	return &http.Client{Timeout: 60 * time.Second, Transport: t}
}
