package main

import (
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
		{"business hours", func(c *config.Config) { c.SLA.BusinessHours = &config.Hours{Timezone: "Mars/Olympus", Weekly: []string{"mon-fri 09:00-18:00"}} },
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
