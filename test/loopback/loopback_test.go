package loopback_test

import (
	"log/slog"
	"net/http/httptest"
	"testing"

	chanloop "github.com/casino-support/gateway/connectors/channel/loopback"
	deskloop "github.com/casino-support/gateway/connectors/helpdesk/loopback"
	"github.com/casino-support/gateway/test/loopback"
)

// secret guards the hooks and the fakes in every test, so the bearer token is always exercised.
const secret = "s3cret"

// helpdeskEnv is one loopback helpdesk wired to its fake remote, with its hook served.
type helpdeskEnv struct {
	remote *loopback.FakeHelpdeskRemote
	hd     *deskloop.Helpdesk
	hook   *httptest.Server
}

func newHelpdeskEnv(t *testing.T) *helpdeskEnv {
	t.Helper()
	remote := loopback.NewFakeHelpdeskRemote(secret)
	rs := httptest.NewServer(remote)
	t.Cleanup(rs.Close)
	hd := deskloop.New("desk-loop", deskloop.Config{URL: rs.URL + "/", Secret: secret}, rs.Client(), testLogger(t))
	hook := httptest.NewServer(hd)
	t.Cleanup(hook.Close)
	return &helpdeskEnv{remote: remote, hd: hd, hook: hook}
}

// channelEnv is one loopback channel wired to its fake remote, with its hook served.
type channelEnv struct {
	remote *loopback.FakeChannelRemote
	ch     *chanloop.Channel
	hook   *httptest.Server
	send   string
}

func newChannelEnv(t *testing.T) *channelEnv {
	t.Helper()
	remote := loopback.NewFakeChannelRemote(secret)
	rs := httptest.NewServer(remote)
	t.Cleanup(rs.Close)
	send := rs.URL + "/send"
	ch := chanloop.New("chan-loop", chanloop.Config{SendURL: send, Secret: secret}, rs.Client(), testLogger(t))
	hook := httptest.NewServer(ch)
	t.Cleanup(hook.Close)
	return &channelEnv{remote: remote, ch: ch, hook: hook, send: send}
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}
