package email_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/emersion/go-imap"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors/channel/email"
	"github.com/casino-support/gateway/connectors/settings"
	"github.com/casino-support/gateway/router/store/blobs"
	"github.com/casino-support/gateway/test/conformance"
	"github.com/casino-support/gateway/test/mailpeer"
)

// folderEnv is a folder of its own in support's mailbox and a cursor store that outlives the
// channels run on it, as the gateway's store outlives a restart.
type folderEnv struct {
	peers   *mailpeer.Env
	folder  string
	cursors *memCursors
}

func newFolderEnv(t *testing.T) *folderEnv {
	peers := mailpeer.Start(t)
	return &folderEnv{peers: peers, folder: peers.TempFolder(t, peers.Support, "restart"), cursors: &memCursors{}}
}

// put appends a player's mail with flags and returns its Message-ID.
func (e *folderEnv) put(t *testing.T, subject string, flags ...string) string {
	t.Helper()
	m := mailpeer.NewMessage(e.peers.Player.Addr, e.peers.Support.Addr, subject, "text of "+subject)
	e.putRaw(t, m.Bytes(), flags...)
	return m.MessageID
}

// putRaw appends a mail as it is, with flags.
func (e *folderEnv) putRaw(t *testing.T, raw []byte, flags ...string) {
	t.Helper()
	c, err := e.peers.DialIMAP(e.peers.Support)
	require.NoError(t, err)
	defer c.Logout()
	require.NoError(t, c.Append(e.folder, flags, time.Now(), bytes.NewReader(raw)))
}

// forgetFlags clears \Seen of every mail of the folder, as a rebuilt mailbox has.
func (e *folderEnv) forgetFlags(t *testing.T) {
	t.Helper()
	c, err := e.peers.DialIMAP(e.peers.Support)
	require.NoError(t, err)
	defer c.Logout()
	_, err = c.Select(e.folder, false)
	require.NoError(t, err)
	all := new(imap.SeqSet)
	all.AddRange(1, 0)
	require.NoError(t, c.Store(all, imap.FormatFlagsOp(imap.RemoveFlags, true), []any{imap.SeenFlag}, nil))
}

// run starts a channel on the folder until the returned stop is called.
func (e *folderEnv) run(t *testing.T) (*conformance.RecordingSink, func()) {
	t.Helper()
	return e.runWith(t, nil)
}

// runWith is run with the channel's settings and dependencies changed by change.
func (e *folderEnv) runWith(t *testing.T, change func(*email.Config, *email.Deps)) (*conformance.RecordingSink, func()) {
	t.Helper()
	store, err := blobs.New(t.TempDir(), 1<<20)
	require.NoError(t, err)
	cfg := email.DefaultConfig()
	cfg.IMAP.Address, cfg.IMAP.CAFile, cfg.IMAP.Mailbox = e.peers.IMAPSAddr, e.peers.CAFile, e.folder
	cfg.IMAP.User, cfg.IMAP.Password = e.peers.Support.Addr, settings.Secret(e.peers.Support.Pass)
	cfg.IMAP.PollInterval = time.Second
	cfg.SMTP.Address = e.peers.SubmissionsAddr
	cfg.From = e.peers.Support.Addr
	deps := email.Deps{Blobs: store, Cursors: e.cursors, Records: e.cursors}
	if change != nil {
		change(cfg, &deps)
	}
	ch, err := email.New("mail", *cfg, deps)
	require.NoError(t, err)
	email.SetBackoff(ch, 20*time.Millisecond)
	sink := &conformance.RecordingSink{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ch.Run(ctx, sink) }()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			require.NoError(t, <-done)
		}
	}
	t.Cleanup(stop)
	return sink, stop
}

// ids returns the external IDs sink received, in order.
func ids(sink *conformance.RecordingSink) []string {
	var out []string
	for _, m := range sink.Messages() {
		out = append(out, string(m.ExternalID))
	}
	return out
}

func waitIDs(t *testing.T, sink *conformance.RecordingSink, want ...string) {
	t.Helper()
	require.Eventually(t, func() bool { return len(sink.Messages()) >= len(want) }, 20*time.Second, 20*time.Millisecond,
		"want %d messages, got %v", len(want), ids(sink))
	time.Sleep(300 * time.Millisecond) // a wrong extra delivery would come about now
	require.Equal(t, want, ids(sink))
}

// A restart goes on where the last run stopped: nothing read twice, nothing skipped, also
// mail someone marked \Seen after the channel began reading; what was \Seen before the
// first start stays where it is.
func TestRestartReadsNothingTwiceAndSkipsNothing(t *testing.T) {
	e := newFolderEnv(t)
	e.put(t, "read before the gateway came", imap.SeenFlag) // never taken: waitIDs wants exactly A first
	a := e.put(t, "A unread before the gateway came")

	sink, stop := e.run(t)
	waitIDs(t, sink, a)
	b := e.put(t, "B while running")
	waitIDs(t, sink, a, b)
	stop()

	c := e.put(t, "C while stopped")
	d := e.put(t, "D while stopped, read by an operator's client", imap.SeenFlag)
	sink, stop = e.run(t)
	waitIDs(t, sink, c, d)
	stop()

	sink, _ = e.run(t)
	f := e.put(t, "F after the second restart")
	waitIDs(t, sink, f)
}

// When the server changes the mailbox's UIDVALIDITY (a rebuilt mailbox, its flags lost), the
// channel reads the mailbox again: every mail comes again under its Message-ID, which the
// store's dedup drops, in the same conversation.
func TestUIDValidityChangeReadsAgainUnderTheSameIDs(t *testing.T) {
	e := newFolderEnv(t)
	a := e.put(t, "A [#"+string(email.NewToken())+"]")
	b := e.put(t, "B")
	sink, stop := e.run(t)
	waitIDs(t, sink, a, b)
	stop()
	first := sink.Messages()

	// The rebuild: flags gone, and a UIDVALIDITY the cursor does not know.
	e.forgetFlags(t)
	e.cursors.forget("mail/imap:" + e.folder)

	sink, _ = e.run(t)
	waitIDs(t, sink, a, b)
	for i, m := range sink.Messages() {
		require.Equal(t, first[i].ExternalID, m.ExternalID, "the dedup key is the Message-ID")
		require.Equal(t, first[i].Address, m.Address, "the same mail opens the same thread")
	}
}
