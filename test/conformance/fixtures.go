package conformance

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

// Generous bounds for remotes that answer asynchronously; fakes answer in microseconds.
const (
	waitFor = 10 * time.Second
	tick    = 10 * time.Millisecond
)

// unique returns prefix with a deployment-wide unique suffix, so suites can share a remote or
// a database between subtests without their data colliding.
func unique(prefix string) string {
	return prefix + "-" + string(normalize.NewMessageID())[1:]
}

// testContext bounds every call of a suite: a connector that hangs fails the test instead of
// the whole run timing out without saying where.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// start runs run (a connector's Run) with a recording sink until the test ends, then checks
// that Run returns nil soon after its context is cancelled.
func start(t *testing.T, run func(context.Context, connectors.Sink) error) *RecordingSink {
	t.Helper()
	sink := &RecordingSink{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, sink) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run() after cancel = %v, want nil", err)
			}
		case <-time.After(waitFor):
			t.Errorf("Run did not return within %s of its context's cancellation", waitFor)
		}
	})
	return sink
}

// checkRunStops starts run and requires it to return nil within waitFor of cancellation.
func checkRunStops(t *testing.T, run func(context.Context, connectors.Sink) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(ctx, &RecordingSink{}) }()
	select {
	case err := <-done:
		t.Fatalf("Run() returned %v before its context ended", err)
	case <-time.After(50 * time.Millisecond):
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run() after cancel = %v, want nil", err)
		}
	case <-time.After(waitFor):
		t.Fatalf("Run did not return within %s of its context's cancellation", waitFor)
	}
}

// newConversation returns a conversation as the router hands it to connectors.
func newConversation(channel normalize.InstanceName) normalize.Conversation {
	now := time.Now().UTC()
	return normalize.Conversation{
		ID:          normalize.NewConversationID(),
		Channel:     channel,
		ChannelKind: normalize.KindWebchat,
		Address:     normalize.Address(unique("player")),
		Helpdesk:    "helpdesk-under-test",
		Status:      normalize.StatusOpen,
		Priority:    normalize.PriorityNormal,
		Language:    "en",
		Player:      normalize.Author{Role: normalize.RolePlayer, DisplayName: "Conformance Player", Language: "en"},
		CreatedAt:   now,
		UpdatedAt:   now,
	}
}

// inboundDeliveries returns one first-attempt delivery per text, as a claimed lane holds them.
func inboundDeliveries(conv normalize.Conversation, texts ...string) []connectors.Delivery {
	out := make([]connectors.Delivery, len(texts))
	for i, text := range texts {
		now := time.Now().UTC()
		out[i] = connectors.Delivery{Attempt: 1, Message: normalize.Message{
			ID:           normalize.NewMessageID(),
			Direction:    normalize.Inbound,
			Source:       conv.Channel,
			ExternalID:   normalize.ExternalID(unique("ext")),
			Conversation: conv.ID,
			Channel:      conv.Channel,
			ChannelKind:  conv.ChannelKind,
			Address:      conv.Address,
			Author:       conv.Player,
			Kind:         normalize.KindText,
			Text:         text,
			SentAt:       now,
			ReceivedAt:   now,
			State:        normalize.StateQueued,
		}}
	}
	return out
}

// outboundMessage returns an agent reply as the router hands it to a channel.
func outboundMessage(conv normalize.Conversation, text string) normalize.Message {
	return normalize.Message{
		ID:           normalize.NewMessageID(),
		Direction:    normalize.Outbound,
		Source:       conv.Helpdesk,
		ExternalID:   normalize.ExternalID(unique("reply")),
		Conversation: conv.ID,
		Channel:      conv.Channel,
		ChannelKind:  conv.ChannelKind,
		Address:      conv.Address,
		Author:       normalize.Author{Role: normalize.RoleAgent, DisplayName: "Conformance Agent"},
		Kind:         normalize.KindText,
		Text:         text,
		SentAt:       time.Now().UTC(),
		State:        normalize.StateQueued,
	}
}

func messageIDs(ds []connectors.Delivery) []normalize.MessageID {
	out := make([]normalize.MessageID, len(ds))
	for i, d := range ds {
		out[i] = d.Message.ID
	}
	return out
}

func texts(n int, format string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf(format, i+1)
	}
	return out
}

// PerTest keeps a harness's environment per subtest: the suites pass each subtest's own t to
// New and to the harness's other functions, so a harness looks its environment up by t.
type PerTest[E any] struct {
	mu   sync.Mutex
	envs map[*testing.T]E
}

// Put keeps e for t until t ends.
func (p *PerTest[E]) Put(t *testing.T, e E) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.envs == nil {
		p.envs = map[*testing.T]E{}
	}
	p.envs[t] = e
	t.Cleanup(func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		delete(p.envs, t)
	})
}

// Get returns t's environment and fails t when New was not called with it.
func (p *PerTest[E]) Get(t *testing.T) E {
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.envs[t]
	if !ok {
		t.Fatalf("harness: no environment for %s; New was not called with this t", t.Name())
	}
	return e
}
