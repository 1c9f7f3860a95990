package zendeskfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// call sends a request as the API agent (or with auth, when given) and decodes the answer.
func call(t *testing.T, s *Server, method, path, auth string, body any, header http.Header) (int, http.Header, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, s.URL+path, rd)
	require.NoError(t, err)
	if auth == "" {
		req.SetBasicAuth(Email+"/token", Token)
	} else {
		req.Header.Set("Authorization", auth)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, resp.Header, out
}

func newTicket(t *testing.T, s *Server, key string) (int, map[string]any) {
	t.Helper()
	_, _, u := call(t, s, http.MethodPost, "/api/v2/users/create_or_update", "", map[string]any{"user": map[string]any{"name": "P", "external_id": "tg:1"}}, nil)
	requester := u["user"].(map[string]any)["id"]
	h := http.Header{}
	if key != "" {
		h.Set("Idempotency-Key", key)
	}
	status, _, out := call(t, s, http.MethodPost, "/api/v2/tickets", "", map[string]any{"ticket": map[string]any{
		"subject": "s", "requester_id": requester, "external_id": "x:1", "comment": map[string]any{"body": "hello", "author_id": requester}}}, h)
	return status, out
}

func TestErrorsAsZendeskAnswersThem(t *testing.T) {
	s := New()
	t.Cleanup(s.Close)
	_, created := newTicket(t, s, "")
	audits := fmt.Sprintf("/api/v2/tickets/%.0f/audits", created["ticket"].(map[string]any)["id"].(float64))
	cases := []struct {
		name, method, path, auth string
		body                     any
		status                   int
		errKey                   string
	}{
		{"wrong token", http.MethodGet, "/api/v2/tickets/1", "Basic " + "Zm9vOmJhcg==", nil, http.StatusUnauthorized, "Couldn't authenticate you"},
		{"OAuth token", http.MethodGet, "/api/v2/users/1001", "Bearer " + OAuthToken, nil, http.StatusOK, ""},
		{"unknown ticket", http.MethodGet, "/api/v2/tickets/99", "", nil, http.StatusNotFound, "RecordNotFound"},
		{"ticket without comment", http.MethodPost, "/api/v2/tickets", "", map[string]any{"ticket": map[string]any{"subject": "x"}}, http.StatusUnprocessableEntity, "RecordInvalid"},
		{"unknown route", http.MethodGet, "/api/v2/nothing", "", nil, http.StatusNotFound, "RecordNotFound"},
		{"foreign cursor", http.MethodGet, audits + "?page[after]=bm9wZQ", "", nil, http.StatusBadRequest, "InvalidPaginationParameter"},
		{"page too large", http.MethodGet, audits + "?page[size]=500", "", nil, http.StatusBadRequest, "InvalidPaginationParameter"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, _, out := call(t, s, c.method, c.path, c.auth, c.body, nil)
			require.Equal(t, c.status, status, "%v", out)
			if c.errKey != "" {
				require.Equal(t, c.errKey, out["error"])
			}
		})
	}
}

func TestIdempotencyKey(t *testing.T) {
	s := New()
	t.Cleanup(s.Close)
	status, first := newTicket(t, s, "k1")
	require.Equal(t, http.StatusCreated, status)
	status, again := newTicket(t, s, "k1")
	require.Equal(t, http.StatusCreated, status)
	require.Equal(t, first["ticket"].(map[string]any)["id"], again["ticket"].(map[string]any)["id"], "the same key answers the first ticket")
	require.Len(t, s.Tickets(), 1)

	_, _, u := call(t, s, http.MethodPost, "/api/v2/users/create_or_update", "", map[string]any{"user": map[string]any{"name": "Q", "external_id": "tg:2"}}, nil)
	status, _, out := call(t, s, http.MethodPost, "/api/v2/tickets", "", map[string]any{"ticket": map[string]any{
		"requester_id": u["user"].(map[string]any)["id"], "comment": map[string]any{"body": "other"}}}, http.Header{"Idempotency-Key": {"k1"}})
	require.Equal(t, http.StatusBadRequest, status, "the same key with another body is refused")
	require.Equal(t, "IdempotentRequestError", out["error"])
}

func TestClosedTicketRefusesUpdates(t *testing.T) {
	s := New()
	t.Cleanup(s.Close)
	_, out := newTicket(t, s, "")
	id := int64(out["ticket"].(map[string]any)["id"].(float64))
	require.NoError(t, s.SetStatus(id, 0, "closed"))
	status, _, body := call(t, s, http.MethodPut, fmt.Sprintf("/api/v2/tickets/%d", id), "", map[string]any{"ticket": map[string]any{"comment": map[string]any{"body": "late"}}}, nil)
	require.Equal(t, http.StatusUnprocessableEntity, status)
	require.Contains(t, fmt.Sprint(body["details"]), "closed prevents ticket update")
	require.Error(t, s.SetStatus(id, 0, "open"), "a closed ticket stays closed")
}

func TestCursorPagination(t *testing.T) {
	s := New()
	t.Cleanup(s.Close)
	_, out := newTicket(t, s, "")
	id := int64(out["ticket"].(map[string]any)["id"].(float64))
	agent := s.AddAgent("A")
	for i := range 4 {
		_, err := s.AgentComment(id, agent, fmt.Sprintf("c%d", i), true)
		require.NoError(t, err)
	}
	var bodies []any
	next := fmt.Sprintf("/api/v2/tickets/%d/comments?page[size]=2", id)
	for pages := 0; next != ""; pages++ {
		require.Less(t, pages, 5)
		_, _, page := call(t, s, http.MethodGet, next, "", nil, nil)
		for _, c := range page["comments"].([]any) {
			bodies = append(bodies, c.(map[string]any)["body"])
		}
		next = ""
		if page["meta"].(map[string]any)["has_more"].(bool) {
			next = page["links"].(map[string]any)["next"].(string)[len(s.URL):]
		}
	}
	require.Equal(t, []any{"hello", "c0", "c1", "c2", "c3"}, bodies)
}

func TestRateLimit(t *testing.T) {
	s := New()
	t.Cleanup(s.Close)
	s.SetRateLimit(2)
	_, h, _ := call(t, s, http.MethodGet, "/api/v2/users/1001", "", nil, nil)
	require.Equal(t, "2", h.Get("X-Rate-Limit"))
	require.Equal(t, "1", h.Get("X-Rate-Limit-Remaining"))
	call(t, s, http.MethodGet, "/api/v2/users/1001", "", nil, nil)
	status, h, out := call(t, s, http.MethodGet, "/api/v2/users/1001", "", nil, nil)
	require.Equal(t, http.StatusTooManyRequests, status)
	require.Equal(t, "APIRateLimitExceeded", out["error"])
	require.NotEmpty(t, h.Get("Retry-After"))
}

func TestWebhookSigned(t *testing.T) {
	type delivery struct {
		header http.Header
		body   []byte
	}
	got := make(chan delivery, 1)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- delivery{r.Header, b}
	}))
	t.Cleanup(receiver.Close)
	s := New()
	t.Cleanup(s.Close)
	s.SetWebhook(receiver.URL, "secret-0123456789abcdef", false)
	_, out := newTicket(t, s, "")
	id := int64(out["ticket"].(map[string]any)["id"].(float64))
	require.NoError(t, s.Notify(id))
	d := <-got
	ts := d.header.Get("X-Zendesk-Webhook-Signature-Timestamp")
	_, err := time.Parse(time.RFC3339, ts)
	require.NoError(t, err)
	require.Equal(t, Signature([]byte("secret-0123456789abcdef"), ts, d.body), d.header.Get("X-Zendesk-Webhook-Signature"))
	require.JSONEq(t, fmt.Sprintf(`{"ticket_id":"%d","status":"new","external_id":"x:1","updated_at":%q}`, id, s.Tickets()[id].UpdatedAt), string(d.body))
}
