package config

import (
	"fmt"
	"net/netip"
)

// TrustedProxyPrefixes returns trusted_proxies parsed, a bare address as its one-address
// prefix. Validate has refused what does not parse; such an entry is left out here.
func (c *Config) TrustedProxyPrefixes() []netip.Prefix {
	out := make([]netip.Prefix, 0, len(c.TrustedProxies))
	for _, s := range c.TrustedProxies {
		if p, err := parseProxy(s); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// checkTrustedProxies refuses what would make the gateway take a client's word for its own
// address: a prefix trusting everyone, an address the peer's can never equal, and typos that
// would trust another network than meant (host bits set).
func checkTrustedProxies(p *problems, list []string) {
	seen := map[netip.Prefix]string{}
	for i, s := range list {
		key := fmt.Sprintf("trusted_proxies[%d]", i)
		pfx, err := parseProxy(s)
		if err != nil {
			p.add(key, err.Error())
			continue
		}
		if first, dup := seen[pfx]; dup {
			p.add(key, fmt.Sprintf("duplicate of %s", first))
			continue
		}
		seen[pfx] = key
	}
}

// parseProxy parses one entry of trusted_proxies: a CIDR such as 10.0.0.0/8, or one address.
func parseProxy(s string) (netip.Prefix, error) {
	if s == "" {
		return netip.Prefix{}, fmt.Errorf("empty; want a CIDR such as 10.0.0.0/8 or one address such as 127.0.0.1")
	}
	pfx, err := netip.ParsePrefix(s)
	if err != nil {
		a, aerr := netip.ParseAddr(s)
		if aerr != nil || a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("want a CIDR such as 10.0.0.0/8 or one address such as 127.0.0.1, got %s", quote(s))
		}
		pfx = netip.PrefixFrom(a, a.BitLen())
	}
	switch {
	case pfx.Addr().Is4In6():
		// Peers are compared unmapped, so this would never match: say what to write instead.
		return netip.Prefix{}, fmt.Errorf("%s is an IPv4-mapped IPv6 address; write it as IPv4 (%s)", quote(s),
			netip.PrefixFrom(pfx.Addr().Unmap(), max(pfx.Bits()-96, 0)).Masked())
	case pfx.Bits() == 0:
		return netip.Prefix{}, fmt.Errorf("%s trusts every address: any client could name its own address in X-Forwarded-For; list your proxies", quote(s))
	case pfx != pfx.Masked():
		return netip.Prefix{}, fmt.Errorf("%s has host bits set; did you mean %s?", quote(s), pfx.Masked())
	}
	return pfx, nil
}
