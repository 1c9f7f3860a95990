package e2e

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap"
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
	folder := fmt.Sprintf("e2e-%d", time.Now().UnixNano())
	c, err := peers.DialIMAP(peers.Support)
	require.NoError(t, err)
	require.NoError(t, c.Create(folder))
	t.Cleanup(func() {
		if c, err := peers.DialIMAP(peers.Support); err == nil {
			_ = c.Delete(folder)
			_ = c.Logout()
		}
	})
	const mails = 40
	marker := fmt.Sprintf("m%d", time.Now().UnixNano())
	put := func(i int) {
		m := mailpeer.NewMessage(peers.Player.Addr, peers.Support.Addr, fmt.Sprintf("Question %d", i), fmt.Sprintf("%s-%02d: where is my money?", marker, i))
		require.NoError(t, c.Append(folder, nil, time.Now(), bytes.NewReader(m.Bytes())))
	}
	for i := range mails / 2 {
		put(i)
	}

	e := &env{channel: loopback.NewFakeChannelRemote(""), helpdesk: loopback.NewFakeHelpdeskRemote("")}
	hdSrv := httptest.NewServer(e.helpdesk)
	t.Cleanup(hdSrv.Close)
	e.configure(t, fmt.Sprintf(`delivery: {backoff_base: 50ms, backoff_max: 500ms}
channels:
  - name: mail
    type: email
    imap: {address: %q, ca_file: %q, user: %q, password: %q, mailbox: %q, poll_interval: 1s}
    smtp: {address: %q, ca_file: %q}
    from: %q
helpdesks:
  - name: desk
    type: loopback
    url: %s
default_helpdesk: desk
`, peers.IMAPSAddr, peers.CAFile, peers.Support.Addr, peers.Support.Pass, folder,
		peers.SubmissionsAddr, peers.CAFile, peers.Support.Addr, hdSrv.URL))
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

	got := func() []string {
		var texts []string
		for _, tk := range e.helpdesk.Tickets() {
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
	require.Equal(t, mails, e.helpdesk.TicketCount(), "each mail opened one thread, and each thread one ticket")

	require.Eventually(t, func() bool {
		all, err := peers.Messages(peers.Support, folder)
		if err != nil || len(all) != mails {
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
