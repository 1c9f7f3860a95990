package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/config"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router"
)

// The SLA's configuration becomes the router's policy: targets per channel type by class, the
// tiers, the stages' marks; a calendar that does not parse is an error naming its key.
func TestSLAPolicy(t *testing.T) {
	cfg := defaultConfig(t)
	cfg.SLA.NextResponse = config.FirstResponse{Chat: 10 * time.Minute, Email: 4 * time.Hour, VIP: 5 * time.Minute}
	cfg.SLA.Tiers = []config.SLATier{{MinVIP: 3, FirstResponse: config.TierTargets{Chat: time.Minute}, NextResponse: config.TierTargets{Chat: 2 * time.Minute}}}
	cfg.SLA.NearBreach, cfg.SLA.BreachPriority = "80%", "urgent"
	sla := slaPolicy(cfg, connectorTypes())
	require.Equal(t, 5*time.Minute, sla.FirstResponse["telegram"])
	require.Equal(t, 10*time.Minute, sla.NextResponse["webchat"])
	require.Equal(t, 4*time.Hour, sla.NextResponse["email"])
	require.Equal(t, "voice", sla.Classes["voice"])
	require.Equal(t, time.Minute, sla.Tiers[0].FirstResponse["whatsapp"])
	require.Equal(t, router.NearBreach{Fraction: 0.8}, sla.NearBreach)
	require.Equal(t, normalize.PriorityUrgent, sla.BreachMark.Priority)
	require.Equal(t, []string{tagBreached}, sla.BreachMark.Tags)
	require.Equal(t, time.Hour, sla.Complex.After)
	require.Equal(t, "senior", sla.Complex.Mark.Group)

	tests := []struct {
		name   string
		modify func(c *config.Config)
		want   string
	}{
		{"business hours", func(c *config.Config) {
			c.SLA.BusinessHours = &config.Hours{Timezone: "Mars/Olympus", Weekly: []string{"mon-fri 09:00-18:00"}}
		},
			`sla.business_hours: timezone: want an IANA time zone such as "Europe/Bucharest", got "Mars/Olympus"`},
		{"a route's hours", func(c *config.Config) {
			c.Routes = []config.Route{{Helpdesk: "desk", SLAHours: &config.Hours{Timezone: "UTC", Weekly: []string{"mon-fri 9-18"}}}}
		}, `routes[0]: sla_hours: weekly[0]: want days and hours such as "mon-fri 09:00-18:00", got "mon-fri 9-18": hours are HH:MM-HH:MM, the start before the end`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := defaultConfig(t)
			tt.modify(c)
			_, err := routingRules(c, router.SLA{})
			require.EqualError(t, err, tt.want)
		})
	}
}

const slaRouteConfig = `listen: 127.0.0.1:0
data_dir: %DIR%
channels:
  - name: chat
    type: webchat
helpdesks:
  - name: inbox
    type: inbox
sla:
  first_response: {chat: 5m, email: 2h}
  business_hours: {timezone: Europe/Bucharest, weekly: ["mon-fri 09:00-18:00"], holidays: ["2026-12-25"]}
  near_breach: 80%
routes:
  - name: chargebacks
    match: {keywords: [chargeback]}
    helpdesk: inbox
    group: payments
    complex: true
  - name: london
    match: {countries: [GB]}
    helpdesk: inbox
    sla_hours: {timezone: Europe/London, weekly: ["mon-sun 08:00-22:00"]}
default_helpdesk: inbox
`

// gateway route --explain shows the SLA arithmetic of a sample: the due time and the
// near-breach point in the business hours that apply, and a complex flag.
func TestRouteExplainSLA(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "gateway.yaml")
	require.NoError(t, os.WriteFile(path, []byte(strings.ReplaceAll(slaRouteConfig, "%DIR%", dir)), 0o600))
	tests := []struct {
		name string
		args []string
		want string
	}{
		// Friday 17:00 EET before the spring change: one hour on Friday, one on Monday (EEST).
		{"an e-mail over the DST weekend", []string{"--kind", "email", "--text", "hi", "--at", "2026-03-27T15:00:00Z"},
			"first response due: Mon 2026-03-30 10:00 EEST (business hours in Europe/Bucharest)\nnear breach: Mon 2026-03-30 09:36 EEST\n"},
		{"a complex case", []string{"--kind", "webchat", "--text", "a chargeback", "--at", "2026-12-24T10:00:00Z"},
			"first response due: Thu 2026-12-24 12:05 EET (business hours in Europe/Bucharest)\nnear breach: Thu 2026-12-24 12:04 EET\n" +
				"complex: to group senior after 1h0m0s unless closed\n"},
		{"a route's own hours", []string{"--kind", "webchat", "--text", "hi", "--country", "GB", "--at", "2026-12-26T21:58:00Z"},
			"first response due: Sun 2026-12-27 08:03 GMT (business hours in Europe/London)\nnear breach: Sun 2026-12-27 08:02 GMT\n"},
		{"a sample without a channel type has no target", []string{"--text", "hi"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append([]string{"route", "--explain", "--config", path}, tt.args...)
			require.Equal(t, 0, run(t.Context(), args, strings.NewReader(""), &stdout, &stderr), stderr.String())
			_, sla, _ := strings.Cut(stdout.String(), "tags: ")
			_, sla, _ = strings.Cut(sla, "\n")
			require.Equal(t, tt.want, sla)
		})
	}
}
