package wake_test

import (
	"strings"
	"testing"
	"time"

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
