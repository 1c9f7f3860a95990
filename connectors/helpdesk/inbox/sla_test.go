package inbox

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
)

func TestComputeSLA(t *testing.T) {
	sla := 5 * time.Minute
	since := t0
	tests := []struct {
		name   string
		since  time.Time
		waited time.Duration
		want   slaState
	}{
		{"nothing waits", time.Time{}, time.Hour, slaAnswered},
		{"just arrived", since, 0, slaOK},
		{"clock skew", since, -time.Minute, slaOK},
		{"before the last fifth", since, 4*time.Minute - time.Millisecond, slaOK},
		{"last fifth begins", since, 4 * time.Minute, slaDueSoon},
		{"last moment", since, sla - time.Millisecond, slaDueSoon},
		{"deadline", since, sla, slaBreached},
		{"long gone", since, 48 * time.Hour, slaBreached},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, computeSLA(t0.Add(tt.waited), tt.since, sla))
		})
	}
}

func TestComputeSLAWithoutTarget(t *testing.T) {
	require.Equal(t, slaOK, computeSLA(t0.Add(48*time.Hour), t0, 0), "no target: waiting, never late")
	require.Equal(t, slaAnswered, computeSLA(t0, time.Time{}, 0))
}

// The target comes from the gateway's policy by channel type and VIP tier; an event such as
// a metadata update shows as a system line and does not start the clock.
func TestSLAFollowsThePolicyAndIgnoresEvents(t *testing.T) {
	var asked []string
	f := newFixture(t, func(c *Config, d *Deps) {
		c.SessionTTL = 24 * time.Hour
		d.FirstResponse = func(kind normalize.ChannelKind, vip int) time.Duration {
			asked = append(asked, fmt.Sprintf("%s/%d", kind, vip))
			return time.Hour
		}
	})
	update := normalize.Message{ID: "u1", Direction: normalize.Inbound, Source: "tg-main", ExternalID: "update-tg-x",
		Channel: "tg-main", ChannelKind: normalize.KindTelegram, Address: "4711", Author: normalize.Author{Role: normalize.RoleSystem},
		Kind: normalize.KindSystem, Text: "Conversation updated: VIP tier 3.", SentAt: t0, ReceivedAt: t0,
		Update: &normalize.Update{Changed: []normalize.Field{normalize.FieldVIPTier}, VIPTier: 3}}
	c := f.conv("c1", lena, update)
	f.post(c, update)
	b := f.signedIn()
	f.clock.Add(2 * time.Hour)
	list := b.get("/inbox/")
	require.Equal(t, http.StatusOK, list.status)
	require.NotContains(t, list.body, `data-id="c1"`, "an event alone is no message to show an agent")
	tk, _, err := getTicket(t.Context(), f.in.db, "c1")
	require.NoError(t, err)
	require.True(t, tk.FirstUnansweredAt.IsZero(), "an event is nothing to answer")

	page := b.get("/inbox/conversations/c1")
	require.Equal(t, 1, strings.Count(page.body, `class="msg system"`))
	require.Contains(t, page.body, "Conversation updated: VIP tier 3.")

	msg := playerMsg("m1", "hello?", t0.Add(2*time.Hour))
	f.convs.add(c, msg)
	f.post(c, msg)
	f.clock.Add(30 * time.Minute)
	require.Contains(t, b.get("/inbox/").body, "sla-ok", "half of the policy's hour")
	f.clock.Add(31 * time.Minute)
	require.Contains(t, b.get("/inbox/").body, "sla-breached")
	require.Contains(t, asked, "telegram/3")
}

func TestSLAClass(t *testing.T) {
	require.Equal(t, "sla-due-soon", slaDueSoon.class())
	require.Equal(t, "sla-breached", slaBreached.class())
	require.Equal(t, "sla-ok", slaOK.class())
	require.Equal(t, "sla-answered", slaAnswered.class())
}

func TestHumanDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{-time.Second, "0s"},
		{0, "0s"},
		{45 * time.Second, "45s"},
		{time.Minute, "1m"},
		{59*time.Minute + 59*time.Second, "59m"},
		{time.Hour, "1h"},
		{3*time.Hour + 5*time.Minute, "3h 5m"},
		{24 * time.Hour, "1d"},
		{52 * time.Hour, "2d 4h"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, humanDuration(tt.d), tt.d.String())
	}
}
