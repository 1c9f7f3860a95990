package main

import (
	"net/http"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestClientAddress(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	tests := []struct {
		name    string
		peer    string
		trusted []netip.Prefix
		headers map[string][]string
		want    string
	}{
		{"no proxy trusted: the peer, whatever it sends", "203.0.113.9", nil,
			map[string][]string{"X-Forwarded-For": {"198.51.100.1"}}, "203.0.113.9"},
		{"an untrusted peer's X-Forwarded-For is ignored", "203.0.113.9", proxies,
			map[string][]string{"X-Forwarded-For": {"198.51.100.1"}}, "203.0.113.9"},
		{"an untrusted peer's Forwarded is ignored", "203.0.113.9", proxies,
			map[string][]string{"Forwarded": {"for=198.51.100.1"}}, "203.0.113.9"},
		{"a trusted proxy without a header is the client", "10.1.1.1", proxies, nil, "10.1.1.1"},
		{"the address the proxy appended", "10.1.1.1", proxies,
			map[string][]string{"X-Forwarded-For": {"198.51.100.1"}}, "198.51.100.1"},
		{"the right-most untrusted: what the client made up is left of it", "10.1.1.1", proxies,
			map[string][]string{"X-Forwarded-For": {"1.2.3.4, 198.51.100.1"}}, "198.51.100.1"},
		{"through a chain of trusted proxies", "10.1.1.1", proxies,
			map[string][]string{"X-Forwarded-For": {"1.2.3.4, 198.51.100.1, 10.2.2.2", "10.3.3.3"}}, "198.51.100.1"},
		{"every hop trusted: the furthest", "10.1.1.1", proxies,
			map[string][]string{"X-Forwarded-For": {"10.9.9.9, 10.2.2.2"}}, "10.9.9.9"},
		{"ports and brackets", "::1", proxies,
			map[string][]string{"X-Forwarded-For": {"[2001:db8::7]:4711"}}, "2001:db8::7"},
		{"an IPv4 address with a port", "::1", proxies,
			map[string][]string{"X-Forwarded-For": {"198.51.100.1:4711"}}, "198.51.100.1"},
		{"IPv4-mapped is IPv4", "::1", proxies,
			map[string][]string{"X-Forwarded-For": {"::ffff:198.51.100.1"}}, "198.51.100.1"},
		{"garbage right of the client: the last trusted hop", "10.1.1.1", proxies,
			map[string][]string{"X-Forwarded-For": {"198.51.100.1, not-an-address"}}, "10.1.1.1"},
		{"garbage left of the client does not matter", "10.1.1.1", proxies,
			map[string][]string{"X-Forwarded-For": {"<script>, 198.51.100.1"}}, "198.51.100.1"},
		{"an unspecified address is no client", "10.1.1.1", proxies,
			map[string][]string{"X-Forwarded-For": {"0.0.0.0"}}, "10.1.1.1"},
		{"RFC 7239 Forwarded", "10.1.1.1", proxies,
			map[string][]string{"Forwarded": {`for=1.2.3.4;proto=https, For="[2001:db8:cafe::17]:4711";by=10.1.1.1`}}, "2001:db8:cafe::17"},
		{"Forwarded through trusted proxies", "10.1.1.1", proxies,
			map[string][]string{"Forwarded": {`for=198.51.100.1`, `for=10.2.2.2;host="a,b"`}}, "198.51.100.1"},
		{"Forwarded for=unknown", "10.1.1.1", proxies,
			map[string][]string{"Forwarded": {`for=198.51.100.1, for=unknown`}}, "10.1.1.1"},
		{"Forwarded element without for", "10.1.1.1", proxies,
			map[string][]string{"Forwarded": {`for=198.51.100.1, proto=https`}}, "10.1.1.1"},
		{"X-Forwarded-For wins over Forwarded, which a proxy appending to X-Forwarded-For passes on untouched", "10.1.1.1", proxies,
			map[string][]string{"X-Forwarded-For": {"198.51.100.1"}, "Forwarded": {"for=1.2.3.4"}}, "198.51.100.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for k, vs := range tt.headers {
				for _, v := range vs {
					h.Add(k, v)
				}
			}
			require.Equal(t, tt.want, clientAddress(netip.MustParseAddr(tt.peer), h, tt.trusted).String())
		})
	}
}
