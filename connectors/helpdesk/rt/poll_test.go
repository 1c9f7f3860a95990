package rt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/store"
	"github.com/casino-support/gateway/test/conformance"
)

func TestSettled(t *testing.T) {
	at := time.Date(2026, 11, 22, 10, 0, 10, 0, time.UTC)
	tx := func(created string) txn { return txn{Created: created} }
	for _, tc := range []struct {
		name string
		txns []txn
		want int
	}{
		{"none", nil, 0},
		{"all old", []txn{tx("2026-11-22T10:00:00Z"), tx("2026-11-22T10:00:03Z")}, 2},
		{"a young one holds back the rest", []txn{tx("2026-11-22T10:00:00Z"), tx("2026-11-22T10:00:08Z"), tx("2026-11-22T10:00:01Z")}, 1},
		{"exactly hold old", []txn{tx("2026-11-22T10:00:04Z")}, 1},
		{"unparsable counts as old", []txn{tx("yesterday")}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) { require.Len(t, settled(tc.txns, at, 6*time.Second), tc.want) })
	}
}

// refusingSink refuses for good every call that holds a message on ticket "gone", and fails
// for now while flaky is set.
type refusingSink struct {
	conformance.RecordingSink
	flaky bool
}

func (s *refusingSink) Deliver(ctx context.Context, msgs ...normalize.Message) error {
	if s.flaky {
		return errors.New("store busy")
	}
	for _, m := range msgs {
		if m.Ticket == "gone" {
			return connectors.Permanent(errors.New("unknown ticket"))
		}
	}
	return s.RecordingSink.Deliver(ctx, msgs...)
}

func TestDeliverPassesOverRefusedMessages(t *testing.T) {
	h := &Helpdesk{log: discardLog()}
	msg := func(ticket string) *normalize.Message { return &normalize.Message{Ticket: normalize.Ref(ticket)} }
	evs := []event{{txn: 11, msg: msg("1")}, {txn: 12}, {txn: 13, msg: msg("gone")}, {txn: 14, msg: msg("2")}}
	for _, tc := range []struct {
		name      string
		evs       []event
		flaky     bool
		want      int
		delivered []normalize.Ref
		fails     bool
	}{
		{"nothing", nil, false, 10, nil, false},
		{"only passed-over transactions", []event{{txn: 12}}, false, 12, nil, false},
		{"one refused message does not hold up the others", evs, false, 14, []normalize.Ref{"1", "2"}, false},
		{"a failure keeps the cursor", evs, true, 10, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink := &refusingSink{flaky: tc.flaky}
			got, err := h.deliver(t.Context(), sink, 10, tc.evs)
			require.Equal(t, tc.fails, err != nil, "err = %v", err)
			require.Equal(t, tc.want, got)
			var tickets []normalize.Ref
			for _, m := range sink.Messages() {
				tickets = append(tickets, m.Ticket)
			}
			require.Equal(t, tc.delivered, tickets)
		})
	}
}

// stuckSink fails for now every call that holds a message on ticket "stuck", until recovered,
// and every call that holds one on ticket "creating" as the store does for a ticket it has
// not recorded yet.
type stuckSink struct {
	conformance.RecordingSink
	recovered atomic.Bool
}

func (s *stuckSink) Deliver(ctx context.Context, msgs ...normalize.Message) error {
	for _, m := range msgs {
		if m.Ticket == "creating" {
			return fmt.Errorf("store: %w: ticket %q (a ticket is being created; retry)", connectors.ErrNotFound, m.Ticket)
		}
		if m.Ticket == "stuck" && !s.recovered.Load() {
			return errors.New("store busy")
		}
	}
	return s.RecordingSink.Deliver(ctx, msgs...)
}

// A message the sink keeps failing for now is the store failing, not the transaction: it
// holds the cursor for as long as that lasts, spends no budget and is never passed over, and
// goes with the ones after it once the store is back.
func TestDeliverHoldsCursorWhileStoreFails(t *testing.T) {
	var logs logBuffer
	h := &Helpdesk{name: "rt-x", log: slog.New(slog.NewTextHandler(&logs, nil))}
	msg := func(ticket string) *normalize.Message { return &normalize.Message{Ticket: normalize.Ref(ticket)} }
	sink := &stuckSink{}
	got, err := h.deliver(t.Context(), sink, 10, []event{{txn: 11, msg: msg("1")}, {txn: 12, msg: msg("stuck")}, {txn: 13, msg: msg("2")}})
	require.ErrorIs(t, err, errLocal)
	require.Equal(t, 11, got, "delivered up to the stuck message")
	rest := []event{{txn: 12, msg: msg("stuck")}, {txn: 13, msg: msg("2")}}
	for range 3 * txnAttempts {
		got, err = h.deliver(t.Context(), sink, 11, rest)
		require.ErrorContains(t, err, "retried until the store recovers")
		require.Equal(t, 11, got, "never passed over")
	}
	require.NotContains(t, logs.String(), "level=ERROR")
	require.Empty(t, h.poller.txnFailures, "a store failure spends no budget")

	sink.recovered.Store(true)
	got, err = h.deliver(t.Context(), sink, 11, rest)
	require.NoError(t, err)
	require.Equal(t, 13, got)
	var tickets []normalize.Ref
	for _, m := range sink.Messages() {
		tickets = append(tickets, m.Ticket)
	}
	require.Equal(t, []normalize.Ref{"1", "stuck", "2"}, tickets)
}

// The cursor stops before the message that stopped the delivery, past the transactions
// before it that carry no message.
func TestDeliverCursorPastTransactionsWithoutMessage(t *testing.T) {
	h := &Helpdesk{name: "rt-x", log: discardLog()}
	msg := func(ticket string) *normalize.Message { return &normalize.Message{Ticket: normalize.Ref(ticket)} }
	sink := &stuckSink{}
	got, err := h.deliver(t.Context(), sink, 10, []event{{txn: 11, msg: msg("1")}, {txn: 12}, {txn: 13, msg: msg("stuck")}, {txn: 14}})
	require.ErrorIs(t, err, errLocal)
	require.Equal(t, 12, got)
	got, err = h.deliver(t.Context(), sink, 10, []event{{txn: 11}, {txn: 12, msg: msg("stuck")}})
	require.ErrorIs(t, err, errLocal)
	require.Equal(t, 11, got, "a lone message failing keeps the cursor before it")
	sink.recovered.Store(true)
	got, err = h.deliver(t.Context(), sink, 12, []event{{txn: 13, msg: msg("stuck")}, {txn: 14}})
	require.NoError(t, err)
	require.Equal(t, 14, got)
}

// A reply on a ticket the store does not know yet is that reply's failure: it holds up the
// later ones only until its budget is spent, then it is passed over with an error log.
func TestDeliverPassesOverUnknownTicketAfterBudget(t *testing.T) {
	var logs logBuffer
	h := &Helpdesk{name: "rt-x", log: slog.New(slog.NewTextHandler(&logs, nil))}
	msg := func(ticket string) *normalize.Message { return &normalize.Message{Ticket: normalize.Ref(ticket)} }
	sink := &stuckSink{}
	rest := []event{{txn: 12, msg: msg("creating")}, {txn: 13, msg: msg("2")}}
	for poll := 1; poll < txnAttempts; poll++ {
		got, err := h.deliver(t.Context(), sink, 11, rest)
		require.ErrorContains(t, err, fmt.Sprintf("failed poll %d", poll))
		require.NotErrorIs(t, err, errLocal)
		require.Equal(t, 11, got)
	}
	require.NotContains(t, logs.String(), "level=ERROR")
	got, err := h.deliver(t.Context(), sink, 11, rest)
	require.NoError(t, err)
	require.Equal(t, 13, got, "passed over after its budget")
	require.Len(t, sink.Messages(), 1)
	require.Contains(t, logs.String(), "level=ERROR")
	require.Contains(t, logs.String(), "ticket=creating txn=12")
	require.Contains(t, logs.String(), "is lost")
	require.Empty(t, h.poller.txnFailures, "a passed-over transaction leaves no entry")
}

// TestTxnFailureBudget: a transaction is passed over only after txnAttempts failed polls AND
// the patience; the cursor moving past it forgets it.
func TestTxnFailureBudget(t *testing.T) {
	var tr tracker
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := 1; i < txnAttempts; i++ {
		_, spent := tr.txnFailed(7, start.Add(time.Duration(i)*time.Hour), time.Minute)
		require.False(t, spent, "poll %d: fewer than txnAttempts polls", i)
	}
	f, spent := tr.txnFailed(7, start.Add(time.Duration(txnAttempts)*time.Hour), 100*time.Hour)
	require.False(t, spent, "enough polls but not long enough")
	require.Equal(t, txnAttempts, f.polls)
	require.Equal(t, start.Add(time.Hour), f.since, "counted from the first failure")
	_, spent = tr.txnFailed(7, start.Add(101*time.Hour), 100*time.Hour)
	require.True(t, spent)
	require.Empty(t, tr.txnFailures)

	tr.txnFailed(8, start, 0)
	tr.txnFailed(9, start, 0)
	tr.moveCursor(8)
	require.Equal(t, 8, tr.cursor)
	require.Equal(t, []int{9}, slices.Collect(maps.Keys(tr.txnFailures)), "the cursor moving past a transaction forgets its failures")
}

func TestStoredCursor(t *testing.T) {
	for _, tc := range []struct {
		name, stored string
		want         int
	}{
		{"none", "", 0},
		{"a transaction", "4711", 4711},
		{"garbage replays", "txn-12", 0},
		{"negative replays", "-5", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &conformance.MemCursors{}
			if tc.stored != "" {
				require.NoError(t, c.SetCursor(t.Context(), "rt-x", cursorKey, tc.stored))
			}
			h := &Helpdesk{name: "rt-x", cursors: c, log: discardLog()}
			got, err := h.storedCursor(t.Context())
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
	got, err := (&Helpdesk{}).storedCursor(t.Context())
	require.NoError(t, err)
	require.Zero(t, got, "no Cursors, no stored position")
}

// TestRunDeliversAssignments changes a ticket's owner in a real RT: an agent taking it
// assigns the conversation, giving it back to Nobody unassigns it, and the gateway's own
// change is no decision.
func TestRunDeliversAssignments(t *testing.T) {
	h := newPeerHelpdesk(t, nil)
	conv := newConv()
	ticket, _, err := h.Post(t.Context(), conv, deliveries(conv, 1, "who is handling this?"))
	require.NoError(t, err)
	n := mustInt(t, ticket)
	agent := agentClient(t)

	sink := &conformance.RecordingSink{}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx, sink) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})

	start := time.Now()
	require.NoError(t, agent.updateTicket(t.Context(), n, map[string]any{"Owner": "agent"}))
	onThis := func(m normalize.Message) bool { return m.Ticket == ticket }
	require.Eventually(t, func() bool { return len(sink.Where(onThis)) == 1 }, 60*time.Second, 50*time.Millisecond)
	t.Logf("assignment reached the sink after %s (poll %s, hold %s)", time.Since(start), h.cfg.PollInterval, h.cfg.SettleDelay+time.Second)
	require.NoError(t, agent.updateTicket(t.Context(), n, map[string]any{"Owner": "Nobody"}))
	require.NoError(t, h.rt.updateTicket(t.Context(), n, map[string]any{"Owner": "agent"})) // RT lets the gateway give away unowned tickets
	require.NoError(t, agent.updateTicket(t.Context(), n, map[string]any{"Owner": "Nobody"}))
	require.Eventually(t, func() bool { return len(sink.Where(onThis)) >= 3 }, 60*time.Second, 50*time.Millisecond)
	time.Sleep(3 * h.cfg.PollInterval) // nothing more comes

	got := sink.Where(onThis)
	require.Len(t, got, 3, "the gateway's own owner change is not passed on: %+v", got)
	owners, err := h.rt.transactions(t.Context(), n, 0, "Set")
	require.NoError(t, err)
	var byAgent []string
	for _, x := range owners {
		if x.Field == "Owner" && x.Creator.Name == "agent" {
			byAgent = append(byAgent, "txn-"+strconv.Itoa(x.ID.int()))
		}
	}
	require.Len(t, byAgent, 3)
	want := []*normalize.Agent{{ID: "agent", Name: "Support agent"}, {}, {}}
	for i, m := range got {
		require.Equal(t, normalize.Outbound, m.Direction)
		require.Equal(t, normalize.KindSystem, m.Kind)
		require.Equal(t, normalize.InstanceName("rt-test"), m.Source)
		require.Equal(t, normalize.ExternalID(byAgent[i]), m.ExternalID)
		require.Equal(t, normalize.RoleAgent, m.Author.Role)
		require.Equal(t, "agent", m.Author.ExternalID)
		require.Equal(t, want[i], m.Assignee, "message %d", i)
		require.Empty(t, m.Status)
		require.NotEmpty(t, m.Text)
	}
}

// TestRestartResumesFromStoredCursor stops the poller and starts a new one on the same
// store-backed Cursors: what was delivered before is not delivered again, and a reply made
// while no poller ran is.
func TestRestartResumesFromStoredCursor(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gateway.db")
	st, err := store.OpenSQLite(t.Context(), path, store.Options{})
	require.NoError(t, err)
	h := newPeerHelpdesk(t, nil) // as if it had run until now: no replay of older tests' tickets
	h.cursors = st
	conv := newConv()
	ticket, _, err := h.Post(t.Context(), conv, deliveries(conv, 1, "is my deposit there?"))
	require.NoError(t, err)
	onThis := func(m normalize.Message) bool { return m.Ticket == ticket }
	agent := agentClient(t)
	reply := func(text string) {
		require.NoError(t, agent.correspond(t.Context(), mustInt(t, ticket), map[string]any{"Content": text, "ContentType": "text/plain"}))
	}

	reply("yes, it arrived")
	before := pollUntil(t, h, &conformance.RecordingSink{}, onThis, 1)
	stored, err := st.Cursor(t.Context(), h.name, cursorKey)
	require.NoError(t, err)
	require.GreaterOrEqual(t, mustInt(t, normalize.Ref(stored)), mustInt(t, normalize.Ref(strings.TrimPrefix(string(before[0].ExternalID), "txn-"))),
		"the stored cursor is past the delivered reply")
	require.NoError(t, st.Close())

	reply("and it is credited now") // while the gateway is down
	st, err = store.OpenSQLite(t.Context(), path, store.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	h2 := newPeerHelpdesk(t, nil)
	h2.cursors = st
	forgetCursor(h2) // start as the gateway does: from the stored cursor
	sink := &conformance.RecordingSink{}
	start := time.Now()
	got := pollUntil(t, h2, sink, onThis, 1)
	t.Logf("reply made while down delivered %s after the restart", time.Since(start))
	for range 3 { // later polls bring nothing more
		time.Sleep(h2.cfg.PollInterval)
		require.NoError(t, h2.pollOnce(t.Context(), sink))
	}
	got = sink.Where(onThis)
	require.Len(t, got, 1, "only the reply made while down, no re-delivery: %+v", got)
	require.Equal(t, "and it is credited now", got[0].Text)
	require.NotEqual(t, before[0].ExternalID, got[0].ExternalID)
}

// The newest transaction of a new ticket is RT's record of the mail it sent, which the
// gateway's user may not see: lastTransaction must still find the ticket's Create, or a start
// without a stored cursor replays every ticket's history.
func TestLastTransactionPastHiddenEmailRecords(t *testing.T) {
	h := newPeerHelpdesk(t, nil)
	conv := newConv()
	ticket, _, err := h.Post(t.Context(), conv, deliveries(conv, 1, "hello"))
	require.NoError(t, err)
	created, err := h.rt.transactions(t.Context(), mustInt(t, ticket), 0, "Create")
	require.NoError(t, err)
	require.NotEmpty(t, created)
	last, err := h.rt.lastTransaction(t.Context(), h.ticketsQuery())
	require.NoError(t, err)
	require.GreaterOrEqual(t, last, created[0].ID.int(), "the newest transaction the gateway may see")
}

// TestQuietPollCost measures what a poll costs when nothing happened: one query, however
// many tickets the gateway has, against one query per active ticket before.
func TestQuietPollCost(t *testing.T) {
	h := newPeerHelpdesk(t, nil)
	require.NoError(t, h.pollOnce(t.Context(), &conformance.RecordingSink{}))
	const rounds = 20
	start := time.Now()
	for range rounds {
		require.NoError(t, h.pollOnce(t.Context(), &conformance.RecordingSink{}))
	}
	global := time.Since(start) / rounds

	active, err := h.rt.searchTickets(t.Context(), fmt.Sprintf("Queue = '%s' AND Creator = '%s' AND Status = '__Active__'",
		sqlQuote(h.cfg.Queue), sqlQuote(h.cfg.GatewayUser)))
	require.NoError(t, err)
	sample := active[:min(len(active), 50)]
	start = time.Now()
	for _, id := range sample {
		_, err := h.rt.transactions(t.Context(), id, 1<<30, "")
		require.NoError(t, err)
	}
	perTicket := time.Since(start) / time.Duration(max(len(sample), 1))
	t.Logf("quiet poll: %s with one query; per-ticket polling cost %s a ticket (%s for these %d active tickets, %s for 2000)",
		global, perTicket, perTicket*time.Duration(len(active)), len(active), perTicket*2000)
}

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

func TestMemoIsBounded(t *testing.T) {
	var m memo[int, string]
	loads := 0
	load := func(_ context.Context, k int) (string, error) { loads++; return fmt.Sprint(k), nil }
	for k := range memoSize {
		v, err := m.get(t.Context(), k, load)
		require.NoError(t, err)
		require.Equal(t, fmt.Sprint(k), v)
	}
	_, _ = m.get(t.Context(), 0, load)
	require.Equal(t, memoSize, loads, "remembered values are not loaded again")
	_, _ = m.get(t.Context(), memoSize, load) // one more forgets the rest
	require.LessOrEqual(t, len(m.m), 1)
	m.note(7, "noted")
	v, _ := m.get(t.Context(), 7, load)
	require.Equal(t, "noted", v)
	m.note(7, "again")
	v, _ = m.get(t.Context(), 7, load)
	require.Equal(t, "noted", v, "note keeps what is remembered")
}

// failTxnParts answers 403 to the listing of one transaction's parts, as an RT whose rights
// on one ticket went wrong would; other requests pass.
type failTxnParts struct {
	next http.RoundTripper
	txn  atomic.Int64
}

func (f *failTxnParts) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Path != fmt.Sprintf("/REST/2.0/transaction/%d/attachments", f.txn.Load()) {
		return f.next.RoundTrip(req)
	}
	return &http.Response{StatusCode: http.StatusForbidden, Status: "403 Forbidden", Header: http.Header{},
		Body: io.NopCloser(strings.NewReader(`{"message":"Forbidden"}`)), Request: req}, nil
}

// TestPollPassesOverFailingTransaction has RT refuse one agent reply's parts for good: the
// reply after it, on another ticket, waits while the failing one is within its budget, and
// is delivered once the failing one is passed over, with an error log naming it. The 403
// does not stop Run.
func TestPollPassesOverFailingTransaction(t *testing.T) {
	h := newPeerHelpdesk(t, nil)
	require.True(t, strings.HasSuffix(h.rt.base, "/REST/2.0"), h.rt.base)
	h.txnPatience = 3 * time.Second
	var logs logBuffer
	h.log = slog.New(slog.NewTextHandler(&logs, nil))
	flaky := &failTxnParts{next: http.DefaultTransport}
	h.rt.http = &http.Client{Timeout: 30 * time.Second, Transport: flaky}

	convA, convB := newConv(), newConv()
	ticketA, _, err := h.Post(t.Context(), convA, deliveries(convA, 1, "A?"))
	require.NoError(t, err)
	ticketB, _, err := h.Post(t.Context(), convB, deliveries(convB, 1, "B?"))
	require.NoError(t, err)
	agentReplies(t, ticketA, "lost reply", false)
	replies, err := h.rt.transactions(t.Context(), mustInt(t, ticketA), 0, "Correspond")
	require.NoError(t, err)
	stuck := replies[len(replies)-1].ID.int()
	flaky.txn.Store(int64(stuck))
	agentReplies(t, ticketB, "later reply", false)

	failures := func() int {
		h.poller.mu.Lock()
		defer h.poller.mu.Unlock()
		return h.poller.txnFailures[stuck].polls
	}
	sink := &conformance.RecordingSink{}
	// Generous: a poll here is four or five requests to RT, which the rest of the suite
	// running beside it can slow to seconds each. The loop ends as soon as the count is in.
	deadline := time.Now().Add(90 * time.Second)
	for failures() < txnAttempts && time.Now().Before(deadline) {
		if err := h.pollOnce(t.Context(), sink); err != nil {
			require.ErrorContains(t, err, "403")
			require.NotErrorIs(t, err, errRefused, "a sub-resource's 403 is no refused token")
		}
		time.Sleep(h.cfg.PollInterval)
	}
	require.Equal(t, txnAttempts, failures(), "failed polls within the patience")
	require.Empty(t, sink.Where(func(m normalize.Message) bool { return m.Ticket == ticketA || m.Ticket == ticketB }),
		"later transactions wait while the failing one is within its budget")
	h.poller.mu.Lock()
	require.Less(t, h.poller.cursor, stuck)
	h.poller.mu.Unlock()

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx, sink) }()
	require.Eventually(t, func() bool {
		return len(sink.Where(func(m normalize.Message) bool { return m.Ticket == ticketB })) == 1
	},
		60*time.Second, 50*time.Millisecond, "the next reply is delivered after the budget")
	select {
	case err := <-done:
		t.Fatalf("Run stopped: %v", err)
	default:
	}
	cancel()
	require.NoError(t, <-done)
	require.Empty(t, sink.Where(func(m normalize.Message) bool { return m.Ticket == ticketA }))
	require.Contains(t, logs.String(), fmt.Sprintf("level=ERROR msg=\"rt: a transaction kept failing; passed over, its reply or change is lost and does not reach the player\" helpdesk=rt-test ticket=%s txn=%d", ticketA, stuck))
	h.poller.mu.Lock()
	require.Empty(t, h.poller.txnFailures)
	h.poller.mu.Unlock()
}

// RT refusing the token on the transactions search does not stop Run: the helpdesk reports
// itself unhealthy with the reason, polls on, and reports itself healthy once RT answers.
func TestRunReportsRefusedSearch(t *testing.T) {
	var refuse atomic.Bool
	refuse.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if refuse.Load() {
			http.Error(w, `{"message":"Unauthorized"}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"items":[],"count":0,"page":1,"per_page":20,"total":0}`)
	}))
	t.Cleanup(srv.Close)
	h, err := New("rt-x", Config{URL: srv.URL, Token: "t", Queue: "q", GatewayUser: "gw", PollInterval: time.Millisecond}, Deps{})
	require.NoError(t, err)
	sink := &healthSink{}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx, sink) }()
	require.Eventually(t, func() bool { return sink.problem() != nil }, 5*time.Second, time.Millisecond)
	require.ErrorIs(t, sink.problem(), errRefused)
	require.ErrorIs(t, sink.problem(), connectors.ErrUnauthorized)
	require.ErrorContains(t, sink.problem(), "401")

	refuse.Store(false)
	require.Eventually(t, func() bool { return sink.problem() == nil }, 5*time.Second, time.Millisecond,
		"RT answering again makes the helpdesk healthy, without a restart")
	cancel()
	require.NoError(t, <-done)
}

// healthSink records the health the helpdesk reports (connectors.HealthSink).
type healthSink struct {
	conformance.RecordingSink
	mu   sync.Mutex
	last error
}

func (s *healthSink) ReportHealth(_ normalize.InstanceName, problem error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.last = problem
}

func (s *healthSink) problem() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// A correspondence by someone who is not staff in RT (a Cc'd payment provider, the real RT's
// unprivileged user "outsider") does not reach the player as support's answer; the agent's
// reply after it does.
func TestPollPassesOverCorrespondenceByNonStaff(t *testing.T) {
	h, logs, ticket := peerTicket(t, nil, "where is my withdrawal?")
	env := rtPeer(t)
	outsider := &client{base: env["RT_REST2_URL"], token: env["RT_OUTSIDER_TOKEN"], http: &http.Client{Timeout: 30 * time.Second}}
	require.NoError(t, outsider.correspond(t.Context(), mustInt(t, ticket),
		map[string]any{"Content": "internal: payout 4111 held for review", "ContentType": "text/plain"}))
	agentReplies(t, ticket, "Your withdrawal is on its way.", false)

	sink := &conformance.RecordingSink{}
	got := pollUntil(t, h, sink, func(m normalize.Message) bool { return m.Ticket == ticket }, 1)
	require.Len(t, got, 1)
	require.Equal(t, "Your withdrawal is on its way.", got[0].Text)
	require.Contains(t, logs.String(), "not staff")
	require.True(t, warned(logs.String(), ticket), "logs: %s", logs.String())
}

// isStaff asks RT once per user; when RT will not say, the user counts as staff (and that is
// remembered too), while RT failing for now fails the transaction, to be asked again.
func TestIsStaff(t *testing.T) {
	for _, tc := range []struct {
		name     string
		status   int
		body     string
		staff    bool
		fails    bool
		requests int32 // after two look-ups
	}{
		{"privileged", http.StatusOK, `{"Name":"agent","Privileged":1}`, true, false, 1},
		{"unprivileged", http.StatusOK, `{"Name":"x@payments.example","Privileged":0,"RealName":null}`, false, false, 1},
		{"refused", http.StatusForbidden, `{"message":"Forbidden"}`, true, false, 1},
		{"not visible", http.StatusNotFound, `{"message":"NotFound"}`, true, false, 1},
		{"RT failing", http.StatusInternalServerError, `{}`, false, true, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var requests atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				requests.Add(1)
				require.Equal(t, "/user/x@payments.example", r.URL.Path)
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			}))
			t.Cleanup(srv.Close)
			h := &Helpdesk{name: "rt-x", rt: &client{base: srv.URL, http: srv.Client()}, log: discardLog()}
			for range 2 {
				staff, err := h.isStaff(t.Context(), "x@payments.example")
				require.Equal(t, tc.fails, err != nil, "err = %v", err)
				require.Equal(t, tc.staff, staff)
			}
			require.Equal(t, tc.requests, requests.Load())
		})
	}
}
