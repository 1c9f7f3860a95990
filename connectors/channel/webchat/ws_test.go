package webchat

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

func TestHelloWelcomesWithHistoryWithoutNotes(t *testing.T) {
	h := start(t, nil, true)
	addr := normalize.Address("visitor:v1")
	require.NoError(t, h.store.Deliver(context.Background(), normalize.Message{ID: "m1", Direction: normalize.Inbound,
		Source: "web", ExternalID: "visitor:v1:c1", Channel: "web", Address: addr, Kind: normalize.KindText, Text: "my withdrawal"}))
	reply := h.store.reply(addr, normalize.KindText, "we are on it")
	h.store.reply(addr, normalize.KindNote, "VIP, be nice")

	c := h.connect(t)
	w := c.hello(clientFrame{Token: visitorToken("v1", time.Now().Add(time.Hour)), Language: "en-GB"})
	require.Equal(t, "v1", w.Visitor)
	require.Equal(t, "Support", w.Title)
	require.Equal(t, "Hi! How can we help you today?", w.Greeting)
	require.Len(t, w.History, 2, "notes must never reach the player")
	require.Equal(t, wireMessage{ID: "m1", ClientID: "c1", From: "player", Kind: "text", Text: "my withdrawal", State: "queued"},
		w.History[0])
	require.Equal(t, string(reply.ID), w.History[1].ID)
	require.Equal(t, "agent", w.History[1].From)
	require.Equal(t, "Anna", w.History[1].Author)
	require.Equal(t, "sent", w.History[1].State)
	for _, m := range w.History {
		require.NotContains(t, m.Text, "VIP")
	}
	require.Equal(t, maxTextRunes, w.Limits.TextChars)

	// The renewed token is valid and keeps the visitor.
	cl, err := verifyToken([]byte(testTokenSecret), w.Token, "visitor token", time.Now())
	require.NoError(t, err)
	require.Equal(t, "v1", cl.Visitor)
	require.Greater(t, cl.Exp, time.Now().Add(50*time.Minute).Unix())
}

func TestHelloWithoutTokenStartsAVisitor(t *testing.T) {
	h := start(t, nil, true)
	c := h.connect(t)
	w := c.hello(clientFrame{Language: "de-AT"})
	require.Len(t, w.Visitor, 32)
	require.Empty(t, w.History)
	require.NotNil(t, w.History, "an empty history is [], not null")
	require.Equal(t, "Hallo! Wie können wir helfen?", w.Greeting)

	other := h.connect(t).hello(clientFrame{})
	require.NotEqual(t, w.Visitor, other.Visitor)
}

func TestGreeting(t *testing.T) {
	g := map[string]string{"en": "Hi", "de": "Hallo", "pt-BR": "Olá"}
	for lang, want := range map[string]string{"": "Hi", "de": "Hallo", "de-AT": "Hallo", "DE": "Hallo", "pt-br": "Olá", "pt-PT": "Hi", "fr": "Hi"} {
		require.Equal(t, want, greeting(g, lang), lang)
	}
	require.Equal(t, "", greeting(map[string]string{"de": "Hallo"}, "fr"))
}

func TestAckOnlyAfterDeliverReturned(t *testing.T) {
	h := start(t, nil, true)
	gate, entered := h.store.hold()
	c := h.connect(t)
	w := c.hello(clientFrame{Token: visitorToken("v1", time.Now().Add(time.Hour)), Language: "de"})

	before := time.Now().UTC()
	c.send(msg("c-1", "  Hello,\r\nmy withdrawal is stuck \x00 "))
	m := <-entered
	c.none(200 * time.Millisecond) // Deliver has not returned: no ack yet
	gate <- struct{}{}
	ack := c.next()
	require.Equal(t, typeAck, ack.Type)
	require.Equal(t, "c-1", ack.ClientID)
	require.Equal(t, string(m.ID), ack.ID)

	require.Equal(t, normalize.Inbound, m.Direction)
	require.Equal(t, normalize.InstanceName("web"), m.Source)
	require.Equal(t, normalize.InstanceName("web"), m.Channel)
	require.Equal(t, normalize.KindWebchat, m.ChannelKind)
	require.Equal(t, normalize.Address("visitor:v1"), m.Address)
	require.Equal(t, normalize.ExternalID("visitor:v1:c-1"), m.ExternalID)
	require.Equal(t, normalize.KindText, m.Kind)
	require.Equal(t, "Hello,\nmy withdrawal is stuck", m.Text)
	require.Equal(t, normalize.RolePlayer, m.Author.Role)
	require.Equal(t, "de", m.Author.Language)
	require.Empty(t, m.Author.PlayerID)
	require.NotEmpty(t, m.Author.DisplayName)
	require.False(t, m.SentAt.Before(before.Truncate(time.Second)))
	require.Equal(t, "v1", w.Visitor)
}

func TestResendAfterReconnectIsTheSameMessage(t *testing.T) {
	h := start(t, nil, true)
	token := visitorToken("v1", time.Now().Add(time.Hour))

	// The first attempt reaches the sink, but the page goes away before the ack.
	gate, entered := h.store.hold()
	c := h.connect(t)
	c.hello(clientFrame{Token: token})
	c.send(msg("c-1", "hello?"))
	<-entered
	h.store.release()
	c.conn.Close(websocket.StatusGoingAway, "tab closed")
	close(gate) // the store finishes: the message is stored, the ack lost
	require.Eventually(t, func() bool { return len(h.store.delivered()) == 1 }, 5*time.Second, 5*time.Millisecond)

	// The page reconnects and resends its outbox.
	c2 := h.connect(t)
	w := c2.hello(clientFrame{Token: token})
	require.Len(t, w.History, 1)
	require.Equal(t, "c-1", w.History[0].ClientID, "the history tells the page what the server already has")
	c2.send(msg("c-1", "hello?"))
	ack := c2.next()
	require.Equal(t, typeAck, ack.Type)
	require.Equal(t, "c-1", ack.ClientID)

	attempts := h.store.attempts()
	require.Len(t, attempts, 2)
	require.Equal(t, attempts[0].ExternalID, attempts[1].ExternalID)
	require.Len(t, h.store.delivered(), 1, "the store deduplicates the resend")
}

func TestRateLimit(t *testing.T) {
	h := start(t, func(cfg *Config, _ *Deps) { cfg.MessagesPerMinute = 2 }, true)
	c := h.connect(t)
	c.hello(clientFrame{})
	for i, id := range []string{"a", "b", "c", "d"} {
		c.send(msg(id, "spam"))
		f := c.next()
		if i < 2 {
			require.Equal(t, typeAck, f.Type, "within the burst")
			continue
		}
		require.Equal(t, typeError, f.Type)
		require.Equal(t, "rate_limited", f.Code)
		require.Equal(t, "You are sending messages too quickly. Please wait a moment.", f.Message)
		require.Equal(t, id, f.ClientID)
	}
	require.Len(t, h.store.attempts(), 2, "nothing beyond the limit reaches the sink")
	require.Contains(t, h.logs.String(), "over the rate limit")
	require.Contains(t, h.logs.String(), "conv=visitor:")

	// Another conversation has its own budget.
	other := h.connect(t)
	other.hello(clientFrame{})
	other.send(msg("x", "hello"))
	require.Equal(t, typeAck, other.next().Type)
}

func TestRefusedTokensDeliverNothing(t *testing.T) {
	expired := time.Now().Add(-time.Minute)
	future := time.Now().Add(time.Hour)
	forgedVisitor := signToken([]byte("some-other-secret-0123456789"), claims{Visitor: "v1", Exp: future.Unix()})
	forgedPlayer := signToken([]byte("some-other-secret-0123456789"), claims{PlayerID: "42", Exp: future.Unix()})
	tests := []struct {
		name   string
		hello  clientFrame
		code   string
		detail string
	}{
		{"forged visitor token", clientFrame{Token: forgedVisitor}, codeInvalidToken, "not valid"},
		{"expired visitor token", clientFrame{Token: visitorToken("v1", expired)}, codeInvalidToken, "expired"},
		{"malformed visitor token", clientFrame{Token: "not-a-token"}, codeInvalidToken, "not valid"},
		{"player token as visitor token", clientFrame{Token: playerToken(claims{PlayerID: "42", Exp: future.Unix()})}, codeInvalidToken, "not valid"},
		{"forged player token", clientFrame{Player: forgedPlayer}, codeInvalidPlayer, "signature does not match"},
		{"expired player token", clientFrame{Player: playerToken(claims{PlayerID: "42", Exp: expired.Unix()})}, codeInvalidPlayer, "expired"},
		{"malformed player token", clientFrame{Player: "e30.AAAA"}, codeInvalidPlayer, "signature"},
		{"player token without player_id", clientFrame{Player: playerToken(claims{Name: "Anna", Exp: future.Unix()})}, codeInvalidPlayer, "player_id is required"},
		{"valid visitor, forged player", clientFrame{Token: visitorToken("v1", future), Player: forgedPlayer}, codeInvalidPlayer, "signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := start(t, nil, true)
			c := h.connect(t)
			f := tt.hello
			f.Type = typeHello
			c.send(f)
			e := c.next()
			require.Equal(t, typeError, e.Type)
			require.Equal(t, tt.code, e.Code)
			require.Contains(t, e.Message, tt.detail)
			c.waitClosed()
			require.Equal(t, websocket.StatusPolicyViolation, <-c.closed)

			// The same token on the long-poll transport cannot send either.
			token := tt.hello.Token
			if tt.code == codeInvalidPlayer {
				token = tt.hello.Player
			}
			resp := h.post(t, token, msg("c-1", "let me in"))
			require.Equal(t, codeInvalidToken, resp.Frames[0].Code)
			require.Empty(t, h.store.attempts(), "nothing may be delivered")
		})
	}
}

func TestPlayerTokensWithoutPlayerSecretAreIgnored(t *testing.T) {
	h := start(t, func(cfg *Config, _ *Deps) { cfg.PlayerSecret = "" }, true)
	c := h.connect(t)
	c.hello(clientFrame{Player: playerToken(claims{PlayerID: "42", VIP: 5, Exp: time.Now().Add(time.Hour).Unix()})})
	c.send(msg("c-1", "hello"))
	require.Equal(t, typeAck, c.next().Type)
	m := h.store.delivered()[0]
	require.True(t, strings.HasPrefix(string(m.Address), "visitor:"), "nothing the page claims is trusted")
	require.Empty(t, m.Author.PlayerID)
	require.Zero(t, m.Author.VIPTier)
	require.Contains(t, h.logs.String(), "no player_secret configured")
}

func TestIdentifiedPlayer(t *testing.T) {
	h := start(t, nil, true)
	pt := playerToken(claims{PlayerID: "42", VIP: 3, Name: "Anna Schmidt", Language: "de", Exp: time.Now().Add(5 * time.Minute).Unix()})

	phone := h.connect(t)
	w := phone.hello(clientFrame{Player: pt, Language: "en-US"})
	require.Equal(t, "Hallo! Wie können wir helfen?", w.Greeting, "the casino account's language wins")
	phone.send(msg("p-1", "Hallo"))
	require.Equal(t, typeAck, phone.next().Type)

	got := h.store.delivered()
	require.Len(t, got, 1)
	m := got[0]
	require.Equal(t, normalize.Address("player:42"), m.Address)
	require.Equal(t, normalize.ExternalID("player:42:p-1"), m.ExternalID)
	require.Equal(t, "42", m.Author.PlayerID)
	require.Equal(t, 3, m.Author.VIPTier)
	require.Equal(t, "Anna Schmidt", m.Author.DisplayName)
	require.Equal(t, "de", m.Author.Language)

	// Another device: one conversation across devices, and it sees the first one's message.
	laptop := h.connect(t)
	w2 := laptop.hello(clientFrame{Player: pt})
	require.NotEqual(t, w.Visitor, w2.Visitor)
	require.Len(t, w2.History, 1)
	require.Equal(t, "Hallo", w2.History[0].Text)

	// A message from the laptop shows on the phone too.
	laptop.send(msg("l-1", "from the laptop"))
	require.Equal(t, typeAck, laptop.next().Type)
	echo := phone.next()
	require.Equal(t, typeMessage, echo.Type)
	require.Equal(t, "player", echo.From)
	require.Equal(t, "l-1", echo.ClientID)

	// A reload with only the visitor token keeps the identity.
	again := h.connect(t)
	again.hello(clientFrame{Token: w.Token})
	again.send(msg("p-2", "still me"))
	require.Equal(t, typeAck, again.next().Type)
	last := h.store.attempts()[2]
	require.Equal(t, normalize.Address("player:42"), last.Address)
	require.Equal(t, 3, last.Author.VIPTier)
}

func TestSendReachesEveryOpenPage(t *testing.T) {
	h := start(t, nil, true)
	token := visitorToken("v1", time.Now().Add(time.Hour))
	tab1, tab2, stranger := h.connect(t), h.connect(t), h.connect(t)
	tab1.hello(clientFrame{Token: token})
	tab2.hello(clientFrame{Token: token})
	stranger.hello(clientFrame{})

	conv := normalize.Conversation{ID: "c1", Channel: "web", Address: "visitor:v1"}
	reply := normalize.Message{ID: normalize.NewMessageID(), Direction: normalize.Outbound, Kind: normalize.KindText,
		Text: "We are looking into it right now.", Author: normalize.Author{Role: normalize.RoleAgent, DisplayName: "Anna"},
		SentAt: time.Now().UTC()}
	ext, err := h.ch.Send(context.Background(), conv, reply)
	require.NoError(t, err)
	require.Equal(t, normalize.ExternalID(reply.ID), ext)
	for _, tab := range []*client{tab1, tab2} {
		f := tab.next()
		require.Equal(t, typeMessage, f.Type)
		require.Equal(t, string(reply.ID), f.ID)
		require.Equal(t, "agent", f.From)
		require.Equal(t, "Anna", f.Author)
		require.Equal(t, "We are looking into it right now.", f.Text)
		require.Equal(t, "sent", f.State)
	}
	stranger.none(100 * time.Millisecond)

	// Nobody listening: still a success, the history shows it later.
	ext, err = h.ch.Send(context.Background(), normalize.Conversation{Address: "visitor:gone"}, reply)
	require.NoError(t, err)
	require.Equal(t, normalize.ExternalID(reply.ID), ext)

	// A note is never pushed.
	note := reply
	note.ID, note.Kind, note.Text = normalize.NewMessageID(), normalize.KindNote, "internal"
	_, err = h.ch.Send(context.Background(), conv, note)
	require.NoError(t, err)
	tab1.none(100 * time.Millisecond)

	_, err = h.ch.Send(context.Background(), conv, normalize.Message{Text: "no id"})
	require.True(t, connectors.IsPermanent(err))
}

func TestReceiptsMarkState(t *testing.T) {
	h := start(t, nil, true)
	token := visitorToken("v1", time.Now().Add(time.Hour))
	c := h.connect(t)
	c.hello(clientFrame{Token: token})
	c.send(msg("c-1", "hi"))
	require.Equal(t, typeAck, c.next().Type)

	reply := h.store.reply("visitor:v1", normalize.KindText, "hello from support")
	_, err := h.ch.Send(context.Background(), normalize.Conversation{Address: "visitor:v1"}, reply)
	require.NoError(t, err)
	require.Equal(t, typeMessage, c.next().Type)

	c.send(clientFrame{Type: typeReceipt, ID: string(reply.ID), State: "delivered"})
	c.send(clientFrame{Type: typeReceipt, ID: string(reply.ID), State: "read"})
	want := []mark{{reply.ID, normalize.StateDelivered}, {reply.ID, normalize.StateRead}}
	require.Eventually(t, func() bool {
		marks := h.store.markCalls()
		return len(marks) >= 2 && marks[0] == want[0] && marks[1] == want[1]
	}, 5*time.Second, 5*time.Millisecond)

	// An older reply (found in the thread, not remembered from Send) works too.
	older := h.store.reply("visitor:v1", normalize.KindText, "older")
	c.send(clientFrame{Type: typeReceipt, ID: string(older.ID), State: "read"})
	require.Eventually(t, func() bool {
		marks := h.store.markCalls()
		return marks[len(marks)-1] == mark{older.ID, normalize.StateRead}
	}, 5*time.Second, 5*time.Millisecond)

	// Receipts for another conversation's reply, the player's own message or a note are refused.
	foreign := h.store.reply("visitor:v2", normalize.KindText, "not yours")
	note := h.store.reply("visitor:v1", normalize.KindNote, "internal")
	own := h.store.delivered()[0]
	before := len(h.store.markCalls())
	for _, id := range []normalize.MessageID{foreign.ID, note.ID, own.ID, "m-unknown"} {
		c.send(clientFrame{Type: typeReceipt, ID: string(id), State: "read"})
		e := c.next()
		require.Equal(t, typeError, e.Type)
		require.Equal(t, codeNotFound, e.Code)
	}
	require.Len(t, h.store.markCalls(), before)
}

func TestTypingReachesThePage(t *testing.T) {
	h := start(t, nil, true)
	c := h.connect(t)
	c.hello(clientFrame{Token: visitorToken("v1", time.Now().Add(time.Hour))})
	require.NoError(t, h.ch.Typing(context.Background(), normalize.Conversation{Address: "visitor:v1"}))
	f := c.next()
	require.Equal(t, typeTyping, f.Type)
	require.Equal(t, "agent", f.From)

	// Player typing is accepted and goes nowhere.
	c.send(clientFrame{Type: typeTyping})
	c.none(100 * time.Millisecond)
	require.Empty(t, h.store.attempts())
}

func TestOriginCheck(t *testing.T) {
	h := start(t, nil, true)
	tests := []struct {
		origin string
		ok     bool
	}{
		{"", true}, // not a browser
		{h.srv.URL, true},
		{testPublicURL, true},
		{testAllowed, true},
		{"https://CASINO.example:443", true},
		{"http://casino.example", false}, // scheme matters
		{"https://evil.example", false},
		{"https://casino.example.evil.example", false},
		{"null", false},
	}
	for _, tt := range tests {
		t.Run(tt.origin, func(t *testing.T) {
			c, err := h.dial(t, tt.origin)
			if !tt.ok {
				require.ErrorContains(t, err, "status 403")
				return
			}
			require.NoError(t, err)
			c.hello(clientFrame{})
		})
	}
}

func TestMessageLimits(t *testing.T) {
	h := start(t, nil, true)
	c := h.connect(t)
	c.hello(clientFrame{})

	c.send(msg("long", strings.Repeat("ä", maxTextRunes+1)))
	e := c.next()
	require.Equal(t, codeTooLong, e.Code)
	require.Equal(t, "long", e.ClientID)
	require.Contains(t, e.Message, "4001 characters")

	c.send(msg("ok", strings.Repeat("ä", maxTextRunes)))
	require.Equal(t, typeAck, c.next().Type)

	c.send(msg("blank", " \n\t "))
	require.Equal(t, codeEmpty, c.next().Code)

	c.send(clientFrame{Type: "shout"})
	require.Equal(t, codeBadRequest, c.next().Code)

	c.send(clientFrame{Type: typeHello})
	require.Equal(t, codeBadRequest, c.next().Code)
	require.Len(t, h.store.attempts(), 1)

	// A frame over the limit ends the connection.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, c.conn.Write(ctx, websocket.MessageText, []byte(`{"type":"message","text":"`+strings.Repeat("x", maxFrameBytes)+`"}`)))
	c.waitClosed()
	require.Equal(t, websocket.StatusMessageTooBig, <-c.closed)
}

func TestFirstFrameMustBeHello(t *testing.T) {
	h := start(t, nil, true)
	c := h.connect(t)
	c.send(msg("c-1", "sneaky"))
	require.Equal(t, codeHelloFirst, c.next().Code)
	c.waitClosed()
	require.Empty(t, h.store.attempts())
}

func TestNotRunningKeepsMessagesInTheOutbox(t *testing.T) {
	h := start(t, nil, false)
	c := h.connect(t)
	c.hello(clientFrame{})
	c.send(msg("c-1", "anyone?"))
	e := c.next()
	require.Equal(t, codeUnavailable, e.Code)
	require.Equal(t, "c-1", e.ClientID)
}

func TestDeliverFailures(t *testing.T) {
	h := start(t, nil, true)
	c := h.connect(t)
	c.hello(clientFrame{})
	h.store.failWith(errors.New("disk full"))
	c.send(msg("c-1", "hello"))
	require.Equal(t, codeUnavailable, c.next().Code)
	h.store.failWith(connectors.Permanent(errors.New("no helpdesk")))
	c.send(msg("c-2", "hello"))
	require.Equal(t, codeRejected, c.next().Code)
}

func TestRunEndClosesPages(t *testing.T) {
	h := start(t, nil, false)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.ch.Run(ctx, h.store) }()
	require.Eventually(t, func() bool { return h.ch.sink() != nil }, 5*time.Second, time.Millisecond)
	c := h.connect(t)
	c.hello(clientFrame{})
	cancel()
	require.NoError(t, <-done)
	c.waitClosed()
	require.Equal(t, websocket.StatusGoingAway, <-c.closed)
	require.Error(t, h.ch.Run(context.Background(), nil))
}
