package main

import (
	"net/http"
	"net/netip"
	"slices"
	"strings"

	"github.com/casino-support/gateway/connectors"
)

// resolveClients sets each request's client address (connectors.WithClientAddr), which every
// per-address limit and every log line about a client reads: the TCP peer, unless the peer is
// one of trusted, the reverse proxies in front of the gateway; then the right-most address of
// X-Forwarded-For (or, when a request has none, of Forwarded's for=) that is not itself a
// trusted proxy. Right-most, because each proxy appends the peer it saw, and everything left
// of the nearest untrusted hop is whatever that hop chose to send.
func resolveClients(trusted []netip.Prefix, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, connectors.WithClientAddr(r, clientAddress(connectors.PeerAddr(r), r.Header, trusted)))
	})
}

// clientAddress resolves the client of a request from peer with headers h.
func clientAddress(peer netip.Addr, h http.Header, trusted []netip.Prefix) netip.Addr {
	isTrusted := func(a netip.Addr) bool {
		return slices.ContainsFunc(trusted, func(p netip.Prefix) bool { return p.Contains(a) })
	}
	if !peer.IsValid() || !isTrusted(peer) {
		return peer
	}
	hops := forwardedXFF(h)
	if hops == nil {
		hops = forwardedRFC7239(h)
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseHop(hops[i])
		if !ok {
			// "unknown", an obfuscated name or garbage: nothing left of it can be trusted, so the
			// last hop known is the best answer (at worst the proxy, sharing its limits).
			break
		}
		client = a
		if !isTrusted(a) {
			break
		}
	}
	return client
}

// forwardedXFF lists the hops of X-Forwarded-For, over every field line in order; nil when
// the request has none.
func forwardedXFF(h http.Header) []string {
	var hops []string
	for _, line := range h.Values("X-Forwarded-For") {
		for hop := range strings.SplitSeq(line, ",") {
			if hop = strings.TrimSpace(hop); hop != "" {
				hops = append(hops, hop)
			}
		}
	}
	return hops
}

// forwardedRFC7239 lists the for= values of the Forwarded header's elements (RFC 7239), an
// element without one as "" (an unknown hop).
func forwardedRFC7239(h http.Header) []string {
	var hops []string
	for _, line := range h.Values("Forwarded") {
		for _, elem := range splitQuoted(line, ',') {
			if strings.TrimSpace(elem) == "" {
				continue
			}
			hop := ""
			for _, pair := range splitQuoted(elem, ';') {
				k, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
				if ok && strings.EqualFold(strings.TrimSpace(k), "for") {
					hop = strings.Trim(strings.TrimSpace(v), `"`)
				}
			}
			hops = append(hops, hop)
		}
	}
	return hops
}

// splitQuoted splits s at sep outside double quotes.
func splitQuoted(s string, sep byte) []string {
	var parts []string
	quoted, start := false, 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '"':
			quoted = !quoted
		case s[i] == '\\' && quoted:
			i++
		case s[i] == sep && !quoted:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// parseHop reads one forwarded address: 192.0.2.1, 192.0.2.1:4711, 2001:db8::1 or
// [2001:db8::1]:4711 (proxies add ports and brackets as they like).
func parseHop(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		ap, perr := netip.ParseAddrPort(s)
		if perr != nil {
			host := strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
			if a, err = netip.ParseAddr(host); err != nil {
				return netip.Addr{}, false
			}
		} else {
			a = ap.Addr()
		}
	}
	a = a.Unmap().WithZone("")
	if a.IsUnspecified() {
		return netip.Addr{}, false
	}
	return a, true
}
