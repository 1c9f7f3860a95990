package webchat

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
)

// The player sees who answers by the reply's DisplayName, which helpdesks set only to a name
// meant for players; without one the reply comes from the chat's title, never from the
// agent's sign-in name, which a reply keeps in Author.ExternalID.
func TestReplyAuthorIsTheDisplayNameOrTheChatTitle(t *testing.T) {
	tests := []struct {
		name   string
		title  string
		author normalize.Author
		want   string
	}{
		{"display name", "Support", normalize.Author{Role: normalize.RoleAgent, DisplayName: "Anna", ExternalID: "anna"}, "Anna"},
		{"none: the title", "Support", normalize.Author{Role: normalize.RoleAgent, ExternalID: "admin"}, "Support"},
		{"none: a configured title", "Lucky Casino Help", normalize.Author{Role: normalize.RoleAgent, ExternalID: "admin"}, "Lucky Casino Help"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := start(t, func(cfg *Config, _ *Deps) { cfg.Title = tt.title }, true)
			addr := normalize.Address("visitor:v1")
			token := visitorToken("v1", time.Now().Add(time.Hour))
			c := h.connect(t)
			c.hello(clientFrame{Token: token})
			// Stored as the router stores it, then pushed live as Send pushes it.
			h.sendReply(t, normalize.Message{Source: "inbox", Address: addr, Author: tt.author, Text: "We are on it."})
			f := c.next()
			require.Equal(t, typeMessage, f.Type)
			require.Equal(t, tt.want, f.Author)

			again := h.connect(t).hello(clientFrame{Token: token})
			require.Len(t, again.History, 1)
			require.Equal(t, tt.want, again.History[0].Author)
		})
	}
}

// Status changes, metadata updates (language, VIP tier, priority) and missed SLA targets are
// kept in the thread as system messages for agents; the player's history must not show them.
func TestHistoryHidesSystemMessages(t *testing.T) {
	h := start(t, nil, true)
	addr := normalize.Address("visitor:v1")
	token := visitorToken("v1", time.Now().Add(time.Hour))
	c := h.connect(t)
	c.hello(clientFrame{Token: token})
	c.send(msg("c-1", "hi"))
	require.Equal(t, typeAck, c.next().Type)

	h.store.mu.Lock()
	h.store.add(normalize.Message{ID: normalize.NewMessageID(), Direction: normalize.Inbound, Address: addr,
		Author: normalize.Author{Role: normalize.RoleSystem}, Kind: normalize.KindSystem,
		Text: "Conversation updated: VIP tier 3; first-response target missed."})
	h.store.mu.Unlock()
	closed := h.store.reply(addr, normalize.KindSystem, "Closed by admin.")

	w := h.connect(t).hello(clientFrame{Token: token})
	require.Len(t, w.History, 1, "only the player's message: %+v", w.History)
	require.Equal(t, "hi", w.History[0].Text)

	// Nor can the page act on them.
	c.send(clientFrame{Type: typeReceipt, ID: string(closed.ID), State: "read"})
	require.Equal(t, codeNotFound, c.next().Code)
	_, err := h.ch.Send(context.Background(), normalize.Conversation{Address: addr}, closed)
	require.NoError(t, err)
	c.none(100 * time.Millisecond)
}

// The FAQ bot's answers carry quick replies. The page shows them as buttons, so they reach it
// as a list of their own, live and in the history; never on the player's messages, and the
// channel tells the router it shows them (else it would list them in the text instead).
func TestRepliesCarryQuickReplies(t *testing.T) {
	tests := []struct {
		name    string
		options []string
		want    []string
	}{
		{"options", []string{"That helped", "Talk to an agent"}, []string{"That helped", "Talk to an agent"}},
		{"none", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := start(t, nil, true)
			require.True(t, h.ch.ShowsQuickReplies())
			addr := normalize.Address("visitor:v1")
			token := visitorToken("v1", time.Now().Add(time.Hour))
			c := h.connect(t)
			c.hello(clientFrame{Token: token})
			c.send(msg("c-1", "how do I withdraw?"))
			require.Equal(t, typeAck, c.next().Type)
			h.sendReply(t, botAnswer(addr, tt.options...))
			f := c.next()
			require.Equal(t, typeMessage, f.Type)
			require.Equal(t, tt.want, f.QuickReplies)
			require.Equal(t, "Withdrawals take up to 24 hours.", f.Text, "the options are not in the text")

			again := h.connect(t).hello(clientFrame{Token: token})
			require.Len(t, again.History, 2)
			require.Nil(t, again.History[0].QuickReplies, "the player's message")
			require.Equal(t, tt.want, again.History[1].QuickReplies)
		})
	}
}
