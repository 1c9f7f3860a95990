package rt

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
)

func TestPlayerNote(t *testing.T) {
	linked := []normalize.LinkedConversation{
		{ID: "c1", Channel: "chat", ChannelKind: normalize.KindWebchat, Helpdesk: "rt", Ticket: "4711", Status: normalize.StatusOpen},
		{ID: "c2", Channel: "mail", ChannelKind: normalize.KindEmail, Helpdesk: "zendesk", Ticket: "Z-9", Status: normalize.StatusClosed},
		{ID: "c3", Channel: "wa", ChannelKind: normalize.KindWhatsApp, Helpdesk: "rt", Status: normalize.StatusOpen},
	}
	for _, tc := range []struct {
		name string
		conv normalize.Conversation
		want string
	}{
		{"anonymous", normalize.Conversation{}, ""},
		{"identified alone", normalize.Conversation{Player: normalize.Author{PlayerID: "P-1", PlayerIDBy: normalize.LinkedByTelegramLink}},
			"Player P-1 (identified by telegram link)."},
		{"with other conversations", normalize.Conversation{Player: normalize.Author{PlayerID: "P-1", PlayerIDBy: normalize.LinkedByDirectory}, Linked: linked},
			"Player P-1 (identified by directory). Other conversations of this player:\n" +
				"- webchat on chat: ticket #4711 (open)\n- email on mail: zendesk ticket Z-9 (closed)\n- whatsapp on wa: no ticket yet (open)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, playerNote(tc.conv, "rt"))
		})
	}
}
