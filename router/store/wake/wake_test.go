package wake_test

import (
	"database/sql"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to end the listener's connection
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/router/store/pgtest"
	"github.com/casino-support/gateway/router/store/wake"
)

// TestNoticeReachesTheOtherReplica: two buses on one schema, as two replicas have them; what
// one publishes wakes a waiter on the other, on its topic only.
func TestNoticeReachesTheOtherReplica(t *testing.T) {
	dsn := pgtest.DSN(t)
	a, err := wake.Open(t.Context(), dsn, nil)
	require.NoError(t, err)
	defer a.Close()
	b, err := wake.Open(t.Context(), dsn, nil)
	require.NoError(t, err)
	defer b.Close()

	replies, stop := a.Subscribe("webchat/chat")
	defer stop()
	other, stopOther := a.Subscribe("inbox/desk")
	defer stopOther()

	require.NoError(t, b.Publish(t.Context(), "webchat/chat", `{"addr":"p1","text":"hello"}`))
	select {
	case got := <-replies:
		require.Equal(t, `{"addr":"p1","text":"hello"}`, got)
	case <-time.After(10 * time.Second):
		t.Fatal("the waiter on the other replica was not woken")
	}
	select {
	case got := <-other:
		t.Fatalf("another topic heard %q", got)
	case <-time.After(200 * time.Millisecond):
	}
	require.ErrorIs(t, b.Publish(t.Context(), "webchat/chat", strings.Repeat("x", wake.MaxPayload)), wake.ErrTooLarge)
}

// TestSchemasDoNotHearEachOther: gateways in two schemas of one database stay apart.
func TestSchemasDoNotHearEachOther(t *testing.T) {
	a, err := wake.Open(t.Context(), pgtest.DSN(t), nil)
	require.NoError(t, err)
	defer a.Close()
	b, err := wake.Open(t.Context(), pgtest.DSN(t), nil)
	require.NoError(t, err)
	defer b.Close()
	heard, stop := a.Subscribe("t")
	defer stop()
	require.NoError(t, b.Publish(t.Context(), "t", "x"))
	select {
	case got := <-heard:
		t.Fatalf("heard %q from another schema", got)
	case <-time.After(300 * time.Millisecond):
	}
}

// TestReconnectWakesSubscribers: when the listener's connection is cut, notices sent
// meanwhile are lost, so once it is back every subscriber hears an empty payload (catch up
// from the store), and notices flow again.
func TestReconnectWakesSubscribers(t *testing.T) {
	dsn := pgtest.DSN(t)
	a, err := wake.Open(t.Context(), dsn, nil)
	require.NoError(t, err)
	defer a.Close()
	heard, stop := a.Subscribe("t")
	defer stop()

	db, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	defer db.Close()
	var cut int
	require.NoError(t, db.QueryRowContext(t.Context(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE query LIKE 'LISTEN %' || $1 || '%' AND pid <> pg_backend_pid()`, a.Channel()).Scan(&cut))
	require.Equal(t, 1, cut, "the listener's connection")

	select {
	case got := <-heard:
		require.Empty(t, got, "the first thing heard after a reconnect is the resync")
	case <-time.After(15 * time.Second):
		t.Fatal("no resync after the listener reconnected")
	}
	require.NoError(t, a.Publish(t.Context(), "t", "again"))
	select {
	case got := <-heard:
		require.Equal(t, "again", got)
	case <-time.After(10 * time.Second):
		t.Fatal("notices do not flow after the reconnect")
	}
	require.Error(t, a.Publish(t.Context(), "t", ""), "an empty payload means resync; nobody publishes it")
}
