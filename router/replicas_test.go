package router_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router"
	"github.com/casino-support/gateway/router/store"
	"github.com/casino-support/gateway/router/store/pgtest"
)

// replicaStores opens the stores of two replicas of one database, by dialect. On PostgreSQL
// each replica has its own store (its own connections and committers), as two processes
// would; on SQLite, whose database one process serves, they share one store.
var replicaStores = map[string]func(t *testing.T, now func() time.Time) (a, b *store.Store){
	"sqlite": func(t *testing.T, now func() time.Time) (a, b *store.Store) {
		st, err := store.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "gw.db"), store.Options{Now: now})
		require.NoError(t, err)
		t.Cleanup(func() { st.Close() })
		return st, st
	},
	"postgres": func(t *testing.T, now func() time.Time) (a, b *store.Store) {
		dsn := pgtest.DSN(t)
		for _, st := range []**store.Store{&a, &b} {
			var err error
			*st, err = store.OpenPostgres(t.Context(), dsn, store.Options{Now: now})
			require.NoError(t, err)
			t.Cleanup(func() { (*st).Close() })
		}
		return a, b
	},
}

// TestTwoReplicasDeliverInOrderWithOneTicket: two routers share one database, take messages
// of the same conversations at the same time and deliver them together; each conversation
// still reaches the helpdesk once per message, in arrival order, on one ticket.
func TestTwoReplicasDeliverInOrderWithOneTicket(t *testing.T) {
	for name, open := range replicaStores {
		t.Run(name, func(t *testing.T) {
			const convs, per = 12, 20
			stA, stB := open(t, time.Now)
			hd := &memHelpdesk{tickets: map[normalize.ConversationID][]normalize.MessageID{}}
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			opts := router.Options{Workers: 4, BatchSize: 5, PollInterval: 20 * time.Millisecond}
			var replicas []*router.Router
			for _, st := range []*store.Store{stA, stB} {
				replicas = append(replicas, router.New(st, nil, map[normalize.InstanceName]connectors.Helpdesk{"desk": hd},
					router.Rules{Default: "desk"}, opts, prometheus.NewRegistry(), log))
			}
			ctx, cancel := context.WithCancel(t.Context())
			var running sync.WaitGroup
			t.Cleanup(func() { cancel(); running.Wait() })
			for _, r := range replicas {
				running.Go(func() { r.Run(ctx) })
			}

			// Each conversation's messages arrive in order, alternately at either replica,
			// as behind a load balancer; the conversations arrive at the same time.
			var senders sync.WaitGroup
			for c := range convs {
				senders.Go(func() {
					for i := range per {
						require.NoError(t, replicas[i%2].Deliver(ctx, inbound(fmt.Sprintf("p%d", c), i)))
					}
				})
			}
			senders.Wait()
			require.Eventually(t, func() bool {
				hd.mu.Lock()
				defer hd.mu.Unlock()
				n := 0
				for _, ids := range hd.tickets {
					n += len(ids)
				}
				return n >= convs*per
			}, 60*time.Second, 10*time.Millisecond, "every message delivered")
			cancel()
			running.Wait()

			hd.mu.Lock()
			defer hd.mu.Unlock()
			require.Equal(t, convs, hd.created, "one ticket per conversation")
			for conv, ids := range hd.tickets {
				msgs, err := stA.Messages(t.Context(), conv, 0, 1000)
				require.NoError(t, err)
				require.Len(t, msgs, per)
				want := make([]normalize.MessageID, len(msgs))
				for i, m := range msgs {
					want[i] = m.Message.ID
				}
				require.Equal(t, want, ids, "each message once, in arrival order, in %s", conv)
			}
		})
	}
}
