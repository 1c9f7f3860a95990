package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/test/conformance"
	"github.com/casino-support/gateway/test/webhookreceiver"
)

// run starts the helpdesk with a recording sink until the test ends.
func (e *env) run(t *testing.T) *conformance.RecordingSink {
	t.Helper()
	sink := &conformance.RecordingSink{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.hd.Run(ctx, sink) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done, "Run()")
	})
	// Run stores the sink asynchronously; wait until a probe reaches it. The probe must pass
	// validation (a refused one never asks for the sink), and the sink refuses it for good
	// meanwhile, so it is not recorded.
	sink.Fail(connectors.Permanent(errors.New("probe")))
	require.Eventually(t, func() bool {
		status, _ := e.api(t, testToken, `{"reply_id":"probe","ticket":"T-probe","text":"x"}`)
		return status == http.StatusUnprocessableEntity
	}, 5*time.Second, 5*time.Millisecond)
	sink.Fail(nil)
	return sink
}

func do(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

// hook POSTs body to /hooks/{name}, signed with secret at ts.
func (e *env) hook(t *testing.T, secret string, ts time.Time, body string) (int, string) {
	t.Helper()
	req, err := webhookreceiver.SignedRequest(t.Context(), e.gateway.URL+"/hooks/"+testName, secret, ts, []byte(body))
	require.NoError(t, err)
	return do(t, req)
}

// api POSTs body to the reply API with token.
func (e *env) api(t *testing.T, token, body string) (int, string) {
	t.Helper()
	return e.apiPost(t, "replies", token, body)
}

// events POSTs body to the events API with token.
func (e *env) events(t *testing.T, token, body string) (int, string) {
	t.Helper()
	return e.apiPost(t, "events", token, body)
}

func (e *env) apiPost(t *testing.T, endpoint, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, e.gateway.URL+"/api/v1/helpdesks/"+testName+"/"+endpoint, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return do(t, req)
}

func reply(id string, extra string) string {
	return `{"event":"reply.created","reply_id":"` + id + `","ticket":"T-1","text":"Your withdrawal is on its way","agent":{"name":"Alice"}` + extra + `}`
}

func TestRepliesAreDeduplicatedOnReplyID(t *testing.T) {
	for _, via := range []string{"hook", "api"} {
		t.Run(via, func(t *testing.T) {
			e := newEnv(t, nil)
			sink := e.run(t)
			send := func(body string) (int, string) {
				if via == "hook" {
					return e.hook(t, testSecret, time.Now(), body)
				}
				return e.api(t, testToken, body)
			}
			for range 2 {
				status, body := send(reply("r-1", `,"reply_to":"m-9"`))
				require.Equal(t, http.StatusOK, status, body)
				require.JSONEq(t, `{"status":"stored","reply_id":"r-1"}`, body)
			}
			status, body := send(reply("r-2", `,"note":true,"conversation_id":"c-1"`))
			require.Equal(t, http.StatusOK, status, body)

			got := sink.Messages()
			require.Len(t, got, 3)
			require.Equal(t, got[0].ExternalID, got[1].ExternalID, "a repeat keeps the dedup key")
			require.Equal(t, normalize.InstanceName(testName), got[0].Source)
			require.Equal(t, normalize.ExternalID("r-1"), got[0].ExternalID)
			require.Equal(t, normalize.Outbound, got[0].Direction)
			require.Equal(t, normalize.Ref("T-1"), got[0].Ticket)
			require.Equal(t, normalize.Author{Role: normalize.RoleAgent, DisplayName: "Alice"}, got[0].Author)
			require.Equal(t, normalize.KindText, got[0].Kind)
			require.Equal(t, normalize.ExternalID("m-9"), got[0].ReplyTo)
			require.Equal(t, normalize.KindNote, got[2].Kind)
			require.Equal(t, normalize.ConversationID("c-1"), got[2].Conversation)
		})
	}
}

func TestHookRefusals(t *testing.T) {
	now := time.Now()
	big := reply("r-big", `,"padding":"`+oversized+`"`)
	tests := []struct {
		name      string
		secret    string
		at        time.Time
		body      string
		unsigned  bool
		malformed bool // violates the contract on purpose: skip request validation
		want      int
	}{
		{name: "wrong secret", secret: "not-the-secret-at-all", at: now, body: reply("r", ""), want: 401},
		{name: "stale", secret: testSecret, at: now.Add(-6 * time.Minute), body: reply("r", ""), want: 401},
		{name: "future", secret: testSecret, at: now.Add(6 * time.Minute), body: reply("r", ""), want: 401},
		{name: "unsigned", unsigned: true, body: reply("r", ""), malformed: true, want: 401},
		{name: "not JSON", secret: testSecret, at: now, body: "hello", malformed: true, want: 400},
		{name: "truncated", secret: testSecret, at: now, body: `{"event":"reply.created",`, malformed: true, want: 400},
		{name: "unknown event", secret: testSecret, at: now, body: `{"event":"ticket.exploded"}`, malformed: true, want: 400},
		{name: "unknown field", secret: testSecret, at: now, body: reply("r", `,"reply-id":"x"`), malformed: true, want: 400},
		{name: "no reply_id", secret: testSecret, at: now, body: `{"event":"reply.created","ticket":"T-1","text":"hi"}`, malformed: true, want: 400},
		{name: "no conversation", secret: testSecret, at: now, body: `{"event":"reply.created","reply_id":"r","text":"hi"}`, want: 400},
		{name: "blank text", secret: testSecret, at: now, body: `{"event":"reply.created","reply_id":"r","ticket":"T","text":"  "}`, want: 400},
		{name: "bad status", secret: testSecret, at: now, body: `{"event":"conversation.status_changed","ticket":"T","status":"solved"}`, malformed: true, want: 400},
		{name: "too large", secret: testSecret, at: now, body: big, malformed: true, want: 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.malformed = func(*http.Request) bool { return tt.malformed }
			sink := e.run(t)
			var status int
			var body string
			if tt.unsigned {
				req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, e.gateway.URL+"/hooks/"+testName, strings.NewReader(tt.body))
				require.NoError(t, err)
				status, body = do(t, req)
			} else {
				status, body = e.hook(t, tt.secret, tt.at, tt.body)
			}
			require.Equal(t, tt.want, status, body)
			require.Empty(t, sink.Messages(), "nothing may be delivered on a refusal")
		})
	}
}

func TestAPIRefusals(t *testing.T) {
	tests := []struct {
		name, token, body string
		malformed         bool
		want              int
	}{
		{"no token", "", reply("r", ""), true, 401},
		{"wrong token", "guess", reply("r", ""), false, 401},
		{"token prefix", testToken[:5], reply("r", ""), false, 401},
		{"not JSON", testToken, "hello", true, 400},
		{"other event", testToken, `{"event":"conversation.status_changed","ticket":"T","status":"closed"}`, true, 400},
		{"too large", testToken, reply("r", `,"padding":"`+oversized+`"`), true, 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.malformed = func(*http.Request) bool { return tt.malformed }
			sink := e.run(t)
			status, body := e.api(t, tt.token, tt.body)
			require.Equal(t, tt.want, status, body)
			require.Empty(t, sink.Messages())
		})
	}
}

func TestSinkFailures(t *testing.T) {
	for _, via := range []string{"hook", "api"} {
		t.Run(via, func(t *testing.T) {
			e := newEnv(t, nil)
			send := func() (int, string) {
				if via == "hook" {
					return e.hook(t, testSecret, time.Now(), reply("r-1", ""))
				}
				return e.api(t, testToken, reply("r-1", ""))
			}
			status, _ := send()
			require.Equal(t, http.StatusServiceUnavailable, status, "before Run nothing stores replies")

			sink := e.run(t)
			sink.Fail(connectors.Permanent(errors.New("unknown ticket T-1")))
			status, body := send()
			require.Equal(t, http.StatusUnprocessableEntity, status)
			var ans struct{ Error string }
			require.NoError(t, json.Unmarshal([]byte(body), &ans))
			require.Contains(t, ans.Error, "unknown ticket T-1", "422 carries the reason")

			sink.Fail(errors.New("database is locked"))
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, e.gateway.URL+"/api/v1/helpdesks/"+testName+"/replies", strings.NewReader(reply("r-1", "")))
			require.NoError(t, err)
			req.Header.Set("Authorization", "Bearer "+testToken)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
			require.Equal(t, "1", resp.Header.Get("Retry-After"))
			status, _ = send()
			require.Equal(t, http.StatusServiceUnavailable, status)
			require.Empty(t, sink.Messages())

			sink.Fail(nil)
			status, _ = send()
			require.Equal(t, http.StatusOK, status, "the sender's retry succeeds")
			require.Len(t, sink.Messages(), 1)
		})
	}
}

func TestStatusChangeIsStored(t *testing.T) {
	e := newEnv(t, nil)
	sink := e.run(t)
	event := `{"event":"conversation.status_changed","event_id":"chg-1","ticket":"T-1","status":"closed","agent":{"name":"Alice"}}`
	for range 2 { // a retried event keeps its dedup key
		status, body := e.hook(t, testSecret, time.Now(), event)
		require.Equal(t, http.StatusOK, status, body)
	}
	msgs := sink.Messages()
	require.Len(t, msgs, 2)
	for _, m := range msgs {
		require.Equal(t, normalize.KindSystem, m.Kind)
		require.Equal(t, normalize.StatusClosed, m.Status)
		require.Equal(t, normalize.Outbound, m.Direction)
		require.Equal(t, normalize.Ref("T-1"), m.Ticket)
		require.Equal(t, normalize.ExternalID("status-chg-1"), m.ExternalID, "the store deduplicates on it")
	}

	for name, bad := range map[string]string{
		"no event_id":    `{"event":"conversation.status_changed","ticket":"T-1","status":"closed"}`,
		"unknown status": `{"event":"conversation.status_changed","event_id":"chg-2","ticket":"T-1","status":"archived"}`,
		"no ticket":      `{"event":"conversation.status_changed","event_id":"chg-3","status":"closed"}`,
	} {
		e.malformed = func(*http.Request) bool { return true } // these violate the contract on purpose
		status, body := e.hook(t, testSecret, time.Now(), bad)
		require.Equal(t, http.StatusBadRequest, status, "%s: %s", name, body)
	}
	require.Len(t, sink.Messages(), 2, "nothing stored for refused events")
}

// signedOrBearer sends body to the hook (signed) or to the events API (bearer token): the two
// ways in for every event.
func (e *env) signedOrBearer(t *testing.T, via, body string) (int, string) {
	t.Helper()
	if via == "hook" {
		return e.hook(t, testSecret, time.Now(), body)
	}
	return e.events(t, testToken, body)
}

func assignment(eventID, extra string) string {
	return `{"event":"conversation.assigned","event_id":"` + eventID + `","ticket":"T-1"` + extra + `}`
}

func TestAssignmentsAreStored(t *testing.T) {
	tests := []struct {
		name, body   string
		wantAssignee normalize.Agent
		wantText     string
		wantAuthor   normalize.Author
		wantConv     normalize.ConversationID
		wantTicket   normalize.Ref
	}{
		{name: "assigned", body: assignment("e-1", `,"assignee":{"id":"a-7","name":"Anna"},"agent":{"id":"a-1","name":"Alice"}`),
			wantAssignee: normalize.Agent{ID: "a-7", Name: "Anna"}, wantText: "Assigned to Anna in the ticket system.",
			wantAuthor: normalize.Author{Role: normalize.RoleAgent, DisplayName: "Alice", ExternalID: "a-1"}, wantTicket: "T-1"},
		{name: "by id only", body: assignment("e-1", `,"assignee":{"id":"a-7"}`),
			wantAssignee: normalize.Agent{ID: "a-7"}, wantText: "Assigned to a-7 in the ticket system.",
			wantAuthor: normalize.Author{Role: normalize.RoleAgent}, wantTicket: "T-1"},
		{name: "by conversation", body: `{"event":"conversation.assigned","event_id":"e-1","conversation_id":"c-1","assignee":{"name":"Anna"}}`,
			wantAssignee: normalize.Agent{Name: "Anna"}, wantText: "Assigned to Anna in the ticket system.",
			wantAuthor: normalize.Author{Role: normalize.RoleAgent}, wantConv: "c-1"},
		{name: "unassigned by null", body: assignment("e-1", `,"assignee":null`),
			wantText: "Unassigned in the ticket system.", wantAuthor: normalize.Author{Role: normalize.RoleAgent}, wantTicket: "T-1"},
		{name: "unassigned by absence", body: assignment("e-1", `,"agent":{"name":"Alice"}`),
			wantText: "Unassigned in the ticket system.", wantAuthor: normalize.Author{Role: normalize.RoleAgent, DisplayName: "Alice"}, wantTicket: "T-1"},
		{name: "unassigned by {}", body: assignment("e-1", `,"assignee":{}`),
			wantText: "Unassigned in the ticket system.", wantAuthor: normalize.Author{Role: normalize.RoleAgent}, wantTicket: "T-1"},
	}
	for _, via := range []string{"hook", "api"} {
		for _, tt := range tests {
			t.Run(via+"/"+tt.name, func(t *testing.T) {
				e := newEnv(t, nil)
				sink := e.run(t)
				for range 2 { // a retried event keeps its dedup key
					status, body := e.signedOrBearer(t, via, tt.body)
					require.Equal(t, http.StatusOK, status, body)
					require.JSONEq(t, `{"status":"stored"}`, body)
				}
				msgs := sink.Messages()
				require.Len(t, msgs, 2)
				for _, m := range msgs {
					require.Equal(t, normalize.Outbound, m.Direction)
					require.Equal(t, normalize.KindSystem, m.Kind)
					require.Equal(t, normalize.InstanceName(testName), m.Source)
					require.Equal(t, normalize.ExternalID("assign-e-1"), m.ExternalID, "the store deduplicates on it")
					require.Equal(t, tt.wantTicket, m.Ticket)
					require.Equal(t, tt.wantConv, m.Conversation)
					require.NotNil(t, m.Assignee, "an unassignment is an empty assignee, not none")
					require.Equal(t, tt.wantAssignee, *m.Assignee)
					require.Equal(t, tt.wantText, m.Text)
					require.Equal(t, tt.wantAuthor, m.Author)
					require.Empty(t, m.Status)
				}
			})
		}
	}
}

func TestAssignmentRefusals(t *testing.T) {
	tests := []struct {
		name, body string
		malformed  bool // violates the contract on purpose: skip request validation
	}{
		{"assignee is a string", assignment("e-1", `,"assignee":"Anna"`), true},
		{"assignee is a list", assignment("e-1", `,"assignee":[{"name":"Anna"}]`), true},
		{"assignee id is a number", assignment("e-1", `,"assignee":{"id":7}`), true},
		{"unknown field in assignee", assignment("e-1", `,"assignee":{"name":"Anna","email":"anna@example.com"}`), true},
		{"blank assignee", assignment("e-1", `,"assignee":{"name":"  "}`), false},
		{"unknown field", assignment("e-1", `,"asignee":{"name":"Anna"}`), true},
		{"field of another event", assignment("e-1", `,"assignee":{"name":"Anna"},"status":"closed"`), true},
		{"no event_id", `{"event":"conversation.assigned","ticket":"T-1","assignee":{"name":"Anna"}}`, true},
		{"no conversation", `{"event":"conversation.assigned","event_id":"e-1","assignee":{"name":"Anna"}}`, false},
	}
	for _, via := range []string{"hook", "api"} {
		for _, tt := range tests {
			t.Run(via+"/"+tt.name, func(t *testing.T) {
				e := newEnv(t, nil)
				e.malformed = func(*http.Request) bool { return tt.malformed }
				sink := e.run(t)
				status, body := e.signedOrBearer(t, via, tt.body)
				require.Equal(t, http.StatusBadRequest, status, body)
				require.Empty(t, sink.Messages(), "nothing may be delivered on a refusal")
			})
		}
	}
}

// TestEventsAPIAnswersLikeTheHook sends every event type once signed to the hook and once
// with the bearer token to the events API: the answers and what is stored must not differ.
func TestEventsAPIAnswersLikeTheHook(t *testing.T) {
	tests := []struct{ name, body string }{
		{"reply", reply("r-1", `,"reply_to":"m-9"`)},
		{"note", reply("r-2", `,"note":true,"agent":{"id":"a-1","name":"Alice"}`)},
		{"status", `{"event":"conversation.status_changed","event_id":"chg-1","ticket":"T-1","status":"pending"}`},
		{"assignment", assignment("e-1", `,"assignee":{"id":"a-7","name":"Anna"}`)},
		{"unassignment", assignment("e-2", `,"assignee":null`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			sink := e.run(t)
			hookStatus, hookBody := e.signedOrBearer(t, "hook", tt.body)
			apiStatus, apiBody := e.signedOrBearer(t, "api", tt.body)
			require.Equal(t, http.StatusOK, hookStatus, hookBody)
			require.Equal(t, hookStatus, apiStatus)
			require.JSONEq(t, hookBody, apiBody)
			msgs := sink.Messages()
			require.Len(t, msgs, 2)
			msgs[0].SentAt, msgs[1].SentAt = time.Time{}, time.Time{}
			require.Equal(t, msgs[0], msgs[1])
		})
	}
}

func TestEventsAPIRefusals(t *testing.T) {
	tests := []struct {
		name, token, body string
		signed            bool // signed like a hook event instead of the token
		malformed         bool
		want              int
	}{
		{"no token", "", assignment("e-1", ""), false, true, 401},
		{"wrong token", "guess", assignment("e-1", ""), false, false, 401},
		{"signature instead of token", "", assignment("e-1", ""), true, true, 401},
		{"no event", testToken, `{"reply_id":"r-1","ticket":"T-1","text":"hi"}`, false, true, 400},
		{"unknown event", testToken, `{"event":"ticket.exploded"}`, false, true, 400},
		{"reply with an assignee", testToken, reply("r-1", `,"assignee":{"name":"Anna"}`), false, true, 400},
		{"status with a reply's text", testToken, `{"event":"conversation.status_changed","event_id":"chg-1","ticket":"T-1","status":"closed","text":"bye"}`, false, true, 400},
		{"too large", testToken, assignment("e-1", `,"agent":{"name":"`+oversized+`"}`), false, true, 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.malformed = func(*http.Request) bool { return tt.malformed }
			sink := e.run(t)
			var status int
			var body string
			if tt.signed {
				req, err := webhookreceiver.SignedRequest(t.Context(), e.gateway.URL+"/api/v1/helpdesks/"+testName+"/events", testSecret, time.Now(), []byte(tt.body))
				require.NoError(t, err)
				status, body = do(t, req)
			} else {
				status, body = e.events(t, tt.token, tt.body)
			}
			require.Equal(t, tt.want, status, body)
			require.Empty(t, sink.Messages())
		})
	}
}
