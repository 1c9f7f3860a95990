package telegram

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

// running starts the channel with sink and waits until Run has taken it (getMe answered).
func (e *env) running(t *testing.T, sink connectors.Sink) {
	t.Helper()
	e.run(t, sink)
	require.Eventually(t, func() bool { return e.fake.Calls("getMe") > 0 && e.ch.sink.Sink() != nil }, 5*time.Second, 5*time.Millisecond)
}

func TestSendBlockedNotesTicketOnce(t *testing.T) {
	e := newEnv(t, nil)
	sink := newSink()
	e.running(t, sink)
	e.fake.Blocked(chat)
	m := reply("Your withdrawal is on its way.")
	for range 2 { // the router's retry must not add a second note
		_, err := e.ch.Send(context.Background(), conv("5000000001"), m)
		require.True(t, connectors.IsPermanent(err), "Send() = %v", err)
		require.ErrorIs(t, err, errBlocked)
	}
	got := sink.messages()
	require.Len(t, got, 1)
	note := got[0]
	require.Equal(t, normalize.KindSystem, note.Kind)
	require.Equal(t, normalize.Inbound, note.Direction)
	require.Equal(t, normalize.InstanceName("tg"), note.Source)
	require.Equal(t, normalize.InstanceName("tg"), note.Channel)
	require.Equal(t, normalize.KindTelegram, note.ChannelKind)
	require.Equal(t, normalize.Address("5000000001"), note.Address)
	require.Equal(t, normalize.ExternalID("5000000001:blocked:"+string(m.ID)), note.ExternalID)
	require.Equal(t, normalize.RoleSystem, note.Author.Role)
	require.Equal(t, "The player blocked the bot; replies cannot be delivered on Telegram.", note.Text)
	require.False(t, note.SentAt.IsZero())
	require.Equal(t, 2, sink.callCount(), "each Send hands the note over; the store keeps one")

	// Another reply gets its own note; other failures get none.
	_, err := e.ch.Send(context.Background(), conv("5000000001"), reply("Hello?"))
	require.Error(t, err)
	require.Len(t, sink.messages(), 2)
	_, err = e.ch.Send(context.Background(), conv("5000000002"), normalize.Message{ID: "m1"})
	require.True(t, connectors.IsPermanent(err))
	require.Len(t, sink.messages(), 2)
}

func TestSendBlockedInWebhookMode(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Mode, c.WebhookSecret = "webhook", "hook-secret" })
	sink := newSink()
	e.running(t, sink)
	e.fake.Blocked(chat)
	_, err := e.ch.Send(context.Background(), conv("5000000001"), reply("hi"))
	require.True(t, connectors.IsPermanent(err))
	require.Len(t, sink.messages(), 1)
}

func TestSendOtherFailuresAreNotNoted(t *testing.T) {
	e := newEnv(t, nil)
	sink := newSink()
	e.running(t, sink)
	m := reply("part one")
	m.Attachments = []normalize.Attachment{{Name: "missing.pdf", BlobRef: "nope"}}
	// The blob is missing: a retryable failure after the text went out, no note.
	_, err := e.ch.Send(context.Background(), conv("5000000001"), m)
	require.Error(t, err)
	require.False(t, connectors.IsPermanent(err))
	require.Empty(t, sink.messages())
}

func TestSendBlockedWithoutSinkOrFailingSink(t *testing.T) {
	// Not running: no sink to note it in; still the permanent error, and a log line.
	e := newEnv(t, nil)
	logs := e.withLog()
	e.fake.Blocked(chat)
	_, err := e.ch.Send(context.Background(), conv("5000000001"), reply("hi"))
	require.True(t, connectors.IsPermanent(err))
	require.Contains(t, logs.String(), "not noted on the ticket")

	// The store refuses the note: logged, and Send still reports the permanent error.
	e = newEnv(t, nil)
	logs = e.withLog()
	sink := newSink()
	e.running(t, sink)
	sink.mu.Lock()
	sink.err = errors.New("store down")
	sink.mu.Unlock()
	e.fake.Blocked(chat)
	_, err = e.ch.Send(context.Background(), conv("5000000001"), reply("hi"))
	require.True(t, connectors.IsPermanent(err))
	require.ErrorIs(t, err, errBlocked)
	require.Contains(t, logs.String(), "note for the ticket was not stored")
	require.Contains(t, logs.String(), "store down")
}

func TestTyping(t *testing.T) {
	e := newEnv(t, nil)
	logs := e.withLog()
	var typer connectors.Typer = e.ch
	require.NoError(t, typer.Typing(context.Background(), conv("5000000001")))
	require.Equal(t, []string{"typing"}, e.fake.ChatActions(chat))
	require.Empty(t, e.fake.Sent(chat), "typing sends no message")

	// Failures are hints: nil, with a debug line that does not leak the token.
	e.fake.Blocked(chat)
	require.NoError(t, typer.Typing(context.Background(), conv("5000000001")))
	require.NoError(t, typer.Typing(context.Background(), conv("not-a-chat")))
	require.Len(t, e.fake.ChatActions(chat), 1)
	require.Contains(t, logs.String(), "level=DEBUG")
	require.Contains(t, logs.String(), "sendChatAction failed")
	require.NotContains(t, logs.String(), testToken)
	require.Equal(t, 2, e.fake.Calls("sendChatAction"))
}

func TestTypingRespectsGlobalLimiter(t *testing.T) {
	e := newEnv(t, nil)
	// Use up the bot-wide budget: Typing waits for it and gives up with ctx, without calling.
	for e.ch.global.Allow() {
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer cancel()
	require.NoError(t, e.ch.Typing(ctx, conv("5000000001")))
	require.Zero(t, e.fake.Calls("sendChatAction"))

	// The per-chat limiter, kept for messages, is not consumed by typing.
	e.ch.perChat = newChatLimiters(1, 1)
	e.ch.global = rate.NewLimiter(rate.Inf, 1)
	require.NoError(t, e.ch.Typing(context.Background(), conv("5000000001")))
	require.True(t, e.ch.perChat.get(chat).Allow(), "typing left the chat's message budget alone")
	require.Equal(t, 1, e.fake.Calls("sendChatAction"))
}
