package loopback_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/test/conformance"
	"github.com/casino-support/gateway/test/loopback"
)

// hookUnderTest is one of the two loopback hooks with a request body it accepts.
type hookUnderTest struct {
	name  string
	new   func(t *testing.T) (http.Handler, func(context.Context, connectors.Sink) error)
	valid string
}

var hooks = []hookUnderTest{
	{
		name: "channel",
		new: func(t *testing.T) (http.Handler, func(context.Context, connectors.Sink) error) {
			env := newChannelEnv(t)
			return env.ch, env.ch.Run
		},
		valid: `{"messages":[{"id":"ext-1","address":"player-7","text":"hi"}]}`,
	},
	{
		name: "helpdesk",
		new: func(t *testing.T) (http.Handler, func(context.Context, connectors.Sink) error) {
			env := newHelpdeskEnv(t)
			return env.hd, env.hd.Run
		},
		valid: `{"reply_id":"r-1","ticket":"T-1","text":"hello","agent":"Bob"}`,
	},
}

// running serves h with Run started on a recording sink, and waits until the hook is live.
func running(t *testing.T, hook hookUnderTest) (*httptest.Server, *conformance.RecordingSink) {
	t.Helper()
	h, run := hook.new(t)
	sink := &conformance.RecordingSink{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, sink) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done, "Run()")
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	// Probe until Run has stored the sink; the failing sink keeps the probes from being recorded.
	sink.Fail(errors.New("probe"))
	require.Eventually(t, func() bool {
		return !strings.Contains(do(t, srv, http.MethodPost, secret, hook.valid).body, "not running yet")
	}, 5*time.Second, 5*time.Millisecond)
	sink.Fail(nil)
	return srv, sink
}

type response struct {
	*http.Response
	body string
}

func do(t *testing.T, srv *httptest.Server, method, token, body string) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+"/hooks/x", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return response{resp, string(b)}
}

func TestHookRefusals(t *testing.T) {
	huge := `{"messages":[{"id":"x","address":"y","text":"` + strings.Repeat("a", 1<<20) + `"}]}`
	common := []struct {
		name, method, token, body string
		status                    int
	}{
		{"wrong method", http.MethodGet, secret, "", http.StatusMethodNotAllowed},
		{"no token", http.MethodPost, "", "VALID", http.StatusUnauthorized},
		{"wrong token", http.MethodPost, "s3crex", "VALID", http.StatusUnauthorized},
		{"malformed JSON", http.MethodPost, secret, `{"messages": [`, http.StatusBadRequest},
		{"not an object", http.MethodPost, secret, `[]`, http.StatusBadRequest},
		{"over 1 MiB", http.MethodPost, secret, huge, http.StatusRequestEntityTooLarge},
	}
	specific := map[string][]struct{ name, body string }{
		"channel": {
			{"no messages", `{"messages":[]}`},
			{"missing id", `{"messages":[{"address":"p","text":"hi"}]}`},
			{"missing address", `{"messages":[{"id":"e","text":"hi"}]}`},
			{"bad sent_at", `{"messages":[{"id":"e","address":"p","sent_at":"yesterday"}]}`},
			{"over 100 messages", manyMessages(loopback.MaxHookMessages + 1)},
		},
		"helpdesk": {
			{"missing reply_id", `{"ticket":"T-1","text":"hi"}`},
			{"missing ticket and conversation", `{"reply_id":"r","text":"hi"}`},
			{"missing text", `{"reply_id":"r","ticket":"T-1","text":"  "}`},
		},
	}
	for _, hook := range hooks {
		t.Run(hook.name, func(t *testing.T) {
			srv, sink := running(t, hook)
			for _, tc := range common {
				body := strings.ReplaceAll(tc.body, "VALID", hook.valid)
				resp := do(t, srv, tc.method, tc.token, body)
				require.Equal(t, tc.status, resp.StatusCode, "%s: %s", tc.name, resp.body)
				requireJSONError(t, resp)
			}
			for _, tc := range specific[hook.name] {
				resp := do(t, srv, http.MethodPost, secret, tc.body)
				require.Equal(t, http.StatusBadRequest, resp.StatusCode, "%s: %s", tc.name, resp.body)
				requireJSONError(t, resp)
			}
			require.Empty(t, sink.Calls(), "refused requests must not reach the sink")
		})
	}
}

func requireJSONError(t *testing.T, resp response) {
	t.Helper()
	var e struct{ Error string }
	require.NoError(t, json.Unmarshal([]byte(resp.body), &e), "error body %q", resp.body)
	require.NotEmpty(t, e.Error)
}

func manyMessages(n int) string {
	msgs := make([]loopback.PlayerMessage, n)
	for i := range msgs {
		msgs[i] = loopback.PlayerMessage{ID: fmt.Sprint(i), Address: "p"}
	}
	b, _ := json.Marshal(loopback.Inbound{Messages: msgs})
	return string(b)
}

// TestHookDeliverOutcome: the answer follows Deliver — 2xx only after it succeeded.
func TestHookDeliverOutcome(t *testing.T) {
	cases := []struct {
		name       string
		sinkErr    error
		status     int
		retryAfter string
	}{
		{"stored", nil, http.StatusOK, ""},
		{"permanent", connectors.Permanent(errors.New("unknown ticket")), http.StatusUnprocessableEntity, ""},
		{"transient", errors.New("disk full"), http.StatusServiceUnavailable, "1"},
	}
	for _, hook := range hooks {
		for _, tc := range cases {
			t.Run(hook.name+" "+tc.name, func(t *testing.T) {
				srv, sink := running(t, hook)
				sink.Fail(tc.sinkErr)
				resp := do(t, srv, http.MethodPost, secret, hook.valid)
				require.Equal(t, tc.status, resp.StatusCode, resp.body)
				require.Equal(t, tc.retryAfter, resp.Header.Get("Retry-After"))
				if tc.sinkErr == nil {
					require.Len(t, sink.Calls(), 1)
				} else {
					requireJSONError(t, resp)
				}
			})
		}
		t.Run(hook.name+" before Run", func(t *testing.T) {
			h, _ := hook.new(t)
			srv := httptest.NewServer(h)
			t.Cleanup(srv.Close)
			resp := do(t, srv, http.MethodPost, secret, hook.valid)
			require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
			require.Equal(t, "1", resp.Header.Get("Retry-After"))
		})
		t.Run(hook.name+" after Run returned", func(t *testing.T) {
			h, run := hook.new(t)
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			require.NoError(t, run(ctx, &conformance.RecordingSink{}))
			srv := httptest.NewServer(h)
			t.Cleanup(srv.Close)
			require.Equal(t, http.StatusServiceUnavailable, do(t, srv, http.MethodPost, secret, hook.valid).StatusCode)
		})
	}
}

func TestChannelHookConverts(t *testing.T) {
	srv, sink := running(t, hooks[0])
	sent := time.Date(2025, 3, 1, 12, 0, 0, 0, time.FixedZone("CET", 3600))
	body, err := json.Marshal(loopback.Inbound{Messages: []loopback.PlayerMessage{
		{ID: "ext-1", Address: "player-7", Text: "hi", Name: "Ann", Language: "de", VIP: 2, SentAt: sent},
		{ID: "ext-2", Address: "player-8", Text: "hello"},
	}})
	require.NoError(t, err)
	resp := do(t, srv, http.MethodPost, secret, string(body))
	require.Equal(t, http.StatusOK, resp.StatusCode, resp.body)
	require.JSONEq(t, `{"accepted":2}`, resp.body)

	calls := sink.Calls()
	require.Len(t, calls, 1, "one batch is one Deliver call, so the store commits it at once")
	require.Len(t, calls[0], 2)
	got := calls[0][0]
	require.Equal(t, normalize.Message{
		Direction: normalize.Inbound, Source: "chan-loop", ExternalID: "ext-1",
		Channel: "chan-loop", ChannelKind: normalize.KindLoopback, Address: "player-7",
		Author: normalize.Author{Role: normalize.RolePlayer, DisplayName: "Ann", Language: "de", VIPTier: 2, ExternalID: "player-7"},
		Kind:   normalize.KindText, Text: "hi", SentAt: sent.UTC(),
	}, got)
	require.False(t, calls[0][1].SentAt.IsZero(), "a missing sent_at is the receipt time")
}

func TestHelpdeskHookConverts(t *testing.T) {
	srv, sink := running(t, hooks[1])
	for _, body := range []string{
		`{"reply_id":"r-1","ticket":"T-1","text":"hello","agent":"Bob"}`,
		`{"reply_id":"r-2","conversation_id":"c-1","text":"check KYC first","agent":"Bob","note":true}`,
	} {
		resp := do(t, srv, http.MethodPost, secret, body)
		require.Equal(t, http.StatusOK, resp.StatusCode, resp.body)
	}
	msgs := sink.Messages()
	require.Len(t, msgs, 2)
	reply := msgs[0]
	require.False(t, reply.SentAt.IsZero())
	reply.SentAt = time.Time{}
	require.Equal(t, normalize.Message{Direction: normalize.Outbound, Source: "desk-loop", ExternalID: "r-1", Ticket: "T-1",
		Author: normalize.Author{Role: normalize.RoleAgent, DisplayName: "Bob"}, Kind: normalize.KindText, Text: "hello"}, reply)
	require.Equal(t, normalize.KindNote, msgs[1].Kind)
	require.Equal(t, normalize.ConversationID("c-1"), msgs[1].Conversation)
	require.Empty(t, msgs[1].Ticket)
}
