package mailpeer_test

import (
	"bytes"
	"errors"
	"net"
	"net/smtp"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap"
	"github.com/emersion/go-imap/client"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/test/mailpeer"
)

// These tests prove test/peers/mail.sh end to end, with the clients the email connector's
// tests will use: each path a mail takes between a player and support, on the real servers.

func TestMain(m *testing.M) { mailpeer.Main(m) }

// A player's mail handed to the MX lands in support's INBOX, and a client IDLE on that INBOX
// hears of it without asking.
func TestPlayerMailReachesSupportInboxAndIDLEAnnouncesIt(t *testing.T) {
	env := mailpeer.Start(t)

	// Over the IMAP port with STARTTLS, as the connector's intake may connect.
	c, err := client.Dial(env.IMAPAddr)
	require.NoError(t, err)
	c.Timeout = time.Minute
	defer func() { _ = c.Logout() }()
	require.NoError(t, c.StartTLS(env.TLSConfig()))
	require.NoError(t, c.Login(env.Support.Addr, env.Support.Pass))
	idle, err := c.Support("IDLE")
	require.NoError(t, err)
	require.True(t, idle, "the server must offer IDLE, or the connector falls back to polling untested")
	_, err = c.Select("INBOX", true)
	require.NoError(t, err)

	updates := make(chan client.Update, 64)
	announced := make(chan struct{}, 1)
	stopDrain := make(chan struct{})
	defer close(stopDrain)
	go func() {
		for {
			select {
			case up := <-updates:
				if _, ok := up.(*client.MailboxUpdate); ok {
					select {
					case announced <- struct{}{}:
					default:
					}
				}
			case <-stopDrain:
				return
			}
		}
	}()
	c.Updates = updates
	stop := make(chan struct{})
	idled := make(chan error, 1)
	// A negative PollInterval forbids go-imap's NOOP polling, so only a real IDLE passes.
	go func() { idled <- c.Idle(stop, &client.IdleOptions{LogoutTimeout: -1, PollInterval: -1}) }()
	time.Sleep(200 * time.Millisecond) // let IDLE begin: what it announces is what came after

	msg := mailpeer.NewMessage(env.Player.Addr, env.Support.Addr, "Auszahlung seit 5 Tagen offen – Konto 4711",
		"Hallo,\nmeine Auszahlung von 250 € ist seit Montag offen.\nGrüße")
	sent := time.Now()
	require.NoError(t, env.Inject(msg.From, msg.To, msg.Bytes()))
	select {
	case <-announced:
		t.Logf("IDLE announced the mail %s after it was handed to SMTP", time.Since(sent).Round(time.Millisecond))
	case <-time.After(30 * time.Second):
		t.Fatal("IDLE announced nothing within 30 s of the mail being handed to SMTP")
	}
	close(stop)
	require.NoError(t, <-idled)

	got := env.WaitFor(t, env.Support, "INBOX", mailpeer.WithMessageID(msg.MessageID))
	require.Equal(t, msg.Subject, got.Subject())
	require.Equal(t, env.Player.Addr, got.Header.Get("From"))
	text, err := got.Text()
	require.NoError(t, err)
	require.Equal(t, msg.Text, strings.TrimRight(text, "\n"))
	require.NotContains(t, got.Flags, imap.SeenFlag, "reading through mailpeer marks nothing \\Seen")
	// Postfix took it over SMTP and handed it to Dovecot over LMTP.
	require.Contains(t, strings.Join(got.Header["Received"], "\n"), "(Postfix) with ")
}

// The gateway's replies: support authenticates on submission (STARTTLS) or submissions
// (implicit TLS), and the mail reaches the player's mailbox with its threading headers.
func TestSupportSubmitsToPlayer(t *testing.T) {
	env := mailpeer.Start(t)
	for name, mode := range map[string]mailpeer.TLSMode{"submission STARTTLS": mailpeer.StartTLS, "submissions TLS": mailpeer.ImplicitTLS} {
		t.Run(name, func(t *testing.T) {
			msg := mailpeer.NewMessage(env.Support.Addr, env.Player.Addr, "Re: Withdrawal [#"+name+"]", "Your withdrawal left today.")
			msg.Header["In-Reply-To"] = "<player-1@example.test>"
			msg.Header["References"] = "<player-1@example.test>"
			require.NoError(t, env.Submit(env.Support, mode, msg.From, msg.To, msg.Bytes()))

			got := env.WaitFor(t, env.Player, "INBOX", mailpeer.WithMessageID(msg.MessageID))
			require.Equal(t, "<player-1@example.test>", got.Header.Get("In-Reply-To"))
			require.Equal(t, msg.Subject, got.Subject())
			require.Contains(t, strings.Join(got.Header["Received"], "\n"), "SMTPSA id", "sent over TLS (S) and authenticated (A)")
		})
	}
}

// Submission is what a real provider's is: no AUTH on plain text, no sending without AUTH,
// no AUTH with a wrong password. A connector that skips STARTTLS or AUTH fails here too.
func TestSubmissionWantsTLSAndAuth(t *testing.T) {
	env := mailpeer.Start(t)
	host, _, _ := net.SplitHostPort(env.SubmissionAddr)
	dial := func(t *testing.T) *smtp.Client {
		conn, err := net.DialTimeout("tcp", env.SubmissionAddr, 10*time.Second)
		require.NoError(t, err)
		require.NoError(t, conn.SetDeadline(time.Now().Add(30*time.Second)))
		c, err := smtp.NewClient(conn, host)
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		return c
	}

	t.Run("plain text", func(t *testing.T) {
		c := dial(t)
		require.NoError(t, c.Hello("localhost"))
		auth, _ := c.Extension("AUTH")
		require.False(t, auth, "AUTH offered before STARTTLS")
		requireCode(t, c.Mail(env.Support.Addr), 530) // Must issue a STARTTLS command first
	})
	t.Run("TLS without AUTH", func(t *testing.T) {
		c := dial(t)
		require.NoError(t, c.StartTLS(env.TLSConfig()))
		ok, mechs := c.Extension("AUTH")
		require.True(t, ok)
		require.Contains(t, mechs, "PLAIN")
		require.Contains(t, mechs, "LOGIN")
		err := c.Mail(env.Support.Addr)
		if err == nil {
			err = c.Rcpt(env.Player.Addr)
		}
		requireCode(t, err, 554) // Access denied
	})
	t.Run("wrong password", func(t *testing.T) {
		c := dial(t)
		require.NoError(t, c.StartTLS(env.TLSConfig()))
		requireCode(t, c.Auth(smtp.PlainAuth("", env.Support.Addr, "wrong", host)), 535)
	})
}

func requireCode(t *testing.T, err error, code int) {
	t.Helper()
	var te *textproto.Error
	require.True(t, errors.As(err, &te), "want an SMTP %d reply, got %v", code, err)
	require.Equal(t, code, te.Code, te.Msg)
}

// An operator's MTA piping mail to the gateway: LMTP delivers straight into support's INBOX,
// plus-address included (the connector's reply token).
func TestLMTPDeliversToSupport(t *testing.T) {
	env := mailpeer.Start(t)
	msg := mailpeer.NewMessage(env.Player.Addr, "support+T1234@"+env.Domain, "KYC documents", "Attached my passport.")
	require.NoError(t, env.DeliverLMTP(msg.From, msg.To, msg.Bytes()))
	got := env.WaitFor(t, env.Support, "INBOX", mailpeer.WithMessageID(msg.MessageID))
	require.Equal(t, "support+T1234@"+env.Domain, got.Header.Get("To"))
	require.Len(t, got.Header["Received"], 1, "Dovecot's own, no Postfix")
	require.Contains(t, got.Header.Get("Received"), "with LMTP")

	err := env.DeliverLMTP(msg.From, []string{"nobody@" + env.Domain}, msg.Bytes())
	require.ErrorContains(t, err, "550", "an unknown user is refused for good")
}

// A player writing from a plus-address of support over SMTP reaches support too, and mail
// the gateway sends to any other domain stays on this machine, in catchall's INBOX.
func TestAddressing(t *testing.T) {
	env := mailpeer.Start(t)
	t.Run("plus-address over SMTP", func(t *testing.T) {
		msg := mailpeer.NewMessage(env.Player.Addr, "support+T77@"+env.Domain, "Re: [#77] bonus", "Still waiting.")
		require.NoError(t, env.Inject(msg.From, msg.To, msg.Bytes()))
		env.WaitFor(t, env.Support, "INBOX", mailpeer.WithMessageID(msg.MessageID))
	})
	t.Run("other domain to catchall", func(t *testing.T) {
		msg := mailpeer.NewMessage(env.Support.Addr, "high.roller@players.example.com", "Your ticket", "Answered.")
		require.NoError(t, env.Submit(env.Support, mailpeer.StartTLS, msg.From, msg.To, msg.Bytes()))
		got := env.WaitFor(t, env.Catchall, "INBOX", mailpeer.WithMessageID(msg.MessageID))
		require.Equal(t, "high.roller@players.example.com", got.Header.Get("To"), "the header keeps the real recipient")
	})
	t.Run("unknown user of the domain", func(t *testing.T) {
		msg := mailpeer.NewMessage(env.Player.Addr, "nobody@"+env.Domain, "hello", "?")
		requireCode(t, env.Inject(msg.From, msg.To, msg.Bytes()), 550)
	})
}

// Support has the special-use folders the connector needs: Sent, where it can look for its
// own Message-ID after a send of unknown outcome, and Archive, where intake may move mail.
func TestSupportFolders(t *testing.T) {
	env := mailpeer.Start(t)
	c, err := env.DialIMAP(env.Support)
	require.NoError(t, err)
	defer func() { _ = c.Logout() }()

	boxes := make(chan *imap.MailboxInfo, 16)
	require.NoError(t, c.List("", "*", boxes))
	uses := map[string]string{}
	for b := range boxes {
		for _, a := range b.Attributes {
			if strings.HasPrefix(a, `\`) && a != imap.NoInferiorsAttr && a != `\HasNoChildren` && a != `\HasChildren` {
				uses[a] = b.Name
			}
		}
	}
	require.Equal(t, "Sent", uses[imap.SentAttr], "LIST attributes: %v", uses)
	require.Equal(t, "Archive", uses[imap.ArchiveAttr], "LIST attributes: %v", uses)
	for _, capa := range []string{"IDLE", "MOVE", "UIDPLUS", "SPECIAL-USE"} {
		ok, err := c.Support(capa)
		require.NoError(t, err)
		require.True(t, ok, capa)
	}

	// What the connector does with them: keep a copy of a reply in Sent, move handled mail to
	// Archive.
	reply := mailpeer.NewMessage(env.Support.Addr, env.Player.Addr, "Re: bonus", "Credited.")
	require.NoError(t, c.Append("Sent", []string{imap.SeenFlag}, time.Now(), bytes.NewBuffer(reply.Bytes())))
	got := env.WaitFor(t, env.Support, "Sent", mailpeer.WithMessageID(reply.MessageID))
	require.Contains(t, got.Flags, imap.SeenFlag)

	in := mailpeer.NewMessage(env.Player.Addr, env.Support.Addr, "Done, thanks", "Thanks!")
	require.NoError(t, env.Inject(in.From, in.To, in.Bytes()))
	handled := env.WaitFor(t, env.Support, "INBOX", mailpeer.WithMessageID(in.MessageID))
	_, err = c.Select("INBOX", false)
	require.NoError(t, err)
	set := new(imap.SeqSet)
	set.AddNum(handled.UID)
	require.NoError(t, c.UidMove(set, "Archive"))
	env.WaitFor(t, env.Support, "Archive", mailpeer.WithMessageID(in.MessageID))
	inbox, err := env.Messages(env.Support, "INBOX")
	require.NoError(t, err)
	for _, m := range inbox {
		require.NotEqual(t, in.MessageID, m.MessageID(), "moved, not copied")
	}
}

// An empty mailbox reads as no mail, not as an error.
func TestEmptyMailbox(t *testing.T) {
	env := mailpeer.Start(t)
	got, err := env.Messages(env.Agent, "Drafts")
	require.NoError(t, err)
	require.Empty(t, got)
}
