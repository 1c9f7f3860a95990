package webhook_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/helpdesk/webhook"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router"
	"github.com/casino-support/gateway/router/store"
	"github.com/casino-support/gateway/test/webhookreceiver"
)

// sentChannel is a player channel that only records what the router sends to players.
type sentChannel struct {
	mu   sync.Mutex
	sent []normalize.Message
}

func (c *sentChannel) Run(ctx context.Context, _ connectors.Sink) error { <-ctx.Done(); return nil }

func (c *sentChannel) Send(_ context.Context, _ normalize.Conversation, m normalize.Message) (normalize.ExternalID, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent = append(c.sent, m)
	return normalize.ExternalID("ch-" + string(m.ID)), nil
}

func (c *sentChannel) Sent() []normalize.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]normalize.Message(nil), c.sent...)
}

// stack is the webhook helpdesk behind a real router on a real SQLite store, as the gateway
// runs it, with a first-response target of target on loopback channels.
type stack struct {
	*env
	st *store.Store
	r  *router.Router
	ch *sentChannel
}

func newStack(t *testing.T, target time.Duration) *stack {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "gw.db"), store.Options{})
	require.NoError(t, err, "OpenSQLite()")
	s := &stack{env: newEnv(t, nil), st: st, ch: &sentChannel{}}
	rules := router.Rules{Default: testName, SLA: router.SLA{FirstResponse: map[normalize.ChannelKind]time.Duration{normalize.KindLoopback: target}}}
	s.r = router.New(st, map[normalize.InstanceName]connectors.Channel{"chat": s.ch},
		map[normalize.InstanceName]connectors.Helpdesk{testName: s.hd}, rules,
		router.Options{PollInterval: 20 * time.Millisecond, BackoffBase: 10 * time.Millisecond},
		prometheus.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	var wg sync.WaitGroup
	wg.Go(func() { _ = s.r.Run(ctx) })
	wg.Go(func() {
		if err := s.hd.Run(ctx, s.r); err != nil {
			t.Errorf("Run() = %v", err)
		}
	})
	t.Cleanup(func() { cancel(); wg.Wait(); st.Close() })
	return s
}

func (s *stack) playerWrites(t *testing.T, id, language, text string) {
	t.Helper()
	require.NoError(t, s.r.Deliver(t.Context(), normalize.Message{Direction: normalize.Inbound, Source: "chat", Channel: "chat",
		ChannelKind: normalize.KindLoopback, Address: "p-1", ExternalID: normalize.ExternalID(id),
		Author: normalize.Author{Role: normalize.RolePlayer, DisplayName: "Max", Language: language}, Text: text, SentAt: time.Now()}))
}

// waitEvents returns the operator's events of type name, once the receiver has n of them.
func (s *stack) waitEvents(t *testing.T, name string, n int) []webhookreceiver.Received {
	t.Helper()
	var got []webhookreceiver.Received
	require.Eventually(t, func() bool {
		got = got[:0]
		for _, ev := range s.recv.Events() {
			if ev.Event.Event == name {
				got = append(got, ev)
			}
		}
		return len(got) >= n
	}, 10*time.Second, 10*time.Millisecond, "%d %s events", n, name)
	return got
}

func (s *stack) conversation(t *testing.T, id normalize.ConversationID) normalize.Conversation {
	t.Helper()
	c, err := s.st.Conversation(t.Context(), id)
	require.NoError(t, err, "Conversation()")
	return c
}

// TestMetadataAndAssignmentsThroughRouterAndStore runs what the operator sees and sends
// through the router and the store: an SLA breach and a language change reach the operator
// as conversation.updated, assignments from the hook and the events API reach the
// conversation, a retried assignment is stored once, and the player is sent nothing of it.
func TestMetadataAndAssignmentsThroughRouterAndStore(t *testing.T) {
	s := newStack(t, 300*time.Millisecond)
	s.playerWrites(t, "p-1", "de", "Meine Auszahlung hängt")
	opened := s.waitEvents(t, "conversation.opened", 1)[0].Event.Conversation
	conv := normalize.ConversationID(opened.ID)
	ticket := s.recv.Ticket(opened.ID)
	require.Equal(t, "T-1", ticket)

	// Nobody answers: the first-response target passes.
	breach := s.waitEvents(t, "conversation.updated", 1)[0].Event
	require.Equal(t, []string{"sla"}, breach.Update.Changed)
	require.Equal(t, "breached", breach.Update.SLA.State)
	require.False(t, breach.Update.SLA.BreachedAt.IsZero())
	require.Equal(t, "breached", breach.Conversation.SLA.State)
	require.Equal(t, ticket, breach.Conversation.Ticket)

	assign := `{"event":"conversation.assigned","event_id":"as-1","ticket":"` + ticket + `","assignee":{"id":"a-7","name":"Anna"},"agent":{"name":"Alice"}}`
	for range 2 { // retried: stored once
		status, body := s.hook(t, testSecret, time.Now(), assign)
		require.Equal(t, http.StatusOK, status, body)
	}
	require.Equal(t, &normalize.Agent{ID: "a-7", Name: "Anna"}, s.conversation(t, conv).Assignee)
	msgs, err := s.st.Messages(t.Context(), conv, 0, 100)
	require.NoError(t, err)
	var assignments []string
	for _, m := range msgs {
		if m.Message.Assignee != nil {
			assignments = append(assignments, m.Message.Text)
		}
	}
	require.Equal(t, []string{"Assigned to Anna in the ticket system."}, assignments, "the thread records the assignment once")

	// The player switches language: the operator learns it, with the assignee, before the message.
	s.playerWrites(t, "p-2", "en", "Any news?")
	created := s.waitEvents(t, "message.created", 2)
	update := s.waitEvents(t, "conversation.updated", 2)[1].Event
	require.Equal(t, []string{"language"}, update.Update.Changed)
	require.Equal(t, "en", update.Update.Language)
	require.Equal(t, &webhook.Agent{ID: "a-7", Name: "Anna"}, update.Conversation.Assignee)
	require.Equal(t, "en", update.Conversation.Language)
	require.Equal(t, &webhook.Agent{ID: "a-7", Name: "Anna"}, created[1].Event.Conversation.Assignee)
	require.Less(t, indexOf(s.recv.Events(), update.ID), indexOf(s.recv.Events(), created[1].Event.ID), "the update comes first")

	// Unassigned through the API with the bearer token.
	status, body := s.events(t, testToken, `{"event":"conversation.assigned","event_id":"as-2","conversation_id":"`+string(conv)+`","assignee":null}`)
	require.Equal(t, http.StatusOK, status, body)
	require.Nil(t, s.conversation(t, conv).Assignee)

	// An assignment for a ticket the gateway does not know can never be stored.
	status, body = s.hook(t, testSecret, time.Now(), `{"event":"conversation.assigned","event_id":"as-3","ticket":"T-404","assignee":{"name":"Anna"}}`)
	require.Equal(t, http.StatusUnprocessableEntity, status, body)

	require.Empty(t, s.ch.Sent(), "assignments and updates never reach the player")
}

func indexOf(events []webhookreceiver.Received, id string) int {
	for i, ev := range events {
		if ev.Event.ID == id {
			return i
		}
	}
	return -1
}
