package conformance

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/test/httpfault"
)

// ChannelHarness connects RunChannel to one channel implementation and its fake remote.
// The suite passes each subtest's own t, so a harness may keep per-test state keyed by t.
type ChannelHarness struct {
	// New returns a channel talking to a remote that is ready for this test; the harness
	// registers its cleanup on t.
	New func(t *testing.T) connectors.Channel
	// PlayerSends makes the remote deliver a player's message to ch the way ch receives them.
	// externalID names the message: a second call with the same externalID is the remote
	// delivering that message again. It returns nil once the remote has handed the message
	// over or keeps it to hand over itself (Telegram holds an update until a getUpdates
	// confirms it, and pushes it to a webhook again until it gets a 2xx), and an error when
	// ch refused it: a remote that delivers by request (a page, a webhook sender) sends it
	// again, so the suite then calls PlayerSends again (e.g. while ch's Run is still starting).
	PlayerSends func(t *testing.T, ch connectors.Channel, address normalize.Address, externalID, text string) error
	// Received returns the texts the remote got for address, in order.
	Received func(t *testing.T, address normalize.Address) []string
	// Idempotent says the channel passes msg.ID as an idempotency key the remote honours, so a
	// repeated Send does not reach the player twice.
	Idempotent bool

	// NewAddress returns a player's address no other conversation of the test uses, in the
	// form the remote gives them (a Telegram chat ID is a number). Nil means a unique string,
	// for remotes that take any address.
	NewAddress func(t *testing.T) normalize.Address
	// PlayerOf returns the player of a conversation at address as the router knows them, for
	// channels whose Send needs more than the address: an e-mail conversation's address is a
	// thread token, and the player's e-mail address comes with the conversation's player. Nil
	// keeps the suite's anonymous player.
	PlayerOf func(t *testing.T, address normalize.Address) normalize.Author
	// ExternalIDOf returns the ExternalID ch reports for the message PlayerSends delivered
	// under externalID, for remotes that assign message IDs themselves. Nil means the remote
	// keeps the caller's ID, so it is externalID itself.
	ExternalIDOf func(t *testing.T, address normalize.Address, externalID string) normalize.ExternalID

	// Acknowledged reports whether the remote considers the message PlayerSends delivered
	// under externalID handed over, so that it will not deliver it again: Telegram saw the
	// update confirmed by a later getUpdates offset or its webhook push answered 2xx, a
	// webhook sender or a page got its success answer (see Acks). Nil skips
	// SinkFailureIsNotAcknowledged.
	Acknowledged func(t *testing.T, address normalize.Address, externalID string) bool
	// FailSend makes the request of the next Send to the remote meet f, through an
	// httpfault.Transport in the client the channel was built with (New). Nil skips
	// SendClassifiesErrors, for a channel whose Send reaches no remote that answers with
	// statuses (the web chat pushes to the open pages).
	FailSend func(t *testing.T, f httpfault.Fault)
	// Overrides are the classes the channel's protocol gives statuses where it departs from
	// connectors.ClassifyStatus, the one policy: Telegram answers 403 to a bot the player
	// blocked, which no retry fixes, so its harness declares {403: Permanent}.
	Overrides map[int]ErrorClass
}

// newAddress returns a fresh player address in the remote's form.
func (h ChannelHarness) newAddress(t *testing.T) normalize.Address {
	if h.NewAddress != nil {
		return h.NewAddress(t)
	}
	return normalize.Address(unique("player"))
}

// externalIDOf returns the ExternalID the channel must report for the message sent as ext.
func (h ChannelHarness) externalIDOf(t *testing.T, address normalize.Address, ext string) normalize.ExternalID {
	if h.ExternalIDOf != nil {
		return h.ExternalIDOf(t, address, ext)
	}
	return normalize.ExternalID(ext)
}

// newConversation returns a conversation with a player at a fresh address of the remote's form.
func (h ChannelHarness) newConversation(t *testing.T) normalize.Conversation {
	conv := newConversation("conformance")
	conv.Address = h.newAddress(t)
	if h.PlayerOf != nil {
		conv.Player = h.PlayerOf(t, conv.Address)
	}
	return conv
}

// RunChannel checks the promises the router relies on from every connectors.Channel.
func RunChannel(t *testing.T, h ChannelHarness) {
	t.Run("PlayerMessageReachesSinkOnce", func(t *testing.T) { channelInbound(t, h) })
	t.Run("RepeatedMessageKeepsExternalID", func(t *testing.T) { channelRepeat(t, h) })
	t.Run("SendDeliversInOrder", func(t *testing.T) { channelSend(t, h) })
	t.Run("SendIsIdempotent", func(t *testing.T) { channelIdempotent(t, h) })
	t.Run("SinkFailureIsNotAcknowledged", func(t *testing.T) { channelSinkFailure(t, h) })
	t.Run("SendClassifiesErrors", func(t *testing.T) { channelSendErrors(t, h) })
	t.Run("RunReturnsAfterCancel", func(t *testing.T) { checkRunStops(t, h.New(t).Run) })
}

// playerSends retries the harness until the remote's delivery was acknowledged.
func playerSends(t *testing.T, h ChannelHarness, ch connectors.Channel, address normalize.Address, externalID, text string) {
	t.Helper()
	var err error
	for deadline := time.Now().Add(waitFor); time.Now().Before(deadline); time.Sleep(tick) {
		if err = h.PlayerSends(t, ch, address, externalID, text); err == nil {
			return
		}
	}
	t.Fatalf("PlayerSends(%s, %s) = %v", address, externalID, err)
}

func channelInbound(t *testing.T, h ChannelHarness) {
	ch := h.New(t)
	sink := start(t, ch.Run)
	address, ext := h.newAddress(t), unique("ext")
	playerSends(t, h, ch, address, ext, "where is my bonus?")

	fromPlayer := func(m normalize.Message) bool { return m.Address == address }
	require.Eventually(t, func() bool { return len(sink.Where(fromPlayer)) > 0 }, waitFor, tick, "the message never reached the sink")
	time.Sleep(50 * time.Millisecond) // a second, wrong delivery would arrive about now
	got := sink.Where(fromPlayer)
	require.Len(t, got, 1, "one message sent once must reach the sink once")
	m := got[0]
	require.Equal(t, normalize.Inbound, m.Direction)
	require.NotEmpty(t, m.Source, "Source must name the channel instance")
	require.Equal(t, m.Source, m.Channel, "an inbound message's Source is its channel")
	require.NotEmpty(t, m.ChannelKind)
	require.Equal(t, h.externalIDOf(t, address, ext), m.ExternalID)
	require.Equal(t, normalize.RolePlayer, m.Author.Role)
	require.Equal(t, "where is my bonus?", m.Text)
}

// channelRepeat sends one message twice, as a remote retrying a delivery does: dedup is the
// store's job, so the channel must hand both over under the same key.
func channelRepeat(t *testing.T, h ChannelHarness) {
	ch := h.New(t)
	sink := start(t, ch.Run)
	address, ext := h.newAddress(t), unique("ext")
	playerSends(t, h, ch, address, ext, "hello?")
	playerSends(t, h, ch, address, ext, "hello?")

	fromPlayer := func(m normalize.Message) bool { return m.Address == address }
	require.Eventually(t, func() bool { return len(sink.Where(fromPlayer)) > 0 }, waitFor, tick)
	// A channel may drop the repeat itself; give a second delivery time to arrive if it comes.
	deadline := time.Now().Add(time.Second)
	for len(sink.Where(fromPlayer)) < 2 && time.Now().Before(deadline) {
		time.Sleep(tick)
	}
	got := sink.Where(fromPlayer)
	want := h.externalIDOf(t, address, ext)
	for _, m := range got {
		require.Equal(t, got[0].Source, m.Source)
		require.Equal(t, want, m.ExternalID, "a repeated message must keep its external ID")
	}
}

func channelSend(t *testing.T, h ChannelHarness) {
	ch := h.New(t)
	start(t, ch.Run)
	a, b := h.newConversation(t), h.newConversation(t)
	ctx := testContext(t)
	var want []string
	for _, text := range texts(3, "reply %d to A") {
		id, err := ch.Send(ctx, a, outboundMessage(a, text))
		require.NoError(t, err, "Send()")
		require.NotEmpty(t, id, "Send() must return the channel's ID of the message")
		want = append(want, text)
	}
	id, err := ch.Send(ctx, b, outboundMessage(b, "only reply to B"))
	require.NoError(t, err, "Send()")
	require.NotEmpty(t, id)

	require.Eventually(t, func() bool { return len(h.Received(t, a.Address)) >= len(want) }, waitFor, tick)
	require.Equal(t, want, h.Received(t, a.Address), "A must get its replies once each, in order")
	require.Eventually(t, func() bool { return len(h.Received(t, b.Address)) >= 1 }, waitFor, tick)
	require.Equal(t, []string{"only reply to B"}, h.Received(t, b.Address), "B must get only its own reply")
}

func channelIdempotent(t *testing.T, h ChannelHarness) {
	if !h.Idempotent {
		t.Skip("the channel takes no idempotency key")
	}
	ch := h.New(t)
	start(t, ch.Run)
	conv := h.newConversation(t)
	msg := outboundMessage(conv, "your withdrawal is on its way")
	ctx := testContext(t)
	first, err := ch.Send(ctx, conv, msg)
	require.NoError(t, err, "Send()")
	again, err := ch.Send(ctx, conv, msg)
	require.NoError(t, err, "Send() again")
	require.Equal(t, first, again, "a repeated Send must report the first one's ID")
	next := outboundMessage(conv, "anything else?")
	_, err = ch.Send(ctx, conv, next)
	require.NoError(t, err, "Send()")
	require.Eventually(t, func() bool { return len(h.Received(t, conv.Address)) >= 2 }, waitFor, tick)
	require.Equal(t, []string{msg.Text, next.Text}, h.Received(t, conv.Address), "a repeated Send must not reach the player twice")
}

// channelSinkFailure has the player send while the store fails: the channel must not
// acknowledge the message to its remote (answer 2xx, advance an offset), so the remote
// delivers it again, and once the store is back the message must arrive, once, and only then
// be acknowledged.
func channelSinkFailure(t *testing.T, h ChannelHarness) {
	if h.Acknowledged == nil {
		t.Skip("the harness cannot tell what the remote considers acknowledged (Acknowledged is nil)")
	}
	ch := h.New(t)
	sink := start(t, ch.Run)
	sink.Fail(errStoreDown)
	address, ext := h.newAddress(t), unique("ext")
	fromPlayer := func(m normalize.Message) bool { return m.Address == address }
	send := func() error { return h.PlayerSends(t, ch, address, ext, "my withdrawal is stuck") }
	acknowledged := func() bool { return h.Acknowledged(t, address, ext) }

	err := send()
	waitUntil(t, func() bool { return sink.Attempts(fromPlayer) > 0 }, func() {
		if err != nil { // refused before it reached Deliver (Run still starting): sent again
			err = send()
		}
	}, "the channel never handed the player's message to the sink (last delivery: %v)", &err)
	require.Never(t, acknowledged, ackWindow, tick,
		"the channel acknowledged the player's message to its remote while Deliver failed: the remote will not deliver it again, and it is lost")
	require.Empty(t, sink.Where(fromPlayer))

	sink.Fail(nil)
	waitUntil(t, acknowledged, func() {
		if err != nil { // the remote delivers a refused message again
			err = send()
		}
	}, "the player's message was never acknowledged after the store recovered (last delivery: %v)", &err)
	require.Eventually(t, func() bool { return len(sink.Where(fromPlayer)) > 0 }, waitFor, tick,
		"the remote considers the message handed over, but it never reached the sink after Deliver failed once")
	time.Sleep(50 * time.Millisecond) // a second, wrong delivery would arrive about now
	got := sink.Where(fromPlayer)
	require.Len(t, got, 1, "the message must reach the sink once after the store recovered")
	require.Equal(t, h.externalIDOf(t, address, ext), got[0].ExternalID)
}

// channelSendErrors makes the remote fail Send's request in each way a remote fails, and
// requires the error class the router acts on: retry with back-off, wait the remote's
// Retry-After, dead-letter, or report the credentials.
func channelSendErrors(t *testing.T, h ChannelHarness) {
	if h.FailSend == nil {
		t.Skip("Send reaches no remote that answers with statuses (FailSend is nil)")
	}
	for _, c := range faultCases {
		t.Run(c.name, func(t *testing.T) {
			ch := h.New(t)
			start(t, ch.Run)
			conv := h.newConversation(t)
			h.FailSend(t, c.fault)
			ctx := faultContext(t, c)
			began := time.Now()
			_, err := ch.Send(ctx, conv, outboundMessage(conv, "your bonus is credited"))
			requireClass(t, "Send()", c, c.expected(h.Overrides), err, time.Since(began))
		})
	}
}

// waitUntil polls done every tick until it holds, calling between polls again (nil: no
// action), and fails t with msg and the current *lastErr after waitFor.
func waitUntil(t *testing.T, done func() bool, again func(), msg string, lastErr *error) {
	t.Helper()
	for deadline := time.Now().Add(waitFor); !done(); time.Sleep(tick) {
		if time.Now().After(deadline) {
			t.Fatalf(msg, *lastErr)
		}
		if again != nil {
			again()
		}
	}
}

// Compile-time check that the suites' fakes satisfy the contracts they stand in for.
var _ connectors.Sink = (*RecordingSink)(nil)
