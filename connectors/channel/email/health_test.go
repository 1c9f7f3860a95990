package email_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/channel/email"
	"github.com/casino-support/gateway/connectors/settings"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/store/blobs"
	"github.com/casino-support/gateway/test/conformance"
	"github.com/casino-support/gateway/test/mailpeer"
)

// healthSink hears the channel's word on its health besides recording messages.
type healthSink struct {
	conformance.RecordingSink
	mu      sync.Mutex
	reports []error
}

var _ connectors.HealthSink = (*healthSink)(nil)

func (s *healthSink) ReportHealth(_ normalize.InstanceName, problem error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reports = append(s.reports, problem)
}

func (s *healthSink) last() (error, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.reports) == 0 {
		return nil, false
	}
	return s.reports[len(s.reports)-1], true
}

// A password Dovecot refuses is reported as the channel's credentials problem, and the channel
// keeps trying; with the password fixed (here: a channel built with it) it reports healthy.
func TestRefusedLoginIsReportedUnauthorized(t *testing.T) {
	peers := mailpeer.Start(t)
	run := func(password string) *healthSink {
		store, err := blobs.New(t.TempDir(), 1<<20)
		require.NoError(t, err)
		cfg := email.DefaultConfig()
		cfg.IMAP.Address, cfg.IMAP.CAFile = peers.IMAPSAddr, peers.CAFile
		cfg.IMAP.User, cfg.IMAP.Password = peers.Agent.Addr, settings.Secret(password)
		cfg.SMTP.Address, cfg.From = peers.SubmissionsAddr, peers.Agent.Addr
		ch, err := email.New("mail", *cfg, email.Deps{Blobs: store, Cursors: &memCursors{}, Records: &memCursors{}})
		require.NoError(t, err)
		sink := &healthSink{}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- ch.Run(ctx, sink) }()
		t.Cleanup(func() { cancel(); require.NoError(t, <-done) })
		return sink
	}
	bad := run("wrong-password")
	require.Eventually(t, func() bool {
		err, ok := bad.last()
		return ok && connectors.IsUnauthorized(err)
	}, 30*time.Second, 50*time.Millisecond, "a refused login must be reported as ErrUnauthorized")

	good := run(peers.Agent.Pass)
	require.Eventually(t, func() bool {
		err, ok := good.last()
		return ok && err == nil
	}, 30*time.Second, 50*time.Millisecond, "a working login is reported healthy")
}
