package router_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router"
)

// A call-back request raises its conversation to high, or urgent for a VIP at or above the
// configured tier, and tags it; a later ordinary message does not lower it again.
func TestCallbackRequestPriority(t *testing.T) {
	request := func(addr string, i, tier int) normalize.Message {
		m := inbound(addr, i)
		m.Author.VIPTier = tier
		m.Callback = &normalize.Callback{Phone: "+491701234567"}
		return m
	}
	tests := []struct {
		name     string
		urgentAt int
		msgs     []normalize.Message
		priority normalize.Priority
		tags     []string
	}{
		{"an ordinary message", 3, []normalize.Message{inbound("a", 1)}, normalize.PriorityNormal, nil},
		{"a player without a tier", 3, []normalize.Message{request("a", 1, 0)}, normalize.PriorityHigh, []string{"callback"}},
		{"a VIP below the tier", 3, []normalize.Message{request("a", 1, 2)}, normalize.PriorityHigh, []string{"vip", "callback"}},
		{"a VIP at the tier", 3, []normalize.Message{request("a", 1, 3)}, normalize.PriorityUrgent, []string{"vip", "callback"}},
		{"a VIP above the tier", 3, []normalize.Message{request("a", 1, 5)}, normalize.PriorityUrgent, []string{"vip", "callback"}},
		{"no tier is urgent", 0, []normalize.Message{request("a", 1, 9)}, normalize.PriorityHigh, []string{"vip", "callback"}},
		{"raised in an open conversation", 1, []normalize.Message{inbound("a", 1), request("a", 2, 1)}, normalize.PriorityUrgent, []string{"vip", "callback"}},
		{"kept after a later message", 1, []normalize.Message{request("a", 1, 1), inbound("a", 2)}, normalize.PriorityUrgent, []string{"vip", "callback"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixtureRules(t, router.Options{}, router.Rules{Default: "desk", UrgentCallbackVIP: tt.urgentAt}, false)
			for _, m := range tt.msgs {
				require.NoError(t, f.r.Deliver(f.ctx, m))
			}
			conv, err := f.st.ConversationAt(f.ctx, "chat", "a")
			require.NoError(t, err)
			require.Equal(t, tt.priority, conv.Priority)
			require.ElementsMatch(t, tt.tags, conv.Tags)
		})
	}
}
