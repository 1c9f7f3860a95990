package email_test

import (
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/channel/email"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/store/blobs"
)

// fakeSubmission is a go-smtp server answering the step it is told to fail with the given
// SMTP error, so the channel's classes of SMTP answers can be checked one by one. The real
// server's answers are covered by the tests against Postfix.
type fakeSubmission struct {
	mu       sync.Mutex
	failAt   string // "auth", "mail", "rcpt", "data"; "hangup" drops the connection after DATA
	err      *smtp.SMTPError
	noAuth   bool
	received [][]byte
}

func (f *fakeSubmission) NewSession(*smtp.Conn) (smtp.Session, error) { return &fakeSession{f: f}, nil }

type fakeSession struct {
	f      *fakeSubmission
	authed bool
}

func (s *fakeSession) fail(step string) error {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	if s.f.failAt == step {
		return s.f.err
	}
	return nil
}

func (s *fakeSession) AuthMechanisms() []string {
	if s.f.noAuth {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *fakeSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if err := s.fail("auth"); err != nil {
			return err
		}
		s.authed = true
		return nil
	}), nil
}

func (s *fakeSession) Mail(string, *smtp.MailOptions) error {
	if !s.authed {
		return smtp.ErrAuthRequired
	}
	return s.fail("mail")
}
func (s *fakeSession) Rcpt(string, *smtp.RcptOptions) error { return s.fail("rcpt") }
func (s *fakeSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if err := s.fail("data"); err != nil {
		return err
	}
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	s.f.received = append(s.f.received, raw)
	return nil
}
func (s *fakeSession) Reset()        {}
func (s *fakeSession) Logout() error { return nil }

// startFakeSubmission serves f on loopback, plain (the channel allows that on loopback only).
func startFakeSubmission(t *testing.T, f *fakeSubmission) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := smtp.NewServer(f)
	srv.AllowInsecureAuth = true
	srv.Domain = "localhost"
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// hangup accepts connections and closes each after reading a while, as a server or network
// that dies mid-transaction.
func hangup(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte("220 localhost ESMTP\r\n"))
			time.Sleep(10 * time.Millisecond)
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

func plainChannel(t *testing.T, smtpAddr string) *email.Channel {
	t.Helper()
	store, err := blobs.New(t.TempDir(), 1<<20)
	require.NoError(t, err)
	cfg := email.DefaultConfig()
	cfg.AllowPlaintext = true
	cfg.IMAP.Address, cfg.IMAP.TLS, cfg.IMAP.User, cfg.IMAP.Password = "127.0.0.1:1", email.TLSPlain, "support@casino.test", "pw"
	cfg.SMTP.Address, cfg.SMTP.TLS, cfg.SMTP.Timeout = smtpAddr, email.TLSPlain, 5*time.Second
	cfg.From = "support@casino.test"
	ch, err := email.New("mail", *cfg, email.Deps{Blobs: store, Cursors: &memCursors{}, Records: &memCursors{}})
	require.NoError(t, err)
	return ch
}

func replyTo(player string) (normalize.Conversation, normalize.Message) {
	conv := normalize.Conversation{ID: normalize.NewConversationID(), Channel: "mail", ChannelKind: normalize.KindEmail,
		Address: email.NewToken(), Player: normalize.Author{Role: normalize.RolePlayer, DisplayName: "Ann", Email: player}}
	msg := normalize.Message{ID: normalize.NewMessageID(), Direction: normalize.Outbound, Conversation: conv.ID,
		Author: normalize.Author{Role: normalize.RoleAgent}, Kind: normalize.KindText, Text: "Your withdrawal is on its way."}
	return conv, msg
}

func TestSendClassifiesSMTPAnswers(t *testing.T) {
	type class int
	const (
		retryable class = iota
		permanent
		unauthorized
	)
	for _, tc := range []struct {
		name string
		f    *fakeSubmission
		want class
	}{
		{"535 auth refused", &fakeSubmission{failAt: "auth", err: &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "bad credentials"}}, unauthorized},
		{"454 auth failed for now", &fakeSubmission{failAt: "auth", err: &smtp.SMTPError{Code: 454, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "try later"}}, retryable},
		{"no AUTH offered", &fakeSubmission{noAuth: true}, unauthorized},
		{"451 at MAIL", &fakeSubmission{failAt: "mail", err: &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "local error"}}, retryable},
		{"550 unknown recipient", &fakeSubmission{failAt: "rcpt", err: &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}}, permanent},
		{"452 mailbox full for now", &fakeSubmission{failAt: "rcpt", err: &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 2, 2}, Message: "full"}}, retryable},
		{"554 rejected at DATA", &fakeSubmission{failAt: "data", err: &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "spam"}}, permanent},
		{"421 at DATA", &fakeSubmission{failAt: "data", err: &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 4, 2}, Message: "closing"}}, retryable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch := plainChannel(t, startFakeSubmission(t, tc.f))
			conv, msg := replyTo("ann@player.test")
			_, err := ch.Send(t.Context(), conv, msg)
			require.Error(t, err)
			switch tc.want {
			case retryable:
				require.False(t, connectors.IsPermanent(err), "Send() = %v", err)
				require.False(t, connectors.IsUnauthorized(err), "Send() = %v", err)
			case permanent:
				require.True(t, connectors.IsPermanent(err), "Send() = %v", err)
			case unauthorized:
				require.True(t, connectors.IsUnauthorized(err), "Send() = %v", err)
				require.False(t, connectors.IsPermanent(err), "Send() = %v", err)
			}
		})
	}
	t.Run("connection lost", func(t *testing.T) {
		ch := plainChannel(t, hangup(t))
		conv, msg := replyTo("ann@player.test")
		_, err := ch.Send(t.Context(), conv, msg)
		require.Error(t, err)
		require.False(t, connectors.IsPermanent(err), "Send() = %v", err)
	})
	t.Run("nobody listens", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := ln.Addr().String()
		ln.Close()
		ch := plainChannel(t, addr)
		conv, msg := replyTo("ann@player.test")
		_, err = ch.Send(t.Context(), conv, msg)
		require.Error(t, err)
		require.False(t, connectors.IsPermanent(err), "Send() = %v", err)
	})
	t.Run("no address to answer", func(t *testing.T) {
		f := &fakeSubmission{}
		ch := plainChannel(t, startFakeSubmission(t, f))
		conv, msg := replyTo("")
		_, err := ch.Send(t.Context(), conv, msg)
		require.True(t, connectors.IsPermanent(err), "Send() = %v", err)
		require.Empty(t, f.received)
	})
}

func TestSendReturnsItsMessageID(t *testing.T) {
	f := &fakeSubmission{}
	ch := plainChannel(t, startFakeSubmission(t, f))
	conv, msg := replyTo("ann@player.test")
	id, err := ch.Send(t.Context(), conv, msg)
	require.NoError(t, err)
	require.Equal(t, normalize.ExternalID(email.ReplyMessageID(ch, msg.ID)), id)
	again, err := ch.Send(t.Context(), conv, msg)
	require.NoError(t, err)
	require.Equal(t, id, again, "every attempt carries the same Message-ID")
	require.Len(t, f.received, 2)
	require.Contains(t, string(f.received[0]), "Message-Id: <"+string(id)+">")
}
