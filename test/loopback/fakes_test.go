package loopback_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/test/loopback"
)

// The fakes stand in for remotes in end-to-end tests, so their own promises are pinned here.

func TestFakesRequireIdempotencyKey(t *testing.T) {
	for name, h := range map[string]http.Handler{
		"channel":         loopback.NewFakeChannelRemote(""),
		"helpdesk ticket": loopback.NewFakeHelpdeskRemote(""),
	} {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		path, body := "/send", `{"message_id":"m-1","address":"p"}`
		if name != "channel" {
			path, body = "/tickets", `{"conversation_id":"c-1"}`
		}
		resp, err := srv.Client().Post(srv.URL+path, "application/json", strings.NewReader(body))
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, name)
	}
}

func TestFakeFailNextQueuesAndRoundsRetryAfter(t *testing.T) {
	remote := loopback.NewFakeChannelRemote("")
	srv := httptest.NewServer(remote)
	t.Cleanup(srv.Close)
	remote.FailNext(2, http.StatusTooManyRequests, 1500*time.Millisecond)
	remote.FailNext(1, http.StatusBadGateway, 0)
	var got []string
	for range 4 {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL, strings.NewReader(`{"message_id":"m-1","address":"p"}`))
		require.NoError(t, err)
		req.Header.Set("Idempotency-Key", "m-1")
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		got = append(got, resp.Status[:3]+"/"+resp.Header.Get("Retry-After"))
	}
	require.Equal(t, []string{"429/2", "429/2", "502/", "200/"}, got)
	require.Equal(t, 4, remote.Requests())
	require.Equal(t, 1, remote.Total())
}

func TestFakeChannelReceivedPerAddress(t *testing.T) {
	env := newChannelEnv(t)
	for i, addr := range []normalize.Address{"a", "b", "a"} {
		_, err := env.ch.Send(t.Context(), normalize.Conversation{Address: addr}, normalize.Message{ID: normalize.MessageID(fmt.Sprint("m-", i)), Text: string(addr)})
		require.NoError(t, err)
	}
	require.Len(t, env.remote.Received("a"), 2)
	require.Len(t, env.remote.Received("b"), 1)
	require.Empty(t, env.remote.Received("c"))
	require.Len(t, env.remote.All(), 3)
}

func TestHookHelpersReportStatus(t *testing.T) {
	env := newHelpdeskEnv(t) // Run not started: the hook answers 503
	err := loopback.AgentReply(t.Context(), env.hook.URL, secret, loopback.Reply{ReplyID: "r-1", Ticket: "T-1", Text: "hi"})
	var he *loopback.HookError
	require.True(t, errors.As(err, &he), "AgentReply() = %v", err)
	require.Equal(t, http.StatusServiceUnavailable, he.Status)

	ch := newChannelEnv(t)
	err = loopback.PlayerSend(t.Context(), ch.hook.URL, "wrong", loopback.PlayerMessage{ID: "e", Address: "p"})
	require.True(t, errors.As(err, &he), "PlayerSend() = %v", err)
	require.Equal(t, http.StatusUnauthorized, he.Status)
}
