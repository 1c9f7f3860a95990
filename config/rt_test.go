package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const rtYAML = `data_dir: /srv/gw
channels:
  - {name: site, type: webchat}
helpdesks:
  - name: desk
    type: rt
    url: https://rt.example/REST/2.0
    token: ${RT_TOKEN}
    gateway_user: gateway
default_helpdesk: desk
`

func TestRTDefaults(t *testing.T) {
	c, err := Parse([]byte(rtYAML), ".", env(map[string]string{"RT_TOKEN": "1-2-abc"}))
	require.NoError(t, err)
	require.Equal(t, &RT{URL: "https://rt.example/REST/2.0", Token: "1-2-abc", Queue: "Support", GatewayUser: "gateway",
		RequestorDomain: "players.invalid", PollInterval: 15 * time.Second, SettleDelay: 5 * time.Second}, c.Helpdesks[0].RT)
}

func TestRTValidate(t *testing.T) {
	valid := func() *Config {
		c, err := Parse([]byte(rtYAML), ".", env(map[string]string{"RT_TOKEN": "1-2-abc"}))
		require.NoError(t, err)
		return c
	}
	require.NoError(t, valid().Validate())
	for _, tc := range []struct {
		name   string
		change func(r *RT)
		want   []string
	}{
		{"missing required", func(r *RT) { r.URL, r.Token, r.GatewayUser = "", "", "" }, []string{
			"helpdesks[0].url: required", "helpdesks[0].token: required", "helpdesks[0].gateway_user: required"}},
		{"relative url", func(r *RT) { r.URL = "rt.example/REST/2.0" }, []string{"helpdesks[0].url: want an absolute http or https URL"}},
		{"empty queue", func(r *RT) { r.Queue = "" }, []string{"helpdesks[0].queue: required"}},
		{"bad domain", func(r *RT) { r.RequestorDomain = "Players Invalid" }, []string{"helpdesks[0].requestor_domain: want a lower-case domain"}},
		{"poll too fast", func(r *RT) { r.PollInterval = 500 * time.Millisecond }, []string{"helpdesks[0].poll_interval: must be at least 1s"}},
		{"negative settle", func(r *RT) { r.SettleDelay = -time.Second }, []string{"helpdesks[0].settle_delay: must not be negative"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.change(c.Helpdesks[0].RT)
			requireProblems(t, c.Validate(), tc.want...)
		})
	}
}
