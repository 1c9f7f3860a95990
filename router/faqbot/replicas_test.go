package faqbot

import (
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/store"
	"github.com/casino-support/gateway/router/store/pgtest"
)

// Two replicas on one PostgreSQL store each take a message of the same conversation at the
// same moment (a web chat whose requests reach both): their steps take turns on the
// conversation's lease, so the second reads the state the first saved. Two unanswerable
// messages are then two turns in a row, which hand off; without the lease both would read
// the state before either saved it, ask twice to rephrase and lose a turn.
func TestTwoReplicasTakeOneConversationInTurn(t *testing.T) {
	dsn := pgtest.DSN(t)
	replica := func() (*store.Store, *Engine) {
		st, err := store.OpenPostgres(t.Context(), dsn, store.Options{})
		require.NoError(t, err)
		t.Cleanup(func() { st.Close() })
		b, err := New(Config{Name: "faq", Knowledge: exampleKnowledge(t), Quiet: time.Hour})
		require.NoError(t, err)
		return st, NewEngine(st, []*Bot{b}, Options{}, prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
	}
	stores, engines := [2]*store.Store{}, [2]*Engine{}
	for i := range 2 {
		stores[i], engines[i] = replica()
	}
	hold := func(normalize.Message) store.Assessment { return store.Assessment{Helpdesk: "desk", Hold: "faq"} }
	for c := range 6 {
		addr := normalize.Address(fmt.Sprintf("visitor-%d", c))
		var wg sync.WaitGroup
		errs := [2]error{}
		for r := range 2 {
			wg.Go(func() {
				m := normalize.Message{Direction: normalize.Inbound, Source: "web", Channel: "web", ChannelKind: normalize.KindWebchat, Address: addr,
					ExternalID: normalize.ExternalID(fmt.Sprintf("%s-%d", addr, r)), Author: normalize.Author{Role: normalize.RolePlayer, Language: "en"},
					Kind: normalize.KindText, Text: fmt.Sprintf("qwxz plugh %d", r)}
				acc, err := stores[r].Intake(t.Context(), []normalize.Message{m}, hold)
				if err == nil {
					err = engines[r].Take(t.Context(), []normalize.Message{m}, acc)
				}
				errs[r] = err
			})
		}
		wg.Wait()
		require.NoError(t, errs[0])
		require.NoError(t, errs[1])
		conv, err := stores[0].ConversationAt(t.Context(), "web", addr)
		require.NoError(t, err)
		s, err := engines[1].state(t.Context(), conv.ID)
		require.NoError(t, err)
		require.Len(t, s.Taken, 2, "both messages taken, neither lost")
		require.Equal(t, StatusHandedOff, s.Status, "two unanswered turns in a row hand off")
		require.Equal(t, ReasonUnanswered, s.Reason)
		bot, err := stores[0].HeldBy(t.Context(), conv.ID)
		require.NoError(t, err)
		require.Empty(t, bot)
		leases, err := stores[0].ListRecords(t.Context(), RecordInstance, leasePrefix, "", 10)
		require.NoError(t, err)
		require.Empty(t, leases, "the leases are given up")
	}
}
