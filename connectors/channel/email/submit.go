package email

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/casino-support/gateway/connectors"
)

// submit sends raw to rcpt through the submission server, AUTH PLAIN (else LOGIN) over TLS
// or STARTTLS, within smtp.timeout.
func (c *Channel) submit(ctx context.Context, rcpt string, raw []byte) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.SMTP.Timeout)
	defer cancel()
	conn, err := dialTLS(ctx, c.cfg.SMTP.Address, c.cfg.SMTP.TLS, c.smtpTLS)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", c.cfg.SMTP.Address, err)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	var cl *smtp.Client
	if c.cfg.SMTP.TLS == TLSStartTLS {
		if cl, err = smtp.NewClientStartTLS(conn, c.smtpTLS); err != nil {
			conn.Close()
			return c.smtpError(ctx, "STARTTLS", err)
		}
	} else {
		cl = smtp.NewClient(conn)
	}
	defer cl.Close()
	if err := c.auth(cl); err != nil {
		return err
	}
	if err := cl.Mail(c.from, nil); err != nil {
		return c.smtpError(ctx, "MAIL FROM", err)
	}
	if err := cl.Rcpt(rcpt, nil); err != nil {
		return c.smtpError(ctx, "RCPT TO", err)
	}
	w, err := cl.Data()
	if err != nil {
		return c.smtpError(ctx, "DATA", err)
	}
	if _, err := io.Copy(w, bytes.NewReader(raw)); err != nil {
		return c.smtpError(ctx, "DATA", err)
	}
	if err := w.Close(); err != nil {
		return c.smtpError(ctx, "end of DATA", err)
	}
	_ = cl.Quit() // the mail is accepted; a lost QUIT changes nothing
	return nil
}

// auth logs in with PLAIN, else LOGIN. A server that offers neither (AUTH only after
// STARTTLS, a wrong port) or refuses the credentials wraps ErrUnauthorized: the operator
// fixes it, and the replies wait instead of turning into dead letters.
func (c *Channel) auth(cl *smtp.Client) error {
	user, pass := c.cfg.smtpUser()
	var mech sasl.Client
	switch {
	case cl.SupportsAuth(sasl.Plain):
		mech = sasl.NewPlainClient("", user, pass)
	case cl.SupportsAuth(sasl.Login):
		mech = sasl.NewLoginClient(user, pass)
	default:
		return connectors.Unauthorized(fmt.Errorf("%s offers neither AUTH PLAIN nor LOGIN (check smtp.tls and the port)", c.cfg.SMTP.Address))
	}
	if err := cl.Auth(mech); err != nil {
		var se *smtp.SMTPError
		if errors.As(err, &se) && se.Code >= 400 && se.Code < 500 {
			return fmt.Errorf("AUTH failed for now: %w", err)
		}
		return connectors.Unauthorized(fmt.Errorf("AUTH refused (check smtp.user and smtp.password): %w", err))
	}
	return nil
}

// smtpError classifies what the server answered to step: 5xx is permanent (a refused
// recipient, a rejected mail), 4xx and a broken connection are retried, and a deadline says
// so.
func (c *Channel) smtpError(ctx context.Context, step string, err error) error {
	var se *smtp.SMTPError
	var tlsErr *tls.CertificateVerificationError
	switch {
	case errors.As(err, &se) && se.Code >= 500:
		return connectors.Permanent(fmt.Errorf("%s: %w", step, err))
	case errors.As(err, &tlsErr):
		return fmt.Errorf("%s: the server's certificate is not trusted (smtp.ca_file): %w", step, err)
	case ctx.Err() != nil:
		return fmt.Errorf("%s: %w (%w)", step, err, ctx.Err())
	}
	return fmt.Errorf("%s: %w", step, err) // 4xx, a lost connection: retried
}
