package rt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
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

// memCursors is an in-memory connectors.Cursors.
type memCursors struct {
	mu sync.Mutex
	m  map[string]string
}

func (c *memCursors) Cursor(_ context.Context, instance normalize.InstanceName, key string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[string(instance)+"/"+key], nil
}

func (c *memCursors) SetCursor(_ context.Context, instance normalize.InstanceName, key, value string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]string{}
	}
	c.m[string(instance)+"/"+key] = value
	return nil
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
			c := &memCursors{}
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
	require.Eventually(t, func() bool { return len(sink.Where(onThis)) == 1 }, 20*time.Second, 50*time.Millisecond)
	t.Logf("assignment reached the sink after %s (poll %s, hold %s)", time.Since(start), h.cfg.PollInterval, h.cfg.SettleDelay+time.Second)
	require.NoError(t, agent.updateTicket(t.Context(), n, map[string]any{"Owner": "Nobody"}))
	require.NoError(t, h.rt.updateTicket(t.Context(), n, map[string]any{"Owner": "agent"})) // RT lets the gateway give away unowned tickets
	require.NoError(t, agent.updateTicket(t.Context(), n, map[string]any{"Owner": "Nobody"}))
	require.Eventually(t, func() bool { return len(sink.Where(onThis)) >= 3 }, 20*time.Second, 50*time.Millisecond)
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
