package email

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-imap/client"

	"github.com/casino-support/gateway/connectors"
)

// imapCommandTimeout bounds one IMAP command (a FETCH of a large mail included); IDLE runs
// without it, bounded by its own restart.
const imapCommandTimeout = 2 * time.Minute

// dialTimeout bounds connecting and the TLS handshake.
const dialTimeout = 30 * time.Second

// imapConn is a logged-in IMAP connection whose socket closes when its context ends, so no
// command outlives the caller.
type imapConn struct {
	*client.Client
	stop func() bool
}

// close logs out, or drops the connection when logging out does not work.
func (ic *imapConn) close() {
	ic.stop()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = ic.Logout()
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = ic.Terminate()
	}
}

// dialIMAP connects and logs in. updates, when not nil, receives the server's unilateral
// messages (new mail during IDLE). A login the server refuses wraps
// connectors.ErrUnauthorized.
func (c *Channel) dialIMAP(ctx context.Context, updates chan<- client.Update) (*imapConn, error) {
	conn, err := dialTLS(ctx, c.cfg.IMAP.Address, c.cfg.IMAP.TLS, c.imapTLS)
	if err != nil {
		return nil, fmt.Errorf("connect to IMAP %s: %w", c.cfg.IMAP.Address, err)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	cl, err := client.New(conn)
	if err != nil {
		stop()
		conn.Close()
		return nil, fmt.Errorf("IMAP greeting of %s: %w", c.cfg.IMAP.Address, err)
	}
	cl.ErrorLog = discardLog{}
	cl.Updates = updates
	cl.Timeout = imapCommandTimeout
	ic := &imapConn{Client: cl, stop: stop}
	if c.cfg.IMAP.TLS == TLSStartTLS {
		if err := cl.StartTLS(c.imapTLS); err != nil {
			ic.drop()
			return nil, fmt.Errorf("IMAP STARTTLS with %s: %w", c.cfg.IMAP.Address, err)
		}
	}
	if err := cl.Login(c.cfg.IMAP.User, c.cfg.IMAP.Password.Value()); err != nil {
		ic.drop()
		return nil, loginError("IMAP", err)
	}
	return ic, nil
}

// drop closes the connection without logging out.
func (ic *imapConn) drop() {
	ic.stop()
	_ = ic.Terminate()
}

// loginError classifies a failed login: the server's NO is a refusal of the credentials
// (ErrUnauthorized), unless it says the failure is temporary; anything else is the network.
func loginError(protocol string, err error) error {
	var netErr net.Error
	switch {
	case errors.As(err, &netErr), errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed),
		strings.Contains(err.Error(), "connection closed"):
		return fmt.Errorf("%s login: %w", protocol, err)
	case strings.Contains(strings.ToLower(err.Error()), "temporar"):
		return fmt.Errorf("%s login failed for now: %w", protocol, err)
	}
	return fmt.Errorf("%s login refused (check the channel's user and password): %w", protocol, connectors.Unauthorized(err))
}

// dialTLS connects to address in mode: implicit TLS, or plain (also before STARTTLS).
func dialTLS(ctx context.Context, address, mode string, cfg *tls.Config) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	if mode == TLSImplicit {
		d := tls.Dialer{Config: cfg}
		return d.DialContext(ctx, "tcp", address)
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", address)
}

// discardLog silences go-imap's own logging: the channel logs what matters with context.
type discardLog struct{}

func (discardLog) Printf(string, ...any) {}
func (discardLog) Println(...any)        {}
