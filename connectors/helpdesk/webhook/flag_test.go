package webhook_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
)

func TestComplexFlagIsStored(t *testing.T) {
	e := newEnv(t, nil)
	sink := e.run(t)
	event := `{"event":"conversation.flagged","event_id":"flg-1","ticket":"T-1","flag":"complex","agent":{"name":"Alice"}}`
	for range 2 { // a retried event keeps its dedup key
		status, body := e.hook(t, testSecret, time.Now(), event)
		require.Equal(t, http.StatusOK, status, body)
	}
	msgs := sink.Messages()
	require.Len(t, msgs, 2)
	for _, m := range msgs {
		require.Equal(t, normalize.KindSystem, m.Kind)
		require.True(t, m.Complex)
		require.Equal(t, normalize.Outbound, m.Direction)
		require.Equal(t, normalize.Ref("T-1"), m.Ticket)
		require.Equal(t, normalize.ExternalID("flag-flg-1"), m.ExternalID, "the store deduplicates on it")
	}

	for name, bad := range map[string]string{
		"no event_id":             `{"event":"conversation.flagged","ticket":"T-1","flag":"complex"}`,
		"unknown flag":            `{"event":"conversation.flagged","event_id":"flg-2","ticket":"T-1","flag":"urgent"}`,
		"no flag":                 `{"event":"conversation.flagged","event_id":"flg-3","ticket":"T-1"}`,
		"foreign":                 `{"event":"conversation.flagged","event_id":"flg-4","ticket":"T-1","flag":"complex","status":"closed"}`,
		"flag on a status change": `{"event":"conversation.status_changed","event_id":"chg-9","ticket":"T-1","status":"closed","flag":"complex"}`,
	} {
		e.malformed = func(*http.Request) bool { return true } // these violate the contract on purpose
		status, body := e.hook(t, testSecret, time.Now(), bad)
		require.Equal(t, http.StatusBadRequest, status, "%s: %s", name, body)
	}
	require.Len(t, sink.Messages(), 2, "nothing stored for refused events")
}
