package webhook_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors/helpdesk/webhook"
	"github.com/casino-support/gateway/normalize"
)

// TestEventsCarryThePlayersLinkedConversations (issue 17): a player identified on two
// channels has each event name what proved their ID and list the other conversation; the
// receiver checks every event against docs/webhook-openapi.yaml, so the contract says so too.
// A player without another conversation has no list at all.
func TestEventsCarryThePlayersLinkedConversations(t *testing.T) {
	linkedAt := time.Date(2026, 12, 6, 22, 0, 0, 0, time.FixedZone("EET", 2*3600))
	for _, tc := range []struct {
		name   string
		linked []normalize.LinkedConversation
		want   []webhook.LinkedConversation
	}{
		{name: "none"},
		{name: "web chat and telegram",
			linked: []normalize.LinkedConversation{{ID: "c-web", Channel: "chat", ChannelKind: normalize.KindWebchat, Helpdesk: "support",
				Ticket: "T-9", Status: normalize.StatusOpen, LinkedBy: normalize.LinkedByWebchatToken, LinkedAt: linkedAt}},
			want: []webhook.LinkedConversation{{ID: "c-web", Channel: "chat", ChannelKind: "webchat", Helpdesk: "support",
				Ticket: "T-9", Status: "open", LinkedBy: "webchat_token", LinkedAt: linkedAt.UTC()}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			conv, msgs := conversation(2)
			conv.Player.PlayerIDBy = normalize.LinkedByTelegramLink
			conv.Linked = tc.linked
			_, _, err := e.hd.Post(t.Context(), conv, deliveries(msgs, 1))
			require.NoError(t, err)
			events := e.recv.Events()
			require.NotEmpty(t, events)
			for _, ev := range events {
				c := ev.Event.Conversation
				require.Equal(t, "P-4711", c.Player.PlayerID, ev.Event.Event)
				require.Equal(t, "telegram_link", c.Player.LinkedBy, ev.Event.Event)
				require.Equal(t, tc.want, c.LinkedConversations, ev.Event.Event)
			}
		})
	}
}
