package email_test

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors/channel/email"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/store/blobs"
	"github.com/casino-support/gateway/test/conformance"
	"github.com/casino-support/gateway/test/mailpeer"
)

// freeAddr returns a loopback address nobody listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

// intakeChannel runs a channel whose only way in is the intake listener (its IMAP server is
// unreachable, which it keeps retrying without harm).
func intakeChannel(t *testing.T, protocol string, sink *conformance.RecordingSink) string {
	t.Helper()
	store, err := blobs.New(t.TempDir(), 1<<20)
	require.NoError(t, err)
	cfg := email.DefaultConfig()
	cfg.AllowPlaintext = true
	cfg.IMAP.Address, cfg.IMAP.TLS, cfg.IMAP.User, cfg.IMAP.Password = freeAddr(t), email.TLSPlain, "support@casino.test", "pw"
	cfg.SMTP.Address, cfg.SMTP.TLS = freeAddr(t), email.TLSPlain
	cfg.From = "support@casino.test"
	cfg.MaxMailBytes = 64 << 10
	cfg.Intake.Protocol, cfg.Intake.Address = protocol, freeAddr(t)
	ch, err := email.New("mail", *cfg, email.Deps{Blobs: store, Cursors: &memCursors{}, Records: &memCursors{}})
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- ch.Run(t.Context(), sink) }() // t.Context ends before the cleanups run
	t.Cleanup(func() {
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(15 * time.Second):
			t.Error("Run did not return after its context ended")
		}
	})
	require.Eventually(t, func() bool {
		c, err := net.Dial("tcp", cfg.Intake.Address)
		if err == nil {
			c.Close()
		}
		return err == nil
	}, 5*time.Second, 10*time.Millisecond)
	return cfg.Intake.Address
}

// handOver sends raw over LMTP or SMTP as an MTA does and returns the server's answer.
func handOver(t *testing.T, protocol, addr string, raw []byte) error {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	var c *smtp.Client
	if protocol == "lmtp" {
		c = smtp.NewClientLMTP(conn)
	} else {
		c = smtp.NewClient(conn)
	}
	defer c.Close()
	require.NoError(t, c.Hello("mta.casino.test"))
	require.NoError(t, c.Mail("player@player.test", nil))
	require.NoError(t, c.Rcpt("support@casino.test", nil))
	w, err := c.Data()
	require.NoError(t, err)
	_, err = w.Write(raw)
	require.NoError(t, err)
	return w.Close()
}

func smtpCode(err error) int {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se.Code
	}
	var lmtp smtp.LMTPDataError
	if errors.As(err, &lmtp) {
		for _, e := range lmtp {
			if errors.As(e, &se) {
				return se.Code
			}
		}
	}
	return 0
}

// The MTA is answered 250 only once the store has the mail, 4xx while it cannot store it (the
// MTA keeps it and tries again, and the store drops a second copy), 5xx for what can never be
// taken; noise is accepted and dropped.
func TestIntakeAnswersAfterStoring(t *testing.T) {
	for _, protocol := range []string{"lmtp", "smtp"} {
		t.Run(protocol, func(t *testing.T) {
			sink := &conformance.RecordingSink{}
			addr := intakeChannel(t, protocol, sink)
			m := mailpeer.NewMessage("player@player.test", "support@casino.test", "Deposit missing", "My deposit is missing.")

			sink.Fail(errors.New("store down"))
			err := handOver(t, protocol, addr, m.Bytes())
			require.Error(t, err)
			require.Equal(t, 451, smtpCode(err), "a mail that could not be stored stays with the MTA: %v", err)
			require.Empty(t, sink.Messages())

			sink.Fail(nil)
			require.NoError(t, handOver(t, protocol, addr, m.Bytes()), "the MTA's retry")
			got := sink.Messages()
			require.Len(t, got, 1)
			require.Equal(t, normalize.ExternalID(m.MessageID), got[0].ExternalID)
			require.Equal(t, "Deposit missing", got[0].Subject)
			require.Equal(t, "player@player.test", got[0].Author.Email)

			big := mailpeer.NewMessage("player@player.test", "support@casino.test", "Scans", strings.Repeat("x", 70<<10))
			err = handOver(t, protocol, addr, big.Bytes())
			require.Equal(t, 552, smtpCode(err), "too large for good: %v", err)

			ooo := mailpeer.NewMessage("player@player.test", "support@casino.test", "Out of office", "I am away.")
			ooo.Header["Auto-Submitted"] = "auto-replied"
			require.NoError(t, handOver(t, protocol, addr, ooo.Bytes()), "noise is taken, and dropped")
			require.Len(t, sink.Messages(), 1)
		})
	}
}
