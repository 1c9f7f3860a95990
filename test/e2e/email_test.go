package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap"
	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/test/loopback"
	"github.com/casino-support/gateway/test/mailpeer"
)

// The e-mail tests need the real mail servers; Main stops them when this process started them.
func TestMain(m *testing.M) { mailpeer.Main(m) }

// TestEmailSIGKILLLosesAndDoublesNothing kills the gateway with SIGKILL at random moments
// while it takes in a mailbox (between fetching, storing, marking \Seen and advancing its
// cursor) and restarts it: every mail reaches the helpdesk once, and every mail ends \Seen.
// The channel reads a folder of its own in support's mailbox on the real Dovecot.
func TestEmailSIGKILLLosesAndDoublesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test builds and runs the binary")
	}
	peers := mailpeer.Start(t)
	folder := peers.TempFolder(t, peers.Support, "e2e")
	c, err := peers.DialIMAP(peers.Support)
	require.NoError(t, err)
	const mails = 40
	marker := fmt.Sprintf("m%d", time.Now().UnixNano())
	put := func(i int) {
		m := mailpeer.NewMessage(peers.Player.Addr, peers.Support.Addr, fmt.Sprintf("Question %d", i), fmt.Sprintf("%s-%02d: where is my money?", marker, i))
		require.NoError(t, c.Append(folder, nil, time.Now(), bytes.NewReader(m.Bytes())))
	}
	for i := range mails / 2 {
		put(i)
	}

	e := emailGateway(t, emailChannel(peers, "mail", folder, ""))
	e.start()
	for k := range 4 {
		time.Sleep(time.Duration(100+rand.IntN(500)) * time.Millisecond)
		if k == 1 {
			for i := mails / 2; i < mails; i++ {
				put(i)
			}
		}
		e.kill()
		e.start()
	}
	require.NoError(t, c.Logout())

	requireEachMailOnce(t, e.helpdesk, marker, mails)

	requireAllSeen(t, peers, folder, mails)
}

// requireAllSeen waits until folder in support's mailbox holds n mails, all \Seen: the
// channel marks a mail only once the store has it.
func requireAllSeen(t *testing.T, peers *mailpeer.Env, folder string, n int) {
	t.Helper()
	require.Eventually(t, func() bool {
		all, err := peers.Messages(peers.Support, folder)
		if err != nil || len(all) != n {
			return false
		}
		for _, m := range all {
			if !slices.Contains(m.Flags, imap.SeenFlag) {
				return false
			}
		}
		return true
	}, 30*time.Second, 100*time.Millisecond, "every mail is marked \\Seen once stored")
}

// emailChannel is the YAML of a channel name reading folder in support's mailbox on the real
// Dovecot, replying through Postfix, with extra (lines indented by four spaces) appended.
func emailChannel(peers *mailpeer.Env, name, folder, extra string) string {
	return fmt.Sprintf(`  - name: %s
    type: email
    imap: {address: %q, ca_file: %q, user: %q, password: %q, mailbox: %q, poll_interval: 1s}
    smtp: {address: %q, ca_file: %q}
    from: %q
`, name, peers.IMAPSAddr, peers.CAFile, peers.Support.Addr, peers.Support.Pass, folder,
		peers.SubmissionsAddr, peers.CAFile, peers.Support.Addr) + extra
}

// emailGateway configures (does not start) a gateway with channels and the loopback helpdesk
// on a fake remote.
func emailGateway(t *testing.T, channels string) *env {
	t.Helper()
	return newEnvWith(t, "  backoff_base: 50ms\n  backoff_max: 500ms", func(string) string { return channels })
}

// requireEachMailOnce waits until the helpdesk holds the mails whose texts begin with
// marker-00 to marker-(mails-1), and then checks each is there once, each in a ticket of its
// own.
func requireEachMailOnce(t *testing.T, helpdesk *loopback.FakeHelpdeskRemote, marker string, mails int) {
	t.Helper()
	got := func() []string {
		var texts []string
		for _, tk := range helpdesk.Tickets() {
			for _, m := range tk.Messages {
				if i := strings.Index(m.Text, marker+"-"); i >= 0 {
					texts = append(texts, m.Text[i:i+len(marker)+3])
				}
			}
		}
		slices.Sort(texts)
		return texts
	}
	require.Eventually(t, func() bool { return len(got()) >= mails }, 2*time.Minute, 50*time.Millisecond,
		"the helpdesk holds %d of %d mails", len(got()), mails)
	time.Sleep(time.Second) // a doubled one would come about now
	want := make([]string, mails)
	for i := range want {
		want[i] = fmt.Sprintf("%s-%02d", marker, i)
	}
	require.Equal(t, want, got(), "every mail once")
	require.Equal(t, mails, helpdesk.TicketCount(), "each mail opened one thread, and each thread one ticket")
}

// TestEmailIntakeSIGKILLLosesAndDoublesNothing kills the gateway with SIGKILL while MTAs hand
// it mail over LMTP and SMTP, several times, and restarts it. The MTAs keep a mail queued
// until it is answered 250 and send it again otherwise (a refused connection, a 4xx, a
// transaction cut before its answer), as Postfix does: every mail reaches the helpdesk once,
// none lost (250 only once stored) and none doubled (the store drops a mail it has by its
// Message-ID, also when the kill came between storing and answering).
func TestEmailIntakeSIGKILLLosesAndDoublesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test builds and runs the binary")
	}
	peers := mailpeer.Start(t)
	folder := peers.TempFolder(t, peers.Support, "e2e") // stays empty: the mail comes through the intakes
	lmtpAddr, smtpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t)), fmt.Sprintf("127.0.0.1:%d", freePort(t))
	intake := func(protocol, addr string) string {
		return fmt.Sprintf("    intake: {protocol: %s, address: %q}\n    max_mail_bytes: 65536\n", protocol, addr)
	}
	e := emailGateway(t, emailChannel(peers, "mail-lmtp", folder, intake("lmtp", lmtpAddr))+
		emailChannel(peers, "mail-smtp", folder, intake("smtp", smtpAddr)))
	e.start()

	const mails, senders, kills = 60, 4, 4
	marker := fmt.Sprintf("m%d", time.Now().UnixNano())
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	next := make(chan int, mails)
	for i := range mails {
		next <- i
	}
	close(next)
	var accepted, unanswered atomic.Int64
	errs := make(chan error, senders)
	for range senders {
		go func() {
			for i := range next {
				m := mailpeer.NewMessage(peers.Player.Addr, peers.Support.Addr, fmt.Sprintf("Question %d", i),
					fmt.Sprintf("%s-%02d: where is my money?\n%s", marker, i, strings.Repeat("The details. ", 300)))
				protocol, addr := "lmtp", lmtpAddr
				if i%2 == 1 {
					protocol, addr = "smtp", smtpAddr
				}
				cut, err := mtaDeliver(ctx, protocol, addr, m.From, m.To[0], m.Bytes())
				unanswered.Add(int64(cut))
				if err != nil {
					errs <- fmt.Errorf("mail %d over %s: %w", i, protocol, err)
					return
				}
				accepted.Add(1)
			}
			errs <- nil
		}()
	}
	// Each kill waits for more mail to be accepted, so that it falls among transactions.
	for k := range kills {
		for accepted.Load() < int64((k+1)*mails/(kills+2)) && ctx.Err() == nil {
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(time.Duration(rand.IntN(30)) * time.Millisecond)
		e.kill()
		e.start()
	}
	for range senders {
		require.NoError(t, <-errs)
	}
	t.Logf("%d transactions were cut before their final answer and sent again", unanswered.Load())
	require.Positive(t, unanswered.Load(), "the kills fell between transactions only: the test showed nothing")
	requireEachMailOnce(t, e.helpdesk, marker, mails)

	// A mail over max_mail_bytes is refused for good (the MTA bounces it to the player), an
	// automatic reply is taken and dropped; /metrics counts both.
	big := mailpeer.NewMessage(peers.Player.Addr, peers.Support.Addr, "Scans", strings.Repeat("x", 70<<10))
	_, err := mtaDeliver(ctx, "lmtp", lmtpAddr, big.From, big.To[0], big.Bytes())
	var se *smtp.SMTPError
	require.ErrorAs(t, err, &se)
	require.Equal(t, 552, se.Code)
	ooo := mailpeer.NewMessage(peers.Player.Addr, peers.Support.Addr, "Out of office", "I am away.")
	ooo.Header["Auto-Submitted"] = "auto-replied"
	_, err = mtaDeliver(ctx, "lmtp", lmtpAddr, ooo.From, ooo.To[0], ooo.Bytes())
	require.NoError(t, err)
	metrics := e.metrics()
	require.Contains(t, metrics, `gateway_email_oversized_total{channel="mail-lmtp",what="mail_refused"} 1`)
	require.Contains(t, metrics, `gateway_email_dropped_total{channel="mail-lmtp",reason="auto_reply"} 1`)
	require.Contains(t, metrics, `gateway_email_dropped_total{channel="mail-smtp",reason="auto_reply"} 0`)
}

// mtaDeliver hands raw to the intake at addr over protocol as an MTA does: it keeps the mail
// until the server answers 250 for it, and tries again, after a short wait, after a refused
// connection, a 4xx or a transaction cut before its final answer. cut counts the
// transactions that began (the connection was open) and got no final answer. A 5xx is an
// error: the intake refused the mail for good.
func mtaDeliver(ctx context.Context, protocol, addr, from, to string, raw []byte) (cut int, err error) {
	for {
		began, err := mtaTransaction(protocol, addr, from, to, raw)
		var se *smtp.SMTPError
		switch {
		case err == nil:
			return cut, nil
		case errors.As(err, &se) && se.Code >= 500:
			return cut, err
		case began && !errors.As(err, &se):
			cut++
		}
		select {
		case <-ctx.Done():
			return cut, fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// mtaTransaction is one attempt of mtaDeliver; began reports whether the connection was made.
func mtaTransaction(protocol, addr, from, to string, raw []byte) (began bool, err error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return false, err
	}
	var c *smtp.Client
	if protocol == "lmtp" {
		c = smtp.NewClientLMTP(conn)
	} else {
		c = smtp.NewClient(conn)
	}
	defer c.Close()
	c.CommandTimeout, c.SubmissionTimeout = 30*time.Second, 30*time.Second
	if err := c.Hello("mta.example.test"); err != nil {
		return true, err
	}
	if err := c.Mail(from, nil); err != nil {
		return true, err
	}
	if err := c.Rcpt(to, nil); err != nil {
		return true, err
	}
	w, err := c.Data()
	if err != nil {
		return true, err
	}
	if _, err := w.Write(raw); err != nil {
		return true, err
	}
	if err := w.Close(); err != nil {
		var lmtp smtp.LMTPDataError
		if errors.As(err, &lmtp) && len(lmtp) == 1 {
			for _, e := range lmtp {
				return true, e // the one recipient's answer, an *smtp.SMTPError
			}
		}
		return true, err
	}
	_ = c.Quit()
	return true, nil
}

// TestEmailUIDValidityChangeDoublesNothing rebuilds the mailbox while the gateway is down, as
// a server migration does: the folder is deleted and made again (a new UIDVALIDITY, every flag
// gone) with the same mails and one new one. The gateway reads them all again, and the store
// drops what it has by Message-ID: the helpdesk gets the new mail, and nothing twice.
func TestEmailUIDValidityChangeDoublesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test builds and runs the binary")
	}
	peers := mailpeer.Start(t)
	folder := peers.TempFolder(t, peers.Support, "e2e")
	marker := fmt.Sprintf("m%d", time.Now().UnixNano())
	var mails [][]byte
	for i := range 6 {
		m := mailpeer.NewMessage(peers.Player.Addr, peers.Support.Addr, fmt.Sprintf("Question %d", i), fmt.Sprintf("%s-%02d: where is my money?", marker, i))
		mails = append(mails, m.Bytes())
	}
	c, err := peers.DialIMAP(peers.Support)
	require.NoError(t, err)
	defer c.Logout()
	for _, raw := range mails[:5] {
		require.NoError(t, c.Append(folder, nil, time.Now(), bytes.NewReader(raw)))
	}
	uidValidity := func() uint32 {
		st, err := c.Status(folder, []imap.StatusItem{imap.StatusUidValidity})
		require.NoError(t, err)
		return st.UidValidity
	}
	before := uidValidity()

	e := emailGateway(t, emailChannel(peers, "mail", folder, ""))
	e.start()
	requireEachMailOnce(t, e.helpdesk, marker, 5)
	e.kill()

	require.NoError(t, c.Delete(folder))
	time.Sleep(1100 * time.Millisecond) // Dovecot's UIDVALIDITY counts seconds
	require.NoError(t, c.Create(folder))
	for _, raw := range mails {
		require.NoError(t, c.Append(folder, nil, time.Now(), bytes.NewReader(raw)))
	}
	require.NotEqual(t, before, uidValidity(), "the rebuilt folder must have a new UIDVALIDITY, or this test shows nothing")

	e.start()
	requireEachMailOnce(t, e.helpdesk, marker, 6)
	requireAllSeen(t, peers, folder, len(mails))
}
