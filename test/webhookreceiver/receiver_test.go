package webhookreceiver_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors/helpdesk/webhook"
	"github.com/casino-support/gateway/test/webhookreceiver"
)

const secret = "receiver-test-secret-0123"

func newReceiver(t *testing.T) (*webhookreceiver.Receiver, *httptest.Server) {
	t.Helper()
	c, err := webhookreceiver.LoadContract(context.Background(), webhookreceiver.DocPath())
	require.NoError(t, err, "LoadContract()")
	rc := webhookreceiver.New(c, secret, time.Minute)
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	return rc, srv
}

const opened = `{"event":"conversation.opened","id":"open-c1","created_at":"2026-11-22T10:00:00Z",` +
	`"conversation":{"id":"c1","channel":"tg","channel_kind":"telegram","status":"open","tags":[],"player":{"vip_tier":0},"sla":{"state":"none"}}}`

// updated is a conversation.updated of c1 after it was opened as T-1: the player turned out
// to be a VIP while waiting for an answer, and Anna has the ticket.
const updated = `{"event":"conversation.updated","id":"m-upd-1","created_at":"2026-11-22T10:05:00Z",` +
	`"conversation":{"id":"c1","ticket":"T-1","channel":"tg","channel_kind":"telegram","status":"open","priority":"high","tags":["vip"],` +
	`"player":{"player_id":"P-1","vip_tier":2},"sla":{"state":"waiting","awaiting_since":"2026-11-22T10:00:00Z","due_at":"2026-11-22T10:15:00Z"},` +
	`"assignee":{"id":"a-7","name":"Anna"}},` +
	`"update":{"changed":["player_id","vip_tier","priority"],"player_id":"P-1","vip_tier":2,"priority":"high",` +
	`"sla":{"state":"waiting","awaiting_since":"2026-11-22T10:00:00Z","due_at":"2026-11-22T10:15:00Z"}}}`

func send(t *testing.T, url, event, key, body string, sign bool) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(webhook.HeaderEvent, event)
	req.Header.Set(webhook.HeaderIdempotencyKey, key)
	now := time.Now()
	req.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	if sign {
		req.Header.Set(webhook.HeaderSignature, webhook.Sign([]byte(secret), now, []byte(body)))
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

func TestReceiverDeduplicatesOnIdempotencyKey(t *testing.T) {
	rc, srv := newReceiver(t)
	for range 2 {
		status, body := send(t, srv.URL, "conversation.opened", "open-c1", opened, true)
		require.Equal(t, http.StatusOK, status, body)
		require.JSONEq(t, `{"ticket":"T-1"}`, body)
	}
	require.Len(t, rc.Events(), 1)
	require.Equal(t, 2, rc.Requests())
	require.Equal(t, 1, rc.Repeats(), "the second request repeated an answered key")
	require.Empty(t, rc.Errors())
}

// Without a contract (load runs) the receiver still verifies signatures, deduplicates and
// records when each event first arrived.
func TestReceiverWithoutContract(t *testing.T) {
	rc := webhookreceiver.New(nil, secret, time.Minute)
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	before := time.Now()
	status, body := send(t, srv.URL, "conversation.opened", "open-c1", opened, true)
	require.Equal(t, http.StatusOK, status, body)
	first := rc.Events()[0].At
	require.False(t, first.Before(before), "At is when the request arrived")
	status, _ = send(t, srv.URL, "conversation.opened", "open-c1", opened, true)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, first, rc.Events()[0].At, "a repeat keeps the first arrival")
	require.Equal(t, 1, rc.Repeats())
	require.Len(t, rc.EventsSince(0), 1)
	require.Empty(t, rc.EventsSince(1), "nothing after the first")

	status, _ = send(t, srv.URL, "conversation.opened", "open-c2", strings.Replace(opened, "open-c1", "open-c2", 1), false)
	require.Equal(t, http.StatusUnauthorized, status, "an unsigned request is still refused")
	require.Len(t, rc.Events(), 1)
	require.Len(t, rc.Errors(), 1)
}

func TestReceiverAcceptsUpdates(t *testing.T) {
	rc, srv := newReceiver(t)
	status, body := send(t, srv.URL, "conversation.opened", "open-c1", opened, true)
	require.Equal(t, http.StatusOK, status, body)
	for range 2 {
		status, body = send(t, srv.URL, "conversation.updated", "m-upd-1", updated, true)
		require.Equal(t, http.StatusOK, status, body)
		require.JSONEq(t, `{"id":"ext-m-upd-1"}`, body)
	}
	require.Equal(t, map[string][]string{"c1": {"m-upd-1"}}, rc.Updates())
	require.Empty(t, rc.Messages()["c1"], "an update is not a message")
	ev := rc.Events()[1].Event
	require.Equal(t, []string{"player_id", "vip_tier", "priority"}, ev.Update.Changed)
	require.Equal(t, &webhook.Agent{ID: "a-7", Name: "Anna"}, ev.Conversation.Assignee)
	require.Equal(t, "waiting", ev.Conversation.SLA.State)
	require.Empty(t, rc.Errors())
}

// The receiver must catch what a careless gateway would send, or its approval means nothing.
func TestReceiverRefusesWhatBreaksTheContract(t *testing.T) {
	tests := []struct{ name, event, key, body string }{
		{"unknown field", "conversation.opened", "open-c1", strings.Replace(opened, `"id":"c1"`, `"id":"c1","secret":"x"`, 1)},
		{"missing conversation", "conversation.opened", "open-c1", `{"event":"conversation.opened","id":"open-c1","created_at":"2026-11-22T10:00:00Z"}`},
		{"wrong channel kind", "conversation.opened", "open-c1", strings.Replace(opened, `"telegram"`, `"pigeon"`, 1)},
		{"no status", "conversation.opened", "open-c1", strings.Replace(opened, `"status":"open",`, ``, 1)},
		{"no sla", "conversation.opened", "open-c1", strings.Replace(opened, `,"sla":{"state":"none"}`, ``, 1)},
		{"key differs from id", "conversation.opened", "open-c2", opened},
		{"unknown event header", "ticket.exploded", "open-c1", opened},
		{"update without update", "conversation.updated", "m-upd-1", updated[:strings.Index(updated, `,"update"`)] + `}`},
		{"update of an unknown field", "conversation.updated", "m-upd-1", strings.Replace(updated, `["player_id",`, `["mood",`, 1)},
		{"update without sla state", "conversation.updated", "m-upd-1", strings.Replace(updated, `"sla":{"state":"waiting",`, `"sla":{`, 1)},
		{"assignee with unknown field", "conversation.updated", "m-upd-1", strings.Replace(updated, `"name":"Anna"`, `"name":"Anna","mail":"a@x"`, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc, srv := newReceiver(t)
			status, _ := send(t, srv.URL, tt.event, tt.key, tt.body, true)
			require.Equal(t, http.StatusBadRequest, status)
			require.NotEmpty(t, rc.Errors())
			require.Empty(t, rc.Events())
		})
	}
	t.Run("unsigned", func(t *testing.T) {
		rc, srv := newReceiver(t)
		status, _ := send(t, srv.URL, "conversation.opened", "open-c1", opened, false)
		require.Equal(t, http.StatusUnauthorized, status)
		require.Empty(t, rc.Events())
	})
}

func TestReceiverFaults(t *testing.T) {
	rc, srv := newReceiver(t)
	rc.Inject(webhookreceiver.Fault{Status: 503}, webhookreceiver.Fault{Status: 429, RetryAfter: "3"})
	status, _ := send(t, srv.URL, "conversation.opened", "open-c1", opened, true)
	require.Equal(t, http.StatusServiceUnavailable, status)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL, strings.NewReader("{}"))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	require.Equal(t, "3", resp.Header.Get("Retry-After"))
	status, _ = send(t, srv.URL, "conversation.opened", "open-c1", opened, true)
	require.Equal(t, http.StatusOK, status, "faults are used up")
	require.Empty(t, rc.Errors())
}

// A lost answer leaves the event stored: the client sees the connection drop, and its retry
// is a repeat answered as the first request would have been.
func TestReceiverLosesAnAnswerAfterStoring(t *testing.T) {
	rc, srv := newReceiver(t)
	rc.Inject(webhookreceiver.Fault{LoseAnswer: true})
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL, strings.NewReader(opened))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(webhook.HeaderEvent, "conversation.opened")
	req.Header.Set(webhook.HeaderIdempotencyKey, "open-c1")
	now := time.Now()
	req.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(webhook.HeaderSignature, webhook.Sign([]byte(secret), now, []byte(opened)))
	_, err = http.DefaultClient.Do(req)
	require.Error(t, err, "the answer is lost")
	require.Len(t, rc.Events(), 1, "the event was stored before the answer was lost")
	status, body := send(t, srv.URL, "conversation.opened", "open-c1", opened, true)
	require.Equal(t, http.StatusOK, status, body)
	require.JSONEq(t, `{"ticket":"T-1"}`, body)
	require.Len(t, rc.Events(), 1)
	require.Equal(t, 1, rc.Repeats())
	require.Empty(t, rc.Errors())
}

// TestContractIsValid loads docs/webhook-openapi.yaml; the loader also checks every example
// in it against its schema, so the published examples cannot drift from the schemas.
func TestContractIsValid(t *testing.T) {
	c, err := webhookreceiver.LoadContract(context.Background(), webhookreceiver.DocPath())
	require.NoError(t, err)
	for _, p := range []string{webhookreceiver.OperatorPath, "/hooks/{instance}", "/api/v1/helpdesks/{instance}/events",
		"/api/v1/helpdesks/{instance}/replies", "/hooks/{instance}/attachments/{sha256}"} {
		require.NotNil(t, c.Doc().Paths.Value(p), "contract lacks %s", p)
	}
}

// message is a message.created of c1 on T-1 with id.
func message(id string) string {
	return `{"event":"message.created","id":"` + id + `","created_at":"2026-11-22T10:06:00Z",` +
		`"conversation":{"id":"c1","ticket":"T-1","channel":"tg","channel_kind":"telegram","status":"open","tags":[],"player":{"vip_tier":0},"sla":{"state":"none"}},` +
		`"message":{"id":"` + id + `","kind":"text","text":"hi","author":{"role":"player"},"sent_at":"2026-11-22T10:06:00Z","received_at":"2026-11-22T10:06:00Z","attachments":[]}}`
}

func batch(id string, events ...string) string {
	return `{"event":"events.batch","id":"` + id + `","created_at":"2026-11-22T10:06:00Z","events":[` + strings.Join(events, ",") + `]}`
}

// A batch's events are deduplicated and recorded each on its own, exactly like single events,
// and answered in order; a repeat of the batch repeats each event.
func TestReceiverAcceptsBatches(t *testing.T) {
	rc, srv := newReceiver(t)
	status, body := send(t, srv.URL, "conversation.opened", "open-c1", opened, true)
	require.Equal(t, http.StatusOK, status, body)
	status, body = send(t, srv.URL, "message.created", "m-1", message("m-1"), true)
	require.Equal(t, http.StatusOK, status, body)

	b := batch("batch-1", message("m-1"), updated, message("m-2"))
	for range 2 {
		status, body = send(t, srv.URL, "events.batch", "batch-1", b, true)
		require.Equal(t, http.StatusOK, status, body)
		require.JSONEq(t, `{"results":[{"id":"ext-m-1"},{"id":"ext-m-upd-1"},{"id":"ext-m-2"}]}`, body)
	}
	require.Equal(t, map[string][]string{"c1": {"m-1", "m-2"}}, rc.Messages())
	require.Equal(t, map[string][]string{"c1": {"m-upd-1"}}, rc.Updates())
	require.Equal(t, 1+3, rc.Repeats(), "m-1 once in the first batch, all three in the second")
	evs := rc.Events()
	require.Len(t, evs, 4)
	require.Equal(t, []string{"", "", "batch-1", "batch-1"}, []string{evs[0].Batch, evs[1].Batch, evs[2].Batch, evs[3].Batch})
	require.Equal(t, "m-upd-1", evs[2].Key)
	require.Empty(t, rc.Errors())
}

// An operator that stops half-way answers the results of the prefix it stored.
func TestReceiverShortensBatches(t *testing.T) {
	rc, srv := newReceiver(t)
	status, body := send(t, srv.URL, "conversation.opened", "open-c1", opened, true)
	require.Equal(t, http.StatusOK, status, body)
	rc.ShortenBatches(1)
	status, body = send(t, srv.URL, "events.batch", "batch-1", batch("batch-1", message("m-1"), message("m-2")), true)
	require.Equal(t, http.StatusOK, status, body)
	require.JSONEq(t, `{"results":[{"id":"ext-m-1"}]}`, body)
	status, body = send(t, srv.URL, "events.batch", "batch-2", batch("batch-2", message("m-1"), message("m-2")), true)
	require.Equal(t, http.StatusOK, status, body)
	require.JSONEq(t, `{"results":[{"id":"ext-m-1"},{"id":"ext-m-2"}]}`, body)
	require.Equal(t, map[string][]string{"c1": {"m-1", "m-2"}}, rc.Messages())
	require.Empty(t, rc.Errors())
}

func TestReceiverRefusesBadBatches(t *testing.T) {
	tests := []struct{ name, key, body string }{
		{"opened inside", "batch-1", batch("batch-1", opened, message("m-1"))},
		{"one event", "batch-1", batch("batch-1", message("m-1"))},
		{"key differs from id", "batch-2", batch("batch-1", message("m-1"), message("m-2"))},
		{"inner event breaks the contract", "batch-1", batch("batch-1", message("m-1"), strings.Replace(message("m-2"), `"kind":"text",`, ``, 1))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc, srv := newReceiver(t)
			status, _ := send(t, srv.URL, "events.batch", tt.key, tt.body, true)
			require.Equal(t, http.StatusBadRequest, status)
			require.NotEmpty(t, rc.Errors())
			require.Empty(t, rc.Events())
		})
	}
}
