package webhook_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/helpdesk/webhook"
	"github.com/casino-support/gateway/connectors/settings"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/test/webhookreceiver"
)

func batching(n int) func(*webhook.Config) {
	return func(c *webhook.Config) { c.BatchEvents = n }
}

// onTicket returns a conversation that has ticket T-1 at the receiver, and n messages of it.
func onTicket(t *testing.T, e *env, n int) (normalize.Conversation, []normalize.Message) {
	t.Helper()
	conv, msgs := conversation(n + 1)
	ticket, _, err := e.hd.Post(t.Context(), conv, deliveries(msgs[:1], 1))
	require.NoError(t, err)
	conv.Ticket = ticket
	return conv, msgs[1:]
}

// batches lists how the receiver got the events after the first skip: the size of each
// events.batch, 1 for an event that came alone.
func batches(e *env, skip int) []int {
	var out []int
	last := ""
	for _, ev := range e.recv.Events()[skip:] {
		if ev.Batch != "" && ev.Batch == last {
			out[len(out)-1]++
			continue
		}
		out = append(out, 1)
		last = ev.Batch
	}
	return out
}

func externalIDs(msgs []normalize.Message) []normalize.ExternalID {
	out := make([]normalize.ExternalID, len(msgs))
	for i, m := range msgs {
		out[i] = "ext-" + normalize.ExternalID(m.ID)
	}
	return out
}

func messageIDs(msgs []normalize.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = string(m.ID)
	}
	return out
}

func TestBatchConfig(t *testing.T) {
	for _, tt := range []struct {
		n    int
		want string
	}{{0, ""}, {1, ""}, {50, ""}, {100, ""}, {-1, "want 0 (off) to 100, got -1"}, {101, "want 0 (off) to 100, got 101"}} {
		cfg := webhook.DefaultConfig()
		cfg.URL, cfg.Secret, cfg.APIToken, cfg.BatchEvents = "https://tickets.example/events", testSecret, testToken, tt.n
		p := settings.NewProblems("helpdesks[0]")
		cfg.Validate(p)
		if tt.want == "" {
			require.Empty(t, p.List(), "batch_events %d", tt.n)
			continue
		}
		require.Equal(t, []settings.Problem{{Key: "helpdesks[0].batch_events", Message: tt.want}}, p.List())
	}
}

// The lane's messages go in requests of up to batch_events; a lone rest goes as itself, and
// with batching off (0 or 1) every event goes alone, as before contract 1.5.0.
func TestBatchSplitsIntoRequestsOfN(t *testing.T) {
	tests := []struct {
		n, msgs int
		want    []int
	}{
		{0, 3, []int{1, 1, 1}},
		{1, 3, []int{1, 1, 1}},
		{3, 7, []int{3, 3, 1}},
		{3, 6, []int{3, 3}},
		{50, 7, []int{7}},
		{2, 1, []int{1}},
	}
	for _, tt := range tests {
		e := newEnv(t, batching(tt.n))
		conv, msgs := onTicket(t, e, tt.msgs)
		before := e.recv.Requests()
		ticket, ids, err := e.hd.Post(t.Context(), conv, deliveries(msgs, 1))
		require.NoError(t, err)
		require.Equal(t, conv.Ticket, ticket)
		require.Equal(t, externalIDs(msgs), ids, "batch_events %d: the operator's IDs, in order", tt.n)
		require.Equal(t, tt.want, batches(e, 2), "batch_events %d, %d messages", tt.n, tt.msgs)
		require.Equal(t, len(tt.want), e.recv.Requests()-before, "one request per batch")
		require.Equal(t, messageIDs(msgs), e.recv.Messages()[string(conv.ID)][1:])
		require.Zero(t, e.recv.Repeats())
	}
}

// conversation.opened keeps its own request and answer; the messages after it share one, and
// a conversation.updated travels in the batch in its place.
func TestBatchOpenedStaysAlone(t *testing.T) {
	e := newEnv(t, batching(10))
	conv, msgs := conversation(3)
	upd := updateOf(conv, normalize.Update{Changed: []normalize.Field{normalize.FieldPriority}, Priority: normalize.PriorityUrgent})
	all := []normalize.Message{msgs[0], upd, msgs[1], msgs[2]}
	ticket, ids, err := e.hd.Post(t.Context(), conv, deliveries(all, 1))
	require.NoError(t, err)
	require.Equal(t, normalize.Ref("T-1"), ticket)
	require.Len(t, ids, 4)
	require.Equal(t, normalize.ExternalID("ext-"+upd.ID), ids[1])
	require.Equal(t, 2, e.recv.Requests(), "the opening, then one batch")
	events := e.recv.Events()
	require.Equal(t, webhook.EventConversationOpened, events[0].Event.Event)
	require.Empty(t, events[0].Batch)
	require.Equal(t, []int{1, 4}, batches(e, 0))
	require.Equal(t, webhook.EventConversationUpdated, events[2].Event.Event)
	for _, ev := range events[1:] {
		require.Equal(t, string(ticket), ev.Event.Conversation.Ticket, "every event of the batch names the new ticket")
	}
	require.Equal(t, map[string][]string{string(conv.ID): {string(upd.ID)}}, e.recv.Updates())
}

// An operator that stored only a prefix of a batch answers its results; the gateway goes on
// with the rest and, when that fails, reports exactly the prefix stored.
func TestBatchPrefixAnswer(t *testing.T) {
	e := newEnv(t, batching(10))
	conv, msgs := onTicket(t, e, 5)
	e.recv.ShortenBatches(2)
	_, ids, err := e.hd.Post(t.Context(), conv, deliveries(msgs, 1))
	require.NoError(t, err)
	require.Equal(t, externalIDs(msgs), ids)
	require.Equal(t, []int{2, 3}, batches(e, 2), "the rest went in a batch of its own")

	conv, msgs = onTicket(t, e, 5)
	e.recv.ShortenBatches(2)
	e.recv.Inject(webhookreceiver.Fault{}, webhookreceiver.Fault{Status: http.StatusServiceUnavailable})
	_, ids, err = e.hd.Post(t.Context(), conv, deliveries(msgs, 1))
	require.Error(t, err)
	require.False(t, connectors.IsPermanent(err))
	require.Equal(t, externalIDs(msgs[:2]), ids, "the prefix the operator stored, and nothing of the failed rest")
	_, rest, err := e.hd.Post(t.Context(), conv, deliveries(msgs[2:], 2))
	require.NoError(t, err)
	require.Equal(t, externalIDs(msgs[2:]), rest)
	require.Equal(t, messageIDs(msgs), e.recv.Messages()[string(conv.ID)][1:])
}

// A batch answered with a status worth retrying records nothing, classified like the single
// form; a later batch mid-way through the lane fails the same way and keeps the batches before
// it.
func TestBatchErrors(t *testing.T) {
	tests := []struct {
		name  string
		fault webhookreceiver.Fault
		retry time.Duration
	}{
		{"503 is retried", webhookreceiver.Fault{Status: 503}, 0},
		{"429 waits Retry-After", webhookreceiver.Fault{Status: 429, RetryAfter: "7"}, 7 * time.Second},
		{"timeout is retried", webhookreceiver.Fault{Delay: time.Second}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, func(c *webhook.Config) { c.BatchEvents, c.Timeout = 2, 200*time.Millisecond })
			conv, msgs := onTicket(t, e, 5)
			e.recv.Inject(webhookreceiver.Fault{}, tt.fault) // the first batch passes, the second fails
			_, ids, err := e.hd.Post(t.Context(), conv, deliveries(msgs, 1))
			require.Error(t, err)
			require.Equal(t, externalIDs(msgs[:2]), ids, "only the first batch is recorded")
			require.False(t, connectors.IsPermanent(err), "IsPermanent(%v)", err)
			delay, ok := connectors.RetryDelay(err)
			require.Equal(t, tt.retry != 0, ok, "RetryDelay(%v)", err)
			require.Equal(t, tt.retry, delay)

			_, rest, err := e.hd.Post(t.Context(), conv, deliveries(msgs[2:], 2))
			require.NoError(t, err)
			require.Equal(t, externalIDs(msgs[2:]), rest)
			require.Equal(t, messageIDs(msgs), e.recv.Messages()[string(conv.ID)][1:], "each message once, in order")
		})
	}
}

// A batch whose answer was lost was stored all the same: its retry, under the same key,
// delivers each message once at the operator and learns the first answers.
func TestBatchRetryAfterLostAnswer(t *testing.T) {
	// Without keep-alives: net/http itself resends a request with an Idempotency-Key on a
	// reused connection that broke, which would hide the lost answer from Post.
	e := newEnvDeps(t, batching(10), func(d *webhook.Deps) {
		d.Client = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	})
	conv, msgs := onTicket(t, e, 4)
	e.recv.Inject(webhookreceiver.Fault{LoseAnswer: true})
	_, ids, err := e.hd.Post(t.Context(), conv, deliveries(msgs, 1))
	require.Error(t, err)
	require.False(t, connectors.IsPermanent(err))
	require.Empty(t, ids, "nothing of a batch without an answer is recorded")

	_, ids, err = e.hd.Post(t.Context(), conv, deliveries(msgs, 2))
	require.NoError(t, err)
	require.Equal(t, externalIDs(msgs), ids)
	require.Equal(t, messageIDs(msgs), e.recv.Messages()[string(conv.ID)][1:], "each message once")
	require.Equal(t, 4, e.recv.Repeats(), "the retry repeated each event")
	events := e.recv.Events()
	require.Equal(t, events[len(events)-1].Batch, events[2].Batch, "the retry carried the batch's key")
}

// A refusal for good names no event of the batch: the gateway sends them alone, so the one
// the operator refuses is the one the error reports (and the router dead-letters), and those
// before it are stored.
func TestBatchRefusedSendsTheEventsAlone(t *testing.T) {
	e := newEnv(t, batching(10))
	conv, msgs := onTicket(t, e, 3)
	e.recv.Inject(webhookreceiver.Fault{Status: http.StatusUnprocessableEntity}, webhookreceiver.Fault{},
		webhookreceiver.Fault{Status: http.StatusUnprocessableEntity})
	before := e.recv.Requests()
	_, ids, err := e.hd.Post(t.Context(), conv, deliveries(msgs, 1))
	require.Error(t, err)
	require.True(t, connectors.IsPermanent(err), "IsPermanent(%v)", err)
	require.ErrorContains(t, err, string(msgs[1].ID), "the error names the event refused")
	require.Equal(t, externalIDs(msgs[:1]), ids)
	require.Equal(t, 3, e.recv.Requests()-before, "the batch, then its events alone up to the refused one")
	require.Equal(t, messageIDs(msgs[:1]), e.recv.Messages()[string(conv.ID)][1:])
}

// An endpoint that does not know events.batch answers it without results: the gateway stored
// nothing it could record, and sends the events alone, which such an endpoint takes.
func TestBatchAnswerWithoutResults(t *testing.T) {
	for _, answer := range []string{"", `{}`, `{"results":[]}`} {
		var events []string
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			events = append(events, r.Header.Get(webhook.HeaderEvent))
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(answer))
		}))
		t.Cleanup(srv.Close)
		hd, err := webhook.New(testName, webhook.Config{URL: srv.URL, Secret: testSecret, APIToken: testToken, Timeout: time.Second,
			MaxSkew: time.Minute, AttachmentURLTTL: time.Hour, BatchEvents: 5}, webhook.Deps{})
		require.NoError(t, err)
		conv, msgs := conversation(2)
		conv.Ticket = "T-x"
		_, ids, err := hd.Post(t.Context(), conv, deliveries(msgs, 1))
		require.NoError(t, err, "answer %q", answer)
		require.Equal(t, []normalize.ExternalID{normalize.ExternalID(msgs[0].ID), normalize.ExternalID(msgs[1].ID)}, ids)
		require.Equal(t, []string{webhook.EventBatch, webhook.EventMessageCreated, webhook.EventMessageCreated}, events, "answer %q", answer)
	}
}

// A batch stays under 1 MiB: events that would take it over go in the next request, and one
// too large to share a request goes alone.
func TestBatchKeepsUnderTheBodyLimit(t *testing.T) {
	e := newEnv(t, batching(10))
	conv, msgs := onTicket(t, e, 5)
	for i := range msgs {
		msgs[i].Text = strings.Repeat("x", 400<<10)
	}
	_, ids, err := e.hd.Post(t.Context(), conv, deliveries(msgs, 1))
	require.NoError(t, err)
	require.Equal(t, externalIDs(msgs), ids)
	require.Equal(t, []int{2, 2, 1}, batches(e, 2))
}
