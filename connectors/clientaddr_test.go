package connectors

import (
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestClientAddr(t *testing.T) {
	cases := []struct {
		name     string
		remote   string
		resolved string // set by the server when not empty
		addr     string
		key      string
	}{
		{"IPv4 peer", "192.0.2.7:51000", "", "192.0.2.7", "192.0.2.7"},
		{"IPv6 peer counts per /64", "[2001:db8:1:2:aaaa::1]:443", "", "2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"},
		{"IPv4-mapped IPv6 is IPv4", "[::ffff:192.0.2.9]:80", "", "192.0.2.9", "192.0.2.9"},
		{"resolved behind a proxy", "10.0.0.2:40000", "198.51.100.4", "198.51.100.4", "198.51.100.4"},
		{"no address", "pipe", "", "invalid IP", "pipe"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = c.remote
			if c.resolved != "" {
				r = WithClientAddr(r, netip.MustParseAddr(c.resolved))
			}
			require.Equal(t, c.addr, ClientAddr(r).String())
			require.Equal(t, c.key, ClientKey(r))
		})
	}
}
