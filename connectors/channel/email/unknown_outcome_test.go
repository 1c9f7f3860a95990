package email_test

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/channel/email"
	"github.com/casino-support/gateway/connectors/settings"
	"github.com/casino-support/gateway/router/store/blobs"
	"github.com/casino-support/gateway/test/mailpeer"
)

// cutProxy stands between the channel (plain SMTP on loopback) and Postfix's submissions
// port (TLS), so it reads the transaction in clear. It forwards the first cuts mails whole,
// their final dot included, and then closes the channel's connection before Postfix's answer
// reaches it: Postfix took the mail, and the channel cannot know. file, when set, gets each
// such mail once Postfix accepted it, before the cut (a server that files submitted mail in
// Sent itself, as Gmail and Exchange do).
type cutProxy struct {
	upstream string
	tls      *tls.Config
	file     func(raw []byte) error

	cuts  atomic.Int64 // mails still to cut
	mails atomic.Int64 // mails forwarded whole, cut or not
	wg    sync.WaitGroup
}

func startCutProxy(t *testing.T, p *cutProxy) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Go(func() { p.relay(t, c) })
		}
	}()
	t.Cleanup(func() { ln.Close(); p.wg.Wait() })
	return ln.Addr().String()
}

func (p *cutProxy) relay(t *testing.T, client net.Conn) {
	defer client.Close()
	server, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", p.upstream, p.tls)
	if err != nil {
		t.Errorf("proxy: connect to Postfix: %v", err)
		return
	}
	defer server.Close()
	_ = client.SetDeadline(time.Now().Add(time.Minute))
	_ = server.SetDeadline(time.Now().Add(time.Minute))

	var cut atomic.Pointer[[]byte] // the mail whose answer is to be kept from the channel
	answered := make(chan struct{})
	go func() { // Postfix → channel
		defer close(answered)
		defer client.Close()
		buf := make([]byte, 4096)
		for {
			n, err := server.Read(buf)
			if raw := cut.Load(); raw != nil && n > 0 {
				if bytes.HasPrefix(buf[:n], []byte("250")) && p.file != nil {
					if err := p.file(*raw); err != nil {
						t.Errorf("proxy: file the mail in Sent: %v", err)
					}
				}
				return
			}
			if _, werr := client.Write(buf[:n]); werr != nil || err != nil {
				return
			}
		}
	}()
	r := bufio.NewReader(client) // channel → Postfix, a line at a time
	var data *bytes.Buffer       // the mail being sent, dot-unstuffed; nil outside DATA
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			break
		}
		switch {
		case data == nil && strings.EqualFold(strings.TrimSpace(line), "DATA"):
			data = new(bytes.Buffer)
		case data != nil && line == ".\r\n":
			p.mails.Add(1)
			if p.cuts.Add(-1) >= 0 {
				raw := data.Bytes()
				cut.Store(&raw)
			}
			data = nil
		case data != nil:
			data.WriteString(strings.TrimPrefix(line, "."))
		}
		if _, err := server.Write([]byte(line)); err != nil {
			break
		}
	}
	server.Close()
	<-answered
}

// TestReplyWithUnknownOutcome cuts the submission of a reply after its final dot, before
// Postfix's 250 reaches the channel: Postfix took it and sends it on, the channel sees a
// lost connection and the router tries again. Whether the player gets it twice depends on
// what the Sent folder holds by then, as docs/email.md says.
func TestReplyWithUnknownOutcome(t *testing.T) {
	peers := mailpeer.Start(t)
	for _, tc := range []struct {
		name string
		// cut says whether the first attempt is cut; filed whether the server files what it
		// accepts in Sent.
		cut, filed bool
		// attempts is how many times Postfix got the reply; copies how many the player got.
		attempts, copies int
	}{
		{name: "the server files submitted mail in Sent: not sent again", cut: true, filed: true, attempts: 1, copies: 1},
		{name: "sent and filed, the gateway died before recording it: not sent again", attempts: 1, copies: 1},
		{name: "cut before the copy reached Sent: the retry sends it again", cut: true, attempts: 2, copies: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sent := peers.TempFolder(t, peers.Support, "sent")
			proxy := &cutProxy{upstream: peers.SubmissionsAddr, tls: peers.TLSConfig()}
			if tc.cut {
				proxy.cuts.Store(1)
			}
			if tc.filed {
				proxy.file = func(raw []byte) error {
					c, err := peers.DialIMAP(peers.Support)
					if err != nil {
						return err
					}
					defer c.Logout()
					return c.Append(sent, nil, time.Now(), bytes.NewReader(raw))
				}
			}
			ch := sentFolderChannel(t, peers, sent, startCutProxy(t, proxy))
			player := playerAddress(peers, email.NewToken())
			conv, msg := replyTo(player)

			first, err := ch.Send(t.Context(), conv, msg)
			if tc.cut {
				require.Error(t, err, "the channel cannot know that Postfix took the reply")
				require.False(t, connectors.IsPermanent(err), "an unknown outcome is retried: %v", err)
			} else {
				require.NoError(t, err)
			}
			again, err := ch.Send(t.Context(), conv, msg) // the router's retry
			require.NoError(t, err)
			if first != "" {
				require.Equal(t, first, again)
			}
			require.Equal(t, int64(tc.attempts), proxy.mails.Load(), "replies handed to Postfix")

			mid := email.ReplyMessageID(ch, msg.ID)
			copies := func() int {
				mails, err := peers.Messages(peers.Player, "INBOX")
				require.NoError(t, err)
				n := 0
				for _, m := range mails {
					if m.MessageID() == mid {
						n++
					}
				}
				return n
			}
			require.Eventually(t, func() bool { return copies() >= tc.copies }, mailpeer.WaitTimeout, 50*time.Millisecond,
				"the player got %d of %d copies", copies(), tc.copies)
			time.Sleep(time.Second) // a copy too many would arrive about now
			require.Equal(t, tc.copies, copies(), "copies of the reply in the player's mailbox")
		})
	}
}

// sentFolderChannel is a channel that reads nothing (its mailbox is support's INBOX, which it
// is never run on), keeps its replies in the folder sent and submits them through smtpAddr,
// in clear on loopback.
func sentFolderChannel(t *testing.T, peers *mailpeer.Env, sent, smtpAddr string) *email.Channel {
	t.Helper()
	store, err := blobs.New(t.TempDir(), 1<<20)
	require.NoError(t, err)
	cfg := email.DefaultConfig()
	cfg.AllowPlaintext = true
	cfg.IMAP.Address, cfg.IMAP.CAFile, cfg.IMAP.SentFolder = peers.IMAPSAddr, peers.CAFile, sent
	cfg.IMAP.User, cfg.IMAP.Password = peers.Support.Addr, settings.Secret(peers.Support.Pass)
	cfg.SMTP.Address, cfg.SMTP.TLS, cfg.SMTP.Timeout = smtpAddr, email.TLSPlain, 30*time.Second
	cfg.From = peers.Support.Addr
	ch, err := email.New("mail", *cfg, email.Deps{Blobs: store, Cursors: &memCursors{}, Records: &memCursors{}})
	require.NoError(t, err)
	return ch
}
