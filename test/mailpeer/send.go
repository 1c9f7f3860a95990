package mailpeer

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/smtp"
	"net/textproto"
	"sort"
	"strings"
	"time"
)

// ioTimeout bounds every SMTP and LMTP conversation: a server that stops answering fails
// the test instead of hanging it until go test's own timeout.
const ioTimeout = 30 * time.Second

// Message is a plain-text mail as a person's mail client would write it.
type Message struct {
	From    string // bare address, also the envelope sender
	To      []string
	Subject string
	Text    string
	// MessageID is without angle brackets.
	MessageID string
	Date      time.Time
	// Header holds further fields, e.g. In-Reply-To, References, Auto-Submitted.
	Header map[string]string
}

// NewMessage returns a mail from from to to with a fresh Message-ID of from's domain.
func NewMessage(from, to, subject, text string) *Message {
	domain := from[strings.LastIndexByte(from, '@')+1:]
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return &Message{From: from, To: []string{to}, Subject: subject, Text: text,
		MessageID: hex.EncodeToString(b) + "@" + domain, Date: time.Now(), Header: map[string]string{}}
}

// Bytes renders m as RFC 5322 with CRLF line ends: UTF-8 text, quoted-printable, and the
// subject as encoded words when it is not ASCII.
func (m *Message) Bytes() []byte {
	var b bytes.Buffer
	h := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	h("From", m.From)
	h("To", strings.Join(m.To, ", "))
	h("Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	h("Date", m.Date.Format(time.RFC1123Z))
	h("Message-ID", "<"+m.MessageID+">")
	keys := make([]string, 0, len(m.Header))
	for k := range m.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		h(k, m.Header[k])
	}
	h("MIME-Version", "1.0")
	h("Content-Type", "text/plain; charset=utf-8")
	h("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	_, _ = qp.Write([]byte(strings.ReplaceAll(strings.ReplaceAll(m.Text, "\r\n", "\n"), "\n", "\r\n")))
	_ = qp.Close()
	b.WriteString("\r\n")
	return b.Bytes()
}

// Inject hands raw to the MX (SMTP, no AUTH, no TLS), as the player's provider would: this is
// how a player's mail reaches support.
func (e *Env) Inject(from string, to []string, raw []byte) error {
	conn, err := net.DialTimeout("tcp", e.SMTPAddr, ioTimeout)
	if err != nil {
		return err
	}
	return sendSMTP(conn, hostOf(e.SMTPAddr), nil, nil, from, to, raw)
}

// TLSMode is how Submit secures its connection.
type TLSMode int

const (
	// StartTLS is submission: plain connect, then STARTTLS.
	StartTLS TLSMode = iota
	// ImplicitTLS is submissions: TLS from the first byte.
	ImplicitTLS
)

// Submit sends raw as u through submission (STARTTLS) or submissions (implicit TLS),
// authenticated with AUTH PLAIN, as the gateway sends its replies.
func (e *Env) Submit(u User, mode TLSMode, from string, to []string, raw []byte) error {
	addr, cfg := e.SubmissionAddr, e.TLSConfig()
	var conn net.Conn
	var err error
	if mode == ImplicitTLS {
		addr = e.SubmissionsAddr
		conn, err = tls.DialWithDialer(&net.Dialer{Timeout: ioTimeout}, "tcp", addr, cfg)
		cfg = nil
	} else {
		conn, err = net.DialTimeout("tcp", addr, ioTimeout)
	}
	if err != nil {
		return err
	}
	host := hostOf(addr)
	return sendSMTP(conn, host, cfg, smtp.PlainAuth("", u.Addr, u.Pass, host), from, to, raw)
}

// sendSMTP runs one mail transaction on conn: STARTTLS first when starttls is set, AUTH when
// auth is.
func sendSMTP(conn net.Conn, host string, starttls *tls.Config, auth smtp.Auth, from string, to []string, raw []byte) error {
	_ = conn.SetDeadline(time.Now().Add(ioTimeout))
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return err
	}
	defer c.Close()
	if starttls != nil {
		if err := c.StartTLS(starttls); err != nil {
			return fmt.Errorf("STARTTLS: %w", err)
		}
	}
	if auth != nil {
		if err := c.Auth(auth); err != nil {
			return fmt.Errorf("AUTH: %w", err)
		}
	}
	if err := c.Mail(from); err != nil {
		return fmt.Errorf("MAIL FROM:<%s>: %w", from, err)
	}
	for _, r := range to {
		if err := c.Rcpt(r); err != nil {
			return fmt.Errorf("RCPT TO:<%s>: %w", r, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if _, err := w.Write(raw); err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("end of DATA: %w", err)
	}
	return c.Quit()
}

// DeliverLMTP delivers raw straight into the recipients' mailboxes through Dovecot's LMTP,
// as an operator's MTA piping mail to the gateway would. net/smtp speaks no LMTP (LHLO, one
// reply per recipient after the data), hence the few lines here.
func (e *Env) DeliverLMTP(from string, to []string, raw []byte) error {
	conn, err := net.DialTimeout("tcp", e.LMTPAddr, ioTimeout)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(ioTimeout))
	tp := textproto.NewConn(conn)
	if _, _, err := tp.ReadResponse(220); err != nil {
		return fmt.Errorf("LMTP greeting: %w", err)
	}
	cmd := func(code int, format string, args ...any) error {
		if err := tp.PrintfLine(format, args...); err != nil {
			return err
		}
		if _, _, err := tp.ReadResponse(code); err != nil {
			return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), err)
		}
		return nil
	}
	if err := cmd(250, "LHLO mailpeer.test"); err != nil {
		return err
	}
	if err := cmd(250, "MAIL FROM:<%s>", from); err != nil {
		return err
	}
	for _, r := range to {
		if err := cmd(250, "RCPT TO:<%s>", r); err != nil {
			return err
		}
	}
	if err := cmd(354, "DATA"); err != nil {
		return err
	}
	w := tp.DotWriter()
	if _, err := w.Write(raw); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	var errs []string
	for _, r := range to {
		if _, _, err := tp.ReadResponse(250); err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", r, err))
		}
	}
	_ = cmd(221, "QUIT")
	if len(errs) > 0 {
		return fmt.Errorf("LMTP delivery refused: %s", strings.Join(errs, "; "))
	}
	return nil
}

func hostOf(addr string) string {
	host, _, _ := net.SplitHostPort(addr)
	return host
}
