package mailpeer

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap"
	"github.com/emersion/go-imap/client"
)

// WaitTimeout is how long WaitFor waits for a mail: Postfix hands mail on within a second,
// the rest is room for a loaded machine.
const WaitTimeout = 60 * time.Second

// Mail is one message of a mailbox, as IMAP returns it.
type Mail struct {
	UID   uint32
	Flags []string
	// Header is the message's header as written (encoded words not decoded: see Subject).
	Header mail.Header
	// Body is everything after the header, transfer encoding not undone (see Text).
	Body []byte
	// Raw is the whole message (BODY[]).
	Raw []byte
}

// ParseMail splits raw into header and body, as the mailbox readers here do.
func ParseMail(raw []byte) (Mail, error) {
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Mail{}, err
	}
	body, err := io.ReadAll(m.Body)
	if err != nil {
		return Mail{}, err
	}
	return Mail{Header: m.Header, Body: body, Raw: raw}, nil
}

// MessageID is the Message-ID without angle brackets.
func (m Mail) MessageID() string {
	return strings.Trim(strings.TrimSpace(m.Header.Get("Message-ID")), "<>")
}

// Subject is the decoded subject.
func (m Mail) Subject() string {
	s, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		return m.Header.Get("Subject")
	}
	return s
}

// Text is the first text/plain part, transfer encoding undone; charsets other than UTF-8 and
// ASCII are not converted. Line ends are "\n".
func (m Mail) Text() (string, error) {
	text, ok, err := plainText(m.Header, bytes.NewReader(m.Body))
	if err != nil {
		return "", err
	}
	if !ok {
		return "", errors.New("no text/plain part")
	}
	return strings.ReplaceAll(text, "\r\n", "\n"), nil
}

// header is what plainText reads of a mail's or a part's header.
type header interface{ Get(string) string }

func plainText(h header, body io.Reader) (string, bool, error) {
	ct := h.Get("Content-Type")
	if ct == "" {
		ct = "text/plain"
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return "", false, fmt.Errorf("Content-Type %q: %w", ct, err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		r := multipart.NewReader(body, params["boundary"])
		for {
			p, err := r.NextRawPart()
			if err == io.EOF {
				return "", false, nil
			}
			if err != nil {
				return "", false, err
			}
			if text, ok, err := plainText(p.Header, p); ok || err != nil {
				return text, ok, err
			}
		}
	}
	if mt != "text/plain" {
		return "", false, nil
	}
	switch strings.ToLower(h.Get("Content-Transfer-Encoding")) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body) // skips line breaks itself
	}
	b, err := io.ReadAll(body)
	return string(b), err == nil, err
}

// WithMessageID matches the mail whose Message-ID is id (without angle brackets).
func WithMessageID(id string) func(Mail) bool {
	return func(m Mail) bool { return m.MessageID() == id }
}

// WithSubject matches mail whose decoded subject contains s.
func WithSubject(s string) func(Mail) bool {
	return func(m Mail) bool { return strings.Contains(m.Subject(), s) }
}

// DialIMAP returns a client logged in as u over IMAPS. The caller logs out.
func (e *Env) DialIMAP(u User) (*client.Client, error) {
	c, err := client.DialWithDialerTLS(&net.Dialer{Timeout: ioTimeout}, e.IMAPSAddr, e.TLSConfig())
	if err != nil {
		return nil, err
	}
	c.Timeout = ioTimeout // a deadline for every command, IDLE included
	if err := c.Login(u.Addr, u.Pass); err != nil {
		_ = c.Logout()
		return nil, fmt.Errorf("IMAP LOGIN %s: %w", u.Addr, err)
	}
	return c, nil
}

// TempFolder creates a folder of u's named prefix and a random suffix, deleted when the test
// ends: a test that reads a folder of its own never takes another's mail.
func (e *Env) TempFolder(t testing.TB, u User, prefix string) string {
	t.Helper()
	folder := prefix + "-" + strings.ToLower(rand.Text()[:12])
	c, err := e.DialIMAP(u)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Logout()
	if err := c.Create(folder); err != nil {
		t.Fatalf("create folder %s: %v", folder, err)
	}
	t.Cleanup(func() {
		if c, err := e.DialIMAP(u); err == nil {
			_ = c.Delete(folder)
			_ = c.Logout()
		}
	})
	return folder
}

// Messages returns every message in u's mailbox, oldest first, without marking any \Seen.
func (e *Env) Messages(u User, mailbox string) ([]Mail, error) {
	c, err := e.DialIMAP(u)
	if err != nil {
		return nil, err
	}
	defer func() { _ = c.Logout() }()
	if _, err := c.Select(mailbox, true); err != nil {
		return nil, fmt.Errorf("EXAMINE %s: %w", mailbox, err)
	}
	return fetchFrom(c, 1)
}

// fetchFrom fetches the selected mailbox's messages with a UID of at least uid. It never
// reads c.Mailbox(): the client's reader goroutine changes it when mail comes in.
func fetchFrom(c *client.Client, uid uint32) ([]Mail, error) {
	set := new(imap.SeqSet)
	set.AddRange(uid, 0)
	section := &imap.BodySectionName{Peek: true}
	ch := make(chan *imap.Message, 16)
	done := make(chan error, 1)
	go func() {
		done <- c.UidFetch(set, []imap.FetchItem{imap.FetchUid, imap.FetchFlags, section.FetchItem()}, ch)
	}()
	var out []Mail
	var parseErr error
	for msg := range ch {
		// "UID n:*" also answers the last message when its UID is below n.
		if msg.Uid < uid {
			continue
		}
		lit := msg.GetBody(section)
		if lit == nil {
			parseErr = fmt.Errorf("UID %d: no body", msg.Uid)
			continue
		}
		raw, err := io.ReadAll(lit)
		if err != nil {
			parseErr = err
			continue
		}
		m, err := ParseMail(raw)
		if err != nil {
			parseErr = fmt.Errorf("UID %d: %w", msg.Uid, err)
			continue
		}
		m.UID, m.Flags = msg.Uid, msg.Flags
		out = append(out, m)
	}
	if err := <-done; err != nil {
		return nil, fmt.Errorf("UID FETCH: %w", err)
	}
	return out, parseErr
}

// notify returns a channel that receives when the server announces new mail on c (a
// MailboxUpdate: EXISTS or RECENT), until quit is closed. Only a signal: the mailbox status
// the update points to is the client's own, which its reader goroutine goes on changing.
func notify(c *client.Client) (news <-chan struct{}, quit chan struct{}) {
	// Updates must never block: the client's reader goroutine would stop with them.
	updates := make(chan client.Update, 64)
	ch := make(chan struct{}, 1)
	quit = make(chan struct{})
	go func() {
		for {
			select {
			case up := <-updates:
				if _, ok := up.(*client.MailboxUpdate); ok {
					select {
					case ch <- struct{}{}:
					default:
					}
				}
			case <-quit:
				return
			}
		}
	}()
	c.Updates = updates
	return ch, quit
}

// WaitFor waits up to WaitTimeout for a mail matching match in u's mailbox and returns it. It
// IDLEs between looks, so it returns as soon as the server announces the mail.
func (e *Env) WaitFor(t testing.TB, u User, mailbox string, match func(Mail) bool) Mail {
	t.Helper()
	m, err := e.waitFor(u, mailbox, match, WaitTimeout)
	if err != nil {
		t.Fatalf("waiting for mail in %s's %s: %v", u.Addr, mailbox, err)
	}
	return m
}

func (e *Env) waitFor(u User, mailbox string, match func(Mail) bool, timeout time.Duration) (Mail, error) {
	deadline := time.Now().Add(timeout)
	c, err := e.DialIMAP(u)
	if err != nil {
		return Mail{}, err
	}
	defer func() { _ = c.Logout() }()
	news, quit := notify(c)
	defer close(quit)
	if _, err := c.Select(mailbox, true); err != nil {
		return Mail{}, fmt.Errorf("EXAMINE %s: %w", mailbox, err)
	}
	next := uint32(1)
	var seen []string // the newest others, for the failure message
	others := 0
	for {
		got, err := fetchFrom(c, next)
		if err != nil {
			return Mail{}, err
		}
		for _, m := range got {
			next = max(next, m.UID+1)
			if match(m) {
				return m, nil
			}
			others++
			seen = append(seen, fmt.Sprintf("%q (%s)", m.Subject(), m.MessageID()))
			if len(seen) > 10 {
				seen = seen[1:]
			}
		}
		if time.Now().After(deadline) {
			return Mail{}, fmt.Errorf("no match within %s among %d mails; the newest: %s",
				timeout, others, strings.Join(seen, ", "))
		}
		// IDLE until the server announces mail, or a second passes: the second covers mail
		// that came between the fetch and the IDLE.
		stop := make(chan struct{})
		idled := make(chan error, 1)
		go func() { idled <- c.Idle(stop, &client.IdleOptions{LogoutTimeout: -1}) }()
		select {
		case <-news:
		case <-time.After(time.Second):
		}
		close(stop)
		if err := <-idled; err != nil {
			return Mail{}, fmt.Errorf("IDLE: %w", err)
		}
	}
}
