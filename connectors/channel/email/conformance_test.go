package email_test

import (
	"bytes"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/channel/email"
	"github.com/casino-support/gateway/connectors/settings"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/store/blobs"
	"github.com/casino-support/gateway/test/conformance"
	"github.com/casino-support/gateway/test/mailpeer"
)

func TestMain(m *testing.M) { mailpeer.Main(m) }

// TestChannelConformance runs the router's promises against the channel and the real mail
// servers of test/peers/mail.sh: the channel reads a folder of its own in support's mailbox
// over IMAPS (so tests never take each other's mail, nor the peers' own tests'), where the
// harness appends the player's mails as the MX would deliver them; replies go through
// submissions (implicit TLS, AUTH) to a plus address of player@example.test per conversation,
// read back from player's INBOX. Only the back-off after a failed delivery is shortened.
//
// SendClassifiesErrors is skipped: its faults are HTTP answers, and SMTP has none;
// submit_test.go checks the SMTP answers' classes against a go-smtp server that gives them.
// SendIsIdempotent runs with a Sent folder, where the channel looks a reply up before sending.
func TestChannelConformance(t *testing.T) {
	peers := mailpeer.Start(t)
	for _, sent := range []bool{false, true} {
		name := "without_sent_folder"
		if sent {
			name = "with_sent_folder"
		}
		t.Run(name, func(t *testing.T) {
			var envs conformance.PerTest[*conformanceEnv]
			conformance.RunChannel(t, conformance.ChannelHarness{
				New: func(t *testing.T) connectors.Channel {
					env := newConformanceEnv(t, peers, sent)
					envs.Put(t, env)
					return env.ch
				},
				PlayerSends: func(t *testing.T, _ connectors.Channel, address normalize.Address, externalID, text string) error {
					return envs.Get(t).playerSends(address, externalID, text)
				},
				Received: func(t *testing.T, address normalize.Address) []string {
					return envs.Get(t).received(t, address)
				},
				// SMTP takes no idempotency key; with a Sent folder, the channel looks a reply up
				// there before sending it, which makes a repeated Send a no-op.
				Idempotent: sent,
				NewAddress: func(*testing.T) normalize.Address { return email.NewToken() },
				PlayerOf: func(t *testing.T, address normalize.Address) normalize.Author {
					return normalize.Author{Role: normalize.RolePlayer, DisplayName: "Conformance Player", Email: playerAddress(peers, address)}
				},
				ExternalIDOf: func(_ *testing.T, _ normalize.Address, externalID string) normalize.ExternalID {
					return normalize.ExternalID(mailID(externalID))
				},
				// A mail is handed over once the channel marked it \Seen: it is not read again.
				Acknowledged: func(t *testing.T, _ normalize.Address, externalID string) bool {
					return envs.Get(t).seen(t, mailID(externalID))
				},
			})
		})
	}
}

// mailID is the Message-ID of the mail the suite names externalID.
func mailID(externalID string) string { return externalID + "@players.example.test" }

// playerAddress is the player's address of the conversation at token: a plus address of
// player, so each conversation's replies can be told apart in player's one INBOX.
func playerAddress(peers *mailpeer.Env, token normalize.Address) string {
	local, domain, _ := strings.Cut(peers.Player.Addr, "@")
	return local + "+" + strings.ToLower(string(token)) + "@" + domain
}

// conformanceEnv is one channel on a folder of its own.
type conformanceEnv struct {
	peers  *mailpeer.Env
	ch     *email.Channel
	folder string
	mu     sync.Mutex // one APPEND at a time keeps the suite's order the mailbox's
}

func newConformanceEnv(t *testing.T, peers *mailpeer.Env, withSent bool) *conformanceEnv {
	t.Helper()
	folder, sent := peers.TempFolder(t, peers.Support, "conformance"), peers.TempFolder(t, peers.Support, "sent")
	store, err := blobs.New(t.TempDir(), 25<<20)
	require.NoError(t, err)
	cfg := email.DefaultConfig()
	cfg.IMAP.Address, cfg.IMAP.CAFile, cfg.IMAP.Mailbox = peers.IMAPSAddr, peers.CAFile, folder
	cfg.IMAP.User, cfg.IMAP.Password = peers.Support.Addr, settings.Secret(peers.Support.Pass)
	cfg.IMAP.PollInterval = time.Second
	if withSent {
		cfg.IMAP.SentFolder = sent
	}
	cfg.SMTP.Address, cfg.SMTP.CAFile = peers.SubmissionsAddr, peers.CAFile
	cfg.From = peers.Support.Addr
	ch, err := email.New("mail", *cfg, email.Deps{Blobs: store, Cursors: &memCursors{}, Records: &memCursors{}})
	require.NoError(t, err)
	email.SetBackoff(ch, 20*time.Millisecond)
	return &conformanceEnv{peers: peers, ch: ch, folder: folder}
}

// playerSends appends the player's mail to the channel's folder, as the MX delivers it; the
// thread token in the subject puts it in the conversation at address. A second call with the
// same externalID is the same mail delivered again (same Message-ID).
func (e *conformanceEnv) playerSends(address normalize.Address, externalID, text string) error {
	m := mailpeer.NewMessage(playerAddress(e.peers, address), e.peers.Support.Addr, "Question [#"+string(address)+"]", text)
	m.MessageID = mailID(externalID)
	e.mu.Lock()
	defer e.mu.Unlock()
	c, err := e.peers.DialIMAP(e.peers.Support)
	if err != nil {
		return err
	}
	defer c.Logout()
	return c.Append(e.folder, nil, time.Now(), bytes.NewReader(m.Bytes()))
}

// seen reports whether the mail with Message-ID id is \Seen in the channel's folder.
func (e *conformanceEnv) seen(t *testing.T, id string) bool {
	mails, err := e.peers.Messages(e.peers.Support, e.folder)
	require.NoError(t, err)
	for _, m := range mails {
		if m.MessageID() == id && !slices.Contains(m.Flags, imap.SeenFlag) {
			return false // a copy delivered again that the channel has not handled yet
		}
	}
	for _, m := range mails {
		if m.MessageID() == id {
			return true
		}
	}
	return false
}

// received returns the texts of the replies to the conversation at address, in the order the
// channel sent them (their Message-IDs derive from time-ordered message IDs).
func (e *conformanceEnv) received(t *testing.T, address normalize.Address) []string {
	to := playerAddress(e.peers, address)
	mails, err := e.peers.Messages(e.peers.Player, "INBOX")
	require.NoError(t, err)
	var mine []mailpeer.Mail
	for _, m := range mails {
		if strings.Contains(strings.ToLower(m.Header.Get("To")), to) {
			mine = append(mine, m)
		}
	}
	slices.SortFunc(mine, func(a, b mailpeer.Mail) int { return strings.Compare(a.MessageID(), b.MessageID()) })
	var texts []string
	for _, m := range mine {
		text, err := m.Text()
		require.NoError(t, err, "reply %s", m.MessageID())
		texts = append(texts, strings.TrimRight(text, "\r\n"))
	}
	return texts
}
