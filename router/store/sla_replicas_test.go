package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/store"
	"github.com/casino-support/gateway/router/store/pgtest"
)

// TestSLABreachesMarkedOnceByReplicas: replicas marking SLA breaches at once on one
// PostgreSQL database report each breach once between them, and enqueue one Update each.
func TestSLABreachesMarkedOnceByReplicas(t *testing.T) {
	const convs, replicas = 40, 3
	dsn := pgtest.DSN(t)
	now := time.Now()
	clock := func() time.Time { return now }
	var stores []*store.Store
	for range replicas {
		st, err := store.OpenPostgres(t.Context(), dsn, store.Options{Now: clock})
		require.NoError(t, err)
		t.Cleanup(func() { st.Close() })
		stores = append(stores, st)
	}
	due := func(normalize.Message) store.Assessment {
		return store.Assessment{Helpdesk: "desk", FirstResponse: time.Minute}
	}
	for i := range convs {
		_, err := stores[0].Intake(t.Context(), []normalize.Message{inbound(fmt.Sprintf("p%d", i), fmt.Sprintf("m%d", i))}, due)
		require.NoError(t, err)
	}
	now = now.Add(2 * time.Minute) // every clock ran out; no store runs meanwhile

	seen := markConcurrently(t, stores, func(st *store.Store) ([]normalize.Conversation, error) {
		return st.MarkSLABreaches(t.Context(), 3)
	})
	require.Len(t, seen, convs, "every breach is reported")
	for id, n := range seen {
		require.Equal(t, 1, n, "conversation %s reported breached %d times", id, n)
	}
	for id := range seen {
		msgs, err := stores[0].Messages(t.Context(), id, 0, 100)
		require.NoError(t, err)
		updates := 0
		for _, m := range msgs {
			if m.Message.Update != nil {
				updates++
			}
		}
		require.Equal(t, 1, updates, "conversation %s: one breach Update for its helpdesk", id)
	}
}
