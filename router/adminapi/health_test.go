package adminapi_test

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/router/adminapi"
	"github.com/casino-support/gateway/router/health"
)

func TestHealthNamesTheBrokenConnector(t *testing.T) {
	board := health.New(nil, slog.New(slog.DiscardHandler), nil)
	board.Add("channel", "telegram", "tg")
	board.Add("helpdesk", "inbox", "inbox")
	srv := httptest.NewServer(adminapi.New(nil, token, slog.New(slog.NewTextHandler(io.Discard, nil))).WithHealth(board))
	t.Cleanup(srv.Close)

	status, out := call(t, srv, "GET", "/api/v1/health", "", "Bearer "+token)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, true, out["ready"])

	board.Report("tg", health.SourceRemote, errors.New("getMe: the bot token was rejected (401)"))
	status, out = call(t, srv, "GET", "/api/v1/health", "", "Bearer "+token)
	require.Equal(t, http.StatusOK, status, "the admin API answers; the gateway serves all the same")
	require.Equal(t, false, out["ready"])
	conns := out["connectors"].([]any)
	require.Len(t, conns, 2)
	tg := conns[0].(map[string]any)
	require.Equal(t, "tg", tg["name"])
	require.Equal(t, "channel", tg["family"])
	require.Equal(t, false, tg["ready"])
	require.Equal(t, "remote: getMe: the bot token was rejected (401)", tg["reason"])
	require.Equal(t, true, conns[1].(map[string]any)["ready"])

	status, _ = call(t, srv, "GET", "/api/v1/health", "", "")
	require.Equal(t, http.StatusUnauthorized, status, "health details are behind the admin token too")
}
