package adminapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/adminapi"
	"github.com/casino-support/gateway/router/store"
)

const token = "s3cret"

func newAPI(t *testing.T) (*httptest.Server, []store.Accepted) {
	t.Helper()
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "gw.db"), store.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	var msgs []normalize.Message
	for i := range 3 {
		msgs = append(msgs, normalize.Message{Direction: normalize.Inbound, Source: "chat", Channel: "chat", ChannelKind: normalize.KindLoopback,
			Address: normalize.Address(fmt.Sprintf("p%d", i)), ExternalID: normalize.ExternalID(fmt.Sprint(i)), Text: fmt.Sprintf("hello %d", i)})
	}
	acc, err := st.Intake(ctx, msgs, func(normalize.Message) store.Assessment { return store.Assessment{Helpdesk: "desk"} })
	require.NoError(t, err)
	srv := httptest.NewServer(adminapi.New(st, token, slog.New(slog.NewTextHandler(io.Discard, nil))))
	t.Cleanup(srv.Close)
	return srv, acc
}

func call(t *testing.T, srv *httptest.Server, method, path, body, auth string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	return resp.StatusCode, out
}

func TestAdminAPI(t *testing.T) {
	srv, acc := newAPI(t)
	bearer := "Bearer " + token
	conv := string(acc[0].Conversation)
	tests := []struct {
		name, method, path, body, auth string
		status                         int
		check                          func(t *testing.T, out map[string]any)
	}{
		{"no token", "GET", "/api/v1/conversations", "", "", 401, nil},
		{"wrong token", "GET", "/api/v1/conversations", "", "Bearer nope", 401, nil},
		{"list", "GET", "/api/v1/conversations", "", bearer, 200, func(t *testing.T, out map[string]any) {
			require.Len(t, out["conversations"], 3)
			require.NotContains(t, out, "next_before")
		}},
		{"first page", "GET", "/api/v1/conversations?limit=2", "", bearer, 200, func(t *testing.T, out map[string]any) {
			require.Len(t, out["conversations"], 2)
			require.Contains(t, out, "next_before")
		}},
		{"bad limit", "GET", "/api/v1/conversations?limit=0", "", bearer, 400, nil},
		{"bad cursor", "GET", "/api/v1/conversations?before=x", "", bearer, 400, nil},
		{"old numeric cursor", "GET", "/api/v1/conversations?before=1733370000000", "", bearer, 400, nil},
		{"one", "GET", "/api/v1/conversations/" + conv, "", bearer, 200, func(t *testing.T, out map[string]any) {
			require.Equal(t, conv, out["id"])
			require.Equal(t, "desk", out["helpdesk"])
		}},
		{"unknown", "GET", "/api/v1/conversations/c404", "", bearer, 404, nil},
		{"messages", "GET", "/api/v1/conversations/" + conv + "/messages", "", bearer, 200, func(t *testing.T, out map[string]any) {
			msgs := out["messages"].([]any)
			require.Len(t, msgs, 1)
			require.Equal(t, "hello 0", msgs[0].(map[string]any)["message"].(map[string]any)["text"])
		}},
		{"messages of unknown", "GET", "/api/v1/conversations/c404/messages", "", bearer, 404, nil},
		{"no dead letters", "GET", "/api/v1/dead-letters", "", bearer, 200, func(t *testing.T, out map[string]any) {
			require.Empty(t, out["dead_letters"])
		}},
		{"replay all", "POST", "/api/v1/dead-letters/replay", `{"all":true}`, bearer, 200, func(t *testing.T, out map[string]any) {
			require.EqualValues(t, 0, out["replayed"])
		}},
		{"replay needs a target", "POST", "/api/v1/dead-letters/replay", `{}`, bearer, 400, nil},
		{"replay not both", "POST", "/api/v1/dead-letters/replay", `{"all":true,"conversation":"c1"}`, bearer, 400, nil},
		{"replay unknown field", "POST", "/api/v1/dead-letters/replay", `{"everything":true}`, bearer, 400, nil},
		{"replay malformed", "POST", "/api/v1/dead-letters/replay", `{`, bearer, 400, nil},
		{"replay oversized", "POST", "/api/v1/dead-letters/replay", `{"conversation":"` + strings.Repeat("x", 5000) + `"}`, bearer, 400, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, out := call(t, srv, tt.method, tt.path, tt.body, tt.auth)
			require.Equal(t, tt.status, status, "%v", out)
			if status >= 400 {
				require.NotEmpty(t, out["error"], "errors say what is wrong")
			}
			if tt.check != nil {
				tt.check(t, out)
			}
		})
	}
}

func TestDisabledWithoutToken(t *testing.T) {
	h := adminapi.New(nil, "", slog.New(slog.NewTextHandler(io.Discard, nil)))
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/api/v1/conversations", nil)
	req.Header.Set("Authorization", "Bearer ")
	h.ServeHTTP(rec, req)
	require.Equal(t, http.StatusUnauthorized, rec.Code)
	require.Contains(t, rec.Body.String(), "admin.token")
}

// The three conversations of newAPI were opened in one commit, so they share updated_at:
// paging must still hand out each exactly once.
func TestConversationPagesKeepTies(t *testing.T) {
	srv, acc := newAPI(t)
	seen := map[string]int{}
	path := "/api/v1/conversations?limit=2"
	for pages := 0; path != ""; pages++ {
		require.Less(t, pages, 5, "paging does not end")
		status, out := call(t, srv, "GET", path, "", "Bearer "+token)
		require.Equal(t, 200, status, out)
		for _, c := range out["conversations"].([]any) {
			seen[c.(map[string]any)["id"].(string)]++
		}
		path = ""
		if next, ok := out["next_before"].(string); ok {
			path = "/api/v1/conversations?limit=2&before=" + url.QueryEscape(next)
		}
	}
	require.Len(t, seen, len(acc))
	for _, a := range acc {
		require.Equal(t, 1, seen[string(a.Conversation)], "conversation %s", a.Conversation)
	}
}
