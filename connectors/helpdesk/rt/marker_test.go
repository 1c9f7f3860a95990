package rt

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors/callback"
	"github.com/casino-support/gateway/connectors/helpdesk/hdkit"
	"github.com/casino-support/gateway/normalize"
)

func TestConversationStatus(t *testing.T) {
	for rtStatus, want := range map[string]normalize.Status{
		"new": normalize.StatusOpen, "open": normalize.StatusOpen, "stalled": normalize.StatusPending,
		"resolved": normalize.StatusClosed, "rejected": normalize.StatusClosed, "deleted": normalize.StatusClosed,
	} {
		got, ok := conversationStatus(rtStatus)
		require.True(t, ok, rtStatus)
		require.Equal(t, want, got, rtStatus)
	}
	_, ok := conversationStatus("waiting-for-kyc")
	require.False(t, ok, "custom lifecycle statuses are not mapped")
}

func TestRequestor(t *testing.T) {
	h := &Helpdesk{cfg: Config{RequestorDomain: "players.invalid"}}
	conv := normalize.Conversation{Channel: "tg-main", ChannelKind: normalize.KindTelegram, Address: "-100123"}
	require.Equal(t, "tg-main.-100123@players.invalid", h.requestor(conv))
	conv.Address = "Some User/with spaces"
	got := h.requestor(conv)
	require.Regexp(t, `^tg-main\.h[0-9a-f]{20}@players\.invalid$`, got)
	conv.Address = "some user/with spaces"
	require.NotEqual(t, got, h.requestor(conv), "addresses differing in case stay apart")
	mail := normalize.Conversation{Channel: "mail", ChannelKind: normalize.KindEmail, Address: "Player <Player@Example.com>"}
	require.Equal(t, "player@example.com", h.requestor(mail))
	// The e-mail channel's addresses are thread tokens; the player's address comes with them.
	thread := normalize.Conversation{Channel: "mail", ChannelKind: normalize.KindEmail, Address: "K7QX2M9PZD",
		Player: normalize.Author{Role: normalize.RolePlayer, Email: "Ann.Smith@Example.com"}}
	require.Equal(t, "ann.smith@example.com", h.requestor(thread))
	thread.Player.Email = ""
	require.Regexp(t, `^mail\.h[0-9a-f]{20}@players\.invalid$`, h.requestor(thread), "no address known: a synthetic one")
}

func TestPriorityAndSubject(t *testing.T) {
	conv := normalize.Conversation{Channel: "web", Priority: normalize.PriorityHigh, Player: normalize.Author{VIPTier: 3}}
	require.Equal(t, 85, priority(conv, normalize.Message{}))
	conv.Priority, conv.Player.VIPTier = normalize.PriorityUrgent, 9
	require.Equal(t, 99, priority(conv, normalize.Message{}))
	conv.Priority, conv.Player.VIPTier = "", 0
	require.Equal(t, 50, priority(conv, normalize.Message{}))

	require.Equal(t, "Message from web", hdkit.Subject(conv, normalize.Message{Text: "  \n"}, subjectRunes))
	require.Equal(t, "first line", hdkit.Subject(conv, normalize.Message{Text: " first line \nsecond"}, subjectRunes))
	require.Equal(t, "Withdrawal delayed", hdkit.Subject(conv, normalize.Message{Subject: " Withdrawal delayed ", Text: "Hello,\nmy withdrawal"}, subjectRunes),
		"an e-mail's subject titles the ticket")
	long := hdkit.Subject(conv, normalize.Message{Text: string(make([]rune, 100))}, subjectRunes)
	require.Len(t, []rune(long), subjectRunes)
}

func TestASCIIName(t *testing.T) {
	require.Equal(t, "Kontoauszug-M_rz.pdf", asciiName("Kontoauszug-März.pdf"))
	require.Equal(t, "a_b_c.png", asciiName(`a/b\c.png`))
	require.Equal(t, "attachment", asciiName("  "))
}

// RT shows a call-back request by its words: the ticket's subject and the correspondence
// start with the flag, and the number and the preferred time are lines an agent reads.
func TestCallbackRequestInSubjectAndContent(t *testing.T) {
	m := normalize.Message{ID: normalize.NewMessageID()}
	callback.Mark(&m, normalize.Callback{Phone: "+491701234567", PreferredTime: "nach 18 Uhr"}, "Telegram")
	conv := normalize.Conversation{Channel: "tg"}
	require.True(t, strings.HasPrefix(hdkit.Subject(conv, m, subjectRunes), callback.Prefix+" Please call +491701234567"), hdkit.Subject(conv, m, subjectRunes))
	fields, err := (&Helpdesk{}).content(t.Context(), m)
	require.NoError(t, err)
	content := fields["Content"].(string)
	require.Contains(t, content, "Please call +491701234567 back (they asked for it in Telegram). Preferred time: nach 18 Uhr")
	require.Equal(t, []normalize.MessageID{m.ID}, hdkit.Markers(content))
}
