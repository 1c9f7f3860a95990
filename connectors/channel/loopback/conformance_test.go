package loopback_test

import (
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/casino-support/gateway/connectors"
	chanloop "github.com/casino-support/gateway/connectors/channel/loopback"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/test/conformance"
	"github.com/casino-support/gateway/test/httpfault"
	"github.com/casino-support/gateway/test/loopback"
)

// secret guards the hook and the fake remote, so the bearer token is always exercised.
const secret = "s3cret"

// env is one loopback channel wired to its fake remote, with its hook served. Its requests to
// the remote pass through faults, which the conformance suite arms.
type env struct {
	remote *loopback.FakeChannelRemote
	ch     *chanloop.Channel
	hook   *httptest.Server
	faults *httpfault.Transport
	acks   conformance.Acks // what the player's app learned of its messages
}

func newEnv(t *testing.T) *env {
	t.Helper()
	remote := loopback.NewFakeChannelRemote(secret)
	rs := httptest.NewServer(remote)
	t.Cleanup(rs.Close)
	client, faults := httpfault.Wrap(rs.Client())
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	ch := chanloop.New("chan-loop", chanloop.Config{SendURL: rs.URL + "/send", Secret: secret}, client, log)
	hook := httptest.NewServer(ch)
	t.Cleanup(hook.Close)
	return &env{remote: remote, ch: ch, hook: hook, faults: faults}
}

func TestChannelConformance(t *testing.T) {
	var envs conformance.PerTest[*env]
	conformance.RunChannel(t, conformance.ChannelHarness{
		New: func(t *testing.T) connectors.Channel {
			e := newEnv(t)
			envs.Put(t, e)
			return e.ch
		},
		PlayerSends: func(t *testing.T, _ connectors.Channel, address normalize.Address, externalID, text string) error {
			e := envs.Get(t)
			return e.acks.Record(externalID, loopback.PlayerSend(t.Context(), e.hook.URL, secret,
				loopback.PlayerMessage{ID: externalID, Address: string(address), Text: text, Name: "Ann"}))
		},
		Received: func(t *testing.T, address normalize.Address) []string {
			var texts []string
			for _, s := range envs.Get(t).remote.Received(string(address)) {
				texts = append(texts, s.Text)
			}
			return texts
		},
		Idempotent: true,
		Acknowledged: func(t *testing.T, _ normalize.Address, externalID string) bool {
			return envs.Get(t).acks.Acknowledged(externalID)
		},
		FailSend: func(t *testing.T, f httpfault.Fault) {
			envs.Get(t).faults.Next(nil, f) // Send makes one request, and nothing else calls the remote
		},
	})
}
