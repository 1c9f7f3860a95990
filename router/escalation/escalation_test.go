package escalation_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/router/escalation"
	"github.com/casino-support/gateway/router/store"
	"github.com/casino-support/gateway/test/escalationfake"
)

const secret = "escalation-secret-0123456789"

func setup(t *testing.T) (*escalation.Queue, *escalationfake.Receiver, context.Context) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "gw.db"), store.Options{})
	require.NoError(t, err)
	rc := escalationfake.New(secret)
	srv := httptest.NewServer(rc)
	q := escalation.New(st, srv.URL, []byte(secret), escalation.Options{Poll: 20 * time.Millisecond, BackoffBase: 20 * time.Millisecond,
		BackoffMax: 100 * time.Millisecond}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	done := make(chan struct{})
	go func() { q.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; srv.Close(); st.Close() })
	return q, rc, ctx
}

func TestDeliveredOnceSignedAndRetriedAfter5xx(t *testing.T) {
	q, rc, ctx := setup(t)
	rc.FailNext(http.StatusInternalServerError, http.StatusBadGateway)
	e := escalation.Escalation{Key: "duty_of_care-m1", Reason: escalation.ReasonDutyOfCare, Conversation: "c1", Channel: "tg",
		Player: escalation.Player{PlayerID: "P-1", Address: "7100"}, Priority: "urgent", PhraseID: "ru.self-exclusion.1", ListVersion: "v1"}
	require.NoError(t, q.Enqueue(ctx, e))
	require.Eventually(t, func() bool { return len(rc.Taken()) == 1 }, 20*time.Second, 10*time.Millisecond)
	got := rc.Taken()[0]
	require.Equal(t, e.Key, got.Key)
	require.Equal(t, "ru.self-exclusion.1", got.PhraseID)
	require.Equal(t, "v1", got.ListVersion)
	require.Equal(t, "P-1", got.Player.PlayerID)
	require.Equal(t, 3, rc.Requests(), "two 5xx, then taken")
	require.Empty(t, rc.Errors())

	// Queued again (a redelivered message): already sent, not sent again.
	require.NoError(t, q.Enqueue(ctx, e))
	require.NoError(t, q.Enqueue(ctx, escalation.Escalation{Key: "sla_breach-c1-1", Reason: escalation.ReasonSLABreach, Conversation: "c1"}))
	require.Eventually(t, func() bool { return len(rc.Taken()) == 2 }, 20*time.Second, 10*time.Millisecond)
	time.Sleep(100 * time.Millisecond)
	require.Equal(t, 4, rc.Requests())
}

func TestRefusedIsNotRetried(t *testing.T) {
	q, rc, ctx := setup(t)
	rc.FailNext(http.StatusBadRequest)
	require.NoError(t, q.Enqueue(ctx, escalation.Escalation{Key: "k", Reason: escalation.ReasonComplex}))
	require.Eventually(t, func() bool { return rc.Requests() == 1 }, 20*time.Second, 10*time.Millisecond)
	time.Sleep(200 * time.Millisecond)
	require.Equal(t, 1, rc.Requests())
	require.Empty(t, rc.Taken())
}
