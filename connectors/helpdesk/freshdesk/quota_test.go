package freshdesk

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

// TestQuotaCost pins what docs/freshdesk.md says the rate limit pays: a new conversation of
// a new player four requests (contact look-up and creation, the ticket look-up, the ticket),
// of a known player in the same process two, each later message one (files included), an
// agent's reply two plus one the first time the agent is seen.
func TestQuotaCost(t *testing.T) {
	e := newEnv(t, nil)
	sink := running(t, e.hd)
	total := func() int {
		n := 0
		for _, r := range []string{"GET /api/v2/contacts", "POST /api/v2/contacts", "GET /api/v2/tickets", "POST /api/v2/tickets",
			"POST /api/v2/tickets/{id}/notes", "GET /api/v2/tickets/{id}", "GET /api/v2/tickets/{id}/conversations", "GET /api/v2/agents/{id}",
			"PUT /api/v2/tickets/{id}"} {
			n += e.fd.Calls(r)
		}
		return n
	}
	step := func(what string, want int, do func()) {
		before := total()
		do()
		require.Equal(t, want, total()-before, what)
	}
	conv := newConv(normalize.KindTelegram, "1")
	step("a new player's first message", 4, func() {
		ref, _, err := e.hd.Post(t.Context(), conv, []connectors.Delivery{delivery(conv, "hello")})
		require.NoError(t, err)
		conv.Ticket = ref
	})
	step("a later message", 1, func() {
		_, _, err := e.hd.Post(t.Context(), conv, []connectors.Delivery{delivery(conv, "more")})
		require.NoError(t, err)
	})
	other := conv
	other.ID, other.Ticket = normalize.NewConversationID(), ""
	step("a known player's new conversation", 2, func() {
		_, _, err := e.hd.Post(t.Context(), other, []connectors.Delivery{delivery(other, "again")})
		require.NoError(t, err)
	})
	step("an agent's first reply", 3, func() {
		_, err := e.fd.AgentReply(ticketID(t, conv.Ticket), e.agent, "hi")
		require.NoError(t, err)
		require.NoError(t, e.fd.Notify(ticketID(t, conv.Ticket)))
	})
	step("the agent's next reply", 2, func() {
		_, err := e.fd.AgentReply(ticketID(t, conv.Ticket), e.agent, "hi again")
		require.NoError(t, err)
		require.NoError(t, e.fd.Notify(ticketID(t, conv.Ticket)))
	})
	require.Len(t, sink.Where(func(m normalize.Message) bool { return m.Author.Role == normalize.RoleAgent }), 2)
}
