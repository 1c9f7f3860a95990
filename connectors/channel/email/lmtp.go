package email

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/casino-support/gateway/connectors"
)

// intakeTimeout bounds a client's silence on the intake listener.
const intakeTimeout = 5 * time.Minute

// serveIntake listens for mail from the operator's MTA over LMTP or SMTP until ctx ends (stop
// waits for the sessions to end). A mail is answered 250 only once stored (or dropped as
// noise), 4xx when it could not be stored (the MTA keeps it queued and tries again), 5xx only
// for what can never be taken (too large, refused by the store for good).
func (c *Channel) serveIntake(ctx context.Context, sink connectors.Sink) (stop func(), err error) {
	ln, err := net.Listen("tcp", c.cfg.Intake.Address)
	if err != nil {
		return nil, fmt.Errorf("intake listener: %w", err)
	}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &intakeSession{c: c, ctx: ctx, sink: sink}, nil
	}))
	srv.LMTP = c.cfg.Intake.Protocol == "lmtp"
	srv.Domain = c.domain
	srv.MaxMessageBytes = c.cfg.MaxMailBytes
	srv.MaxRecipients = 100
	srv.ReadTimeout, srv.WriteTimeout = intakeTimeout, intakeTimeout
	srv.ErrorLog = discardLog{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, smtp.ErrServerClosed) {
			c.log.Error("email: intake listener stopped", "err", err)
		}
	}()
	c.log.Info("email: intake listening", "protocol", c.cfg.Intake.Protocol, "address", ln.Addr().String())
	return func() {
		shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(shut); err != nil {
			srv.Close()
		}
		<-done
	}, nil
}

// intakeSession is one SMTP/LMTP session; every recipient is the support mailbox.
type intakeSession struct {
	c    *Channel
	ctx  context.Context
	sink connectors.Sink
}

func (s *intakeSession) Reset()                               {}
func (s *intakeSession) Logout() error                        { return nil }
func (s *intakeSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *intakeSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *intakeSession) tempFail(msg string, err error) error {
	s.c.log.Warn("email: intake mail not stored, the MTA will retry", "err", err)
	return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: msg}
}

// Data stores the mail before it answers. A plain error would become a permanent 554 in
// go-smtp, so every failure the MTA should retry is a 4xx SMTPError.
func (s *intakeSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	switch {
	case errors.Is(err, smtp.ErrDataTooLarge) || int64(len(raw)) > s.c.cfg.MaxMailBytes:
		// The MTA bounces it to the sender: that is the player's notice.
		s.c.metrics.oversized.WithLabelValues(oversizedRefused).Inc()
		return &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4}, Message: "Message too big for the support mailbox"}
	case err != nil:
		return s.tempFail("Could not read the message, try again", err)
	}
	ctx, cancel := context.WithTimeout(s.ctx, 2*time.Minute)
	defer cancel()
	it, err := s.c.prepare(ctx, raw, int64(len(raw)), false)
	if err != nil {
		return s.tempFail("Could not store the message, try again later", err)
	}
	if it.msg == nil { // noise or a bounce: settled without a message of its own
		if _, err := s.c.settle(ctx, s.sink, []item{it}); err != nil {
			return s.tempFail("Could not record the message, try again later", err)
		}
		return nil
	}
	if err := s.sink.Deliver(ctx, *it.msg); err != nil {
		if connectors.IsPermanent(err) {
			s.c.log.Error("email: intake mail refused for good", "external_id", it.messageID, "err", err)
			return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "The message cannot be accepted"}
		}
		return s.tempFail("Could not store the message, try again later", err)
	}
	s.c.stored(ctx, it)
	return nil
}
