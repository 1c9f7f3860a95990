package connectors

import (
	"context"
	"net"
	"net/http"
	"net/netip"
)

// clientAddrKey keys the client's address in a request's context.
type clientAddrKey struct{}

// WithClientAddr returns r carrying addr as its client's address. The gateway's HTTP server
// sets it on every request: the TCP peer, or, when the peer is a trusted proxy, the address
// that proxy forwarded.
func WithClientAddr(r *http.Request, addr netip.Addr) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), clientAddrKey{}, addr))
}

// ClientAddr returns the address of the client that sent r, as the gateway resolved it, or
// the TCP peer's for a request that did not pass the gateway's server (a test's). Every
// per-address limit and every log line about a client uses it; forwarded headers are never
// read here, since anyone can send them.
func ClientAddr(r *http.Request) netip.Addr {
	if a, ok := r.Context().Value(clientAddrKey{}).(netip.Addr); ok && a.IsValid() {
		return a
	}
	return PeerAddr(r)
}

// PeerAddr returns the address of r's TCP peer; the zero Addr when RemoteAddr is no address.
func PeerAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

// ClientKey is what per-address limits count a client by: its address, and for IPv6 its /64,
// since one host or subscriber gets a whole /64 and picks source addresses from it at will.
func ClientKey(r *http.Request) string {
	a := ClientAddr(r)
	switch {
	case !a.IsValid():
		return r.RemoteAddr
	case a.Is6():
		return netip.PrefixFrom(a, 64).Masked().String()
	}
	return a.String()
}
