package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestValidateSLAStages(t *testing.T) {
	tests := []struct {
		name   string
		modify func(c *Config)
		want   []string
	}{
		{"negative next-response target", func(c *Config) { c.SLA.NextResponse.Chat = -time.Minute }, []string{
			"sla.next_response.chat: must not be negative (0 sets no target), got -1m0s"}},
		{"tiers", func(c *Config) {
			c.SLA.Tiers = []SLATier{{MinVIP: 0}, {MinVIP: 2, NextResponse: TierTargets{Voice: -time.Second}}, {MinVIP: 2}}
		}, []string{
			"sla.tiers[0].min_vip: want a VIP tier of 1 or more, got 0",
			"sla.tiers[1].next_response.voice: must not be negative (0 sets no target), got -1s",
			"sla.tiers[2].min_vip: tier 2 is listed twice",
		}},
		{"near breach share", func(c *Config) { c.SLA.NearBreach = "120%" }, []string{
			`sla.near_breach: want a share of the target between 0% and 100% such as "80%", got "120%"`}},
		{"near breach words", func(c *Config) { c.SLA.NearBreach = "soon" }, []string{
			`sla.near_breach: want a share of the target such as "80%" or a duration before it runs out such as "10m", got "soon"`}},
		{"stage priorities", func(c *Config) {
			c.SLA.NearBreachPriority, c.SLA.BreachPriority, c.SLA.Complex.Priority = "hi", "top", "now"
		}, []string{
			`sla.near_breach_priority: want low, normal, high or urgent, got "hi"`,
			`sla.breach_priority: want low, normal, high or urgent, got "top"`,
			`sla.complex.priority: want low, normal, high or urgent, got "now"`,
		}},
		{"complex", func(c *Config) { c.SLA.Complex.After = -time.Hour }, []string{
			"sla.complex.after: must not be negative (0 escalates no complex case), got -1h0m0s"}},
		{"complex group", func(c *Config) { c.SLA.Complex.Group = " " }, []string{
			"sla.complex.group: required: the senior group complex cases go to"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig(t)
			tt.modify(c)
			requireProblems(t, c.Validate(), tt.want...)
		})
	}
	c := validConfig(t)
	c.SLA.Complex.After, c.SLA.Complex.Group = 0, ""
	require.NoError(t, c.Validate(), "no escalation, no group needed")
}

func TestParseNearBreach(t *testing.T) {
	tests := []struct {
		in       string
		fraction float64
		before   time.Duration
		bad      bool
	}{
		{"", 0, 0, false},
		{"0", 0, 0, false},
		{"80%", 0.8, 0, false},
		{" 50 % ", 0.5, 0, false},
		{"10m", 0, 10 * time.Minute, false},
		{"0%", 0, 0, true},
		{"100%", 0, 0, true},
		{"-5m", 0, 0, true},
		{"eighty", 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			f, b, err := ParseNearBreach(tt.in)
			if tt.bad {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.InDelta(t, tt.fraction, f, 1e-9)
			require.Equal(t, tt.before, b)
		})
	}
}
