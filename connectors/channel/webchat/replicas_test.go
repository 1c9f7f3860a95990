package webchat

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

// fakeNotices is router/store/wake in one process: every subscriber of a topic hears what
// any replica publishes on it, the publisher included.
type fakeNotices struct {
	mu   sync.Mutex
	subs map[chan string]string // channel → topic
}

func newFakeNotices() *fakeNotices {
	return &fakeNotices{subs: map[chan string]string{}}
}

func (f *fakeNotices) Publish(ctx context.Context, topic, payload string) error {
	if len(topic)+len(payload) > connectors.MaxNotice || payload == "" {
		return errors.New("fake notices: payload empty or too large")
	}
	f.send(topic, payload)
	return nil
}

func (f *fakeNotices) Subscribe(topic string) (<-chan string, func()) {
	ch := make(chan string, 64)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.subs[ch] = topic
	return ch, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		delete(f.subs, ch)
	}
}

// lost plays the listener's reconnect: every subscriber hears the empty notice.
func (f *fakeNotices) lost() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch := range f.subs {
		ch <- ""
	}
}

func (f *fakeNotices) send(topic, payload string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch, t := range f.subs {
		if t == topic {
			ch <- payload
		}
	}
}

// twoReplicas runs the same chat twice on one bus, as two gateway replicas.
func twoReplicas(t *testing.T) (a, b *harness, bus *fakeNotices) {
	bus = newFakeNotices()
	withBus := func(_ *Config, d *Deps) { d.Notices = bus }
	return start(t, withBus, true), start(t, withBus, true), bus
}

// TestReplyDeliveredByAnotherReplica: the player's page is open on replica A; replica B
// delivers the agent's reply and typing. A's page gets each once, and its receipt counts
// without A finding the reply in a store (the notice told A whose reply it is).
func TestReplyDeliveredByAnotherReplica(t *testing.T) {
	a, b, _ := twoReplicas(t)
	token := visitorToken("v1", time.Now().Add(time.Hour))
	page, stranger := a.connect(t), a.connect(t)
	page.hello(clientFrame{Token: token})
	stranger.hello(clientFrame{})

	reply := b.store.reply("visitor:v1", normalize.KindText, "Your withdrawal is on its way.")
	_, err := b.ch.Send(context.Background(), normalize.Conversation{Address: "visitor:v1"}, reply)
	require.NoError(t, err)
	f := page.next()
	require.Equal(t, typeMessage, f.Type)
	require.Equal(t, string(reply.ID), f.ID)
	require.Equal(t, "agent", f.From)
	require.Equal(t, "Your withdrawal is on its way.", f.Text)

	require.NoError(t, b.ch.Typing(context.Background(), normalize.Conversation{Address: "visitor:v1"}))
	require.Equal(t, typeTyping, page.next().Type)
	page.none(200 * time.Millisecond) // each frame once
	stranger.none(0)

	page.send(clientFrame{Type: typeReceipt, ID: string(reply.ID), State: "read"})
	require.Eventually(t, func() bool {
		marks := a.store.markCalls()
		return len(marks) == 1 && marks[0] == mark{reply.ID, normalize.StateRead}
	}, 5*time.Second, 5*time.Millisecond)
}

// TestPlayerTabsOnTwoReplicas: a player's message from a tab on B is echoed to their tab on
// A, not back to the tab that sent it.
func TestPlayerTabsOnTwoReplicas(t *testing.T) {
	a, b, _ := twoReplicas(t)
	token := visitorToken("v1", time.Now().Add(time.Hour))
	onA, onB := a.connect(t), b.connect(t)
	onA.hello(clientFrame{Token: token})
	onB.hello(clientFrame{Token: token})

	onB.send(msg("c-1", "is anyone there?"))
	require.Equal(t, typeAck, onB.next().Type)
	f := onA.next()
	require.Equal(t, typeMessage, f.Type)
	require.Equal(t, "player", f.From)
	require.Equal(t, "c-1", f.ClientID)
	require.Equal(t, "is anyone there?", f.Text)
	onB.none(200 * time.Millisecond)
}

// TestFramesTooLargeForANoticeReload: a reply over the notice limit reaches the other
// replica's pages as "reload": the WebSocket is closed (the page reconnects and reads the
// history) and a long-polling page is told to reset; the sending replica's page gets the
// reply itself.
func TestFramesTooLargeForANoticeReload(t *testing.T) {
	a, b, _ := twoReplicas(t)
	token := visitorToken("v1", time.Now().Add(time.Hour))
	polling := a.post(t, "", clientFrame{Type: typeHello, Token: token})
	onA, onB := a.connect(t), b.connect(t)
	onA.hello(clientFrame{Token: token})
	onB.hello(clientFrame{Token: token})

	reply := b.store.reply("visitor:v1", normalize.KindText, strings.Repeat("long text ", connectors.MaxNotice/10))
	_, err := b.ch.Send(context.Background(), normalize.Conversation{Address: "visitor:v1"}, reply)
	require.NoError(t, err)
	require.Equal(t, reply.Text, onB.next().Text)
	onA.waitClosed()
	status, got := a.poll(t, polling.Frames[0].Token, polling.Cursor)
	require.Equal(t, 200, status)
	require.True(t, got.Reset, "the long-polling page reloads")
}

// TestLostNoticesWakeEveryPage: after the replica's listener reconnected (notices may have
// been lost) every page on it reloads.
func TestLostNoticesWakeEveryPage(t *testing.T) {
	a, _, bus := twoReplicas(t)
	polling := a.post(t, "", clientFrame{Type: typeHello, Token: visitorToken("v2", time.Now().Add(time.Hour))})
	page := a.connect(t)
	page.hello(clientFrame{Token: visitorToken("v1", time.Now().Add(time.Hour))})

	bus.lost()
	page.waitClosed()
	status, got := a.poll(t, polling.Frames[0].Token, polling.Cursor)
	require.Equal(t, 200, status)
	require.True(t, got.Reset)
}
