package config

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTrustedProxies(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // problems; none means valid
		pfx  []string // the parsed prefixes when valid
	}{
		{"absent: no proxy is trusted", ``, nil, []string{}},
		{"CIDRs and single addresses", `trusted_proxies: [10.0.0.0/8, 127.0.0.1, "::1", "fd00:1::/64"]`, nil,
			[]string{"10.0.0.0/8", "127.0.0.1/32", "::1/128", "fd00:1::/64"}},
		{"not an address", `trusted_proxies: [proxy.internal]`,
			[]string{`trusted_proxies[0]: want a CIDR such as 10.0.0.0/8 or one address such as 127.0.0.1, got "proxy.internal"`}, nil},
		{"empty entry", `trusted_proxies: [""]`, []string{"trusted_proxies[0]: empty; want a CIDR"}, nil},
		{"trusting everyone", `trusted_proxies: [10.0.0.0/8, 0.0.0.0/0, "::/0"]`, []string{
			`trusted_proxies[1]: "0.0.0.0/0" trusts every address`,
			`trusted_proxies[2]: "::/0" trusts every address`,
		}, nil},
		{"host bits set", `trusted_proxies: [10.1.2.3/8]`, []string{`trusted_proxies[0]: "10.1.2.3/8" has host bits set; did you mean 10.0.0.0/8?`}, nil},
		{"IPv4-mapped", `trusted_proxies: ["::ffff:10.0.0.0/104"]`,
			[]string{`trusted_proxies[0]: "::ffff:10.0.0.0/104" is an IPv4-mapped IPv6 address; write it as IPv4 (10.0.0.0/8)`}, nil},
		{"zone", `trusted_proxies: ["fe80::1%eth0"]`, []string{`trusted_proxies[0]: want a CIDR`}, nil},
		{"duplicate", `trusted_proxies: [127.0.0.1, 127.0.0.1/32]`, []string{"trusted_proxies[1]: duplicate of trusted_proxies[0]"}, nil},
		{"not a list", `trusted_proxies: 10.0.0.0/8`, []string{"trusted_proxies: "}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parse([]byte(tt.yaml), "", nil)
			if tt.want != nil {
				requireProblems(t, err, tt.want...)
				return
			}
			require.NoError(t, err)
			got := []string{}
			for _, p := range cfg.TrustedProxyPrefixes() {
				got = append(got, p.String())
			}
			require.Equal(t, tt.pfx, got)
		})
	}
}

// A Config built in code is validated alike.
func TestTrustedProxiesValidate(t *testing.T) {
	c := validConfig(t)
	c.TrustedProxies = []string{"192.168.0.0/16", "192.168.1.1/16"}
	requireProblems(t, c.Validate(), `trusted_proxies[1]: "192.168.1.1/16" has host bits set`)
	c.TrustedProxies = []string{"192.168.0.0/16"}
	require.NoError(t, c.Validate())
	require.Equal(t, []netip.Prefix{netip.MustParsePrefix("192.168.0.0/16")}, c.TrustedProxyPrefixes())
}
