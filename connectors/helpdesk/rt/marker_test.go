package rt

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors/callback"
	"github.com/casino-support/gateway/normalize"
)

func TestMarkerRoundTrip(t *testing.T) {
	id := normalize.NewMessageID()
	require.Equal(t, []normalize.MessageID{id}, markers(withMarker("hello\n", id)))
	require.Equal(t, "[gateway-message-id: m1]", withMarker("", "m1"))
	require.Equal(t, "hi\n\n[gateway-message-id: m1]", withMarker("hi", "m1"))
}

func TestMarkersParsing(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       []normalize.MessageID
	}{
		{"none", "just text", nil},
		{"quoted twice", "> [gateway-message-id: ma]\n[gateway-message-id: mb]", []normalize.MessageID{"ma", "mb"}},
		{"inside a line", "see [gateway-message-id: m0a-1.b_c] above", []normalize.MessageID{"m0a-1.b_c"}},
		{"no space", "[gateway-message-id:m1]", nil},
		{"empty id", "[gateway-message-id: ]", nil},
		{"foreign characters", "[gateway-message-id: m1 x]", nil},
		{"other tag", "[gateway-conversation-id: c1]", nil},
	} {
		t.Run(tc.name, func(t *testing.T) { require.Equal(t, tc.want, markers(tc.text)) })
	}
}

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

	require.Equal(t, "Message from web", subject(conv, normalize.Message{Text: "  \n"}))
	require.Equal(t, "first line", subject(conv, normalize.Message{Text: " first line \nsecond"}))
	require.Equal(t, "Withdrawal delayed", subject(conv, normalize.Message{Subject: " Withdrawal delayed ", Text: "Hello,\nmy withdrawal"}),
		"an e-mail's subject titles the ticket")
	long := subject(conv, normalize.Message{Text: string(make([]rune, 100))})
	require.Len(t, []rune(long), subjectRunes)
}

func TestASCIIName(t *testing.T) {
	require.Equal(t, "Kontoauszug-M_rz.pdf", asciiName("Kontoauszug-März.pdf"))
	require.Equal(t, "a_b_c.png", asciiName(`a/b\c.png`))
	require.Equal(t, "attachment", asciiName("  "))
}

// TestPostedByGateway: only a text ending with a marker line of its own is the gateway's;
// an agent quoting the player's message (RT's Reply link) quotes the marker too.
func TestPostedByGateway(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       bool
	}{
		{"the gateway's post", withMarker("where is my withdrawal?", "m1"), true},
		{"marker only", withMarker("", "m1"), true},
		{"trailing blank lines and spaces", "hi\n\n  [gateway-message-id: m1]  \n\n \n", true},
		{"CRLF line ends", "hi\r\n\r\n[gateway-message-id: m1]\r\n", true},
		{"no marker", "We credited your account.", false},
		{"empty", "", false},
		{"reply above the quote", "We credited it.\n\nOn Mon, player wrote:\n> where is my withdrawal?\n>\n> [gateway-message-id: m1]\n", false},
		{"quote indented", "Done.\n  > [gateway-message-id: m1]", false},
		{"nested quote", "Done.\n>> [gateway-message-id: m1]", false},
		{"quote above the reply", "player wrote:\n> hi\n> [gateway-message-id: m1]\n\nWe credited it.", false},
		{"marker inside a sentence", "Done.\nsee [gateway-message-id: m1] above", false},
		{"marker mid-text", "hi\n[gateway-message-id: m1]\nthanks", false},
	} {
		t.Run(tc.name, func(t *testing.T) { require.Equal(t, tc.want, postedByGateway(tc.text)) })
	}
}

// RT shows a call-back request by its words: the ticket's subject and the correspondence
// start with the flag, and the number and the preferred time are lines an agent reads.
func TestCallbackRequestInSubjectAndContent(t *testing.T) {
	m := normalize.Message{ID: normalize.NewMessageID()}
	callback.Mark(&m, normalize.Callback{Phone: "+491701234567", PreferredTime: "nach 18 Uhr"}, "Telegram")
	conv := normalize.Conversation{Channel: "tg"}
	require.True(t, strings.HasPrefix(subject(conv, m), callback.Prefix+" Please call +491701234567"), subject(conv, m))
	fields, err := (&Helpdesk{}).content(t.Context(), m)
	require.NoError(t, err)
	content := fields["Content"].(string)
	require.Contains(t, content, "Please call +491701234567 back (they asked for it in Telegram). Preferred time: nach 18 Uhr")
	require.Equal(t, []normalize.MessageID{m.ID}, markers(content))
}
