package email_test

import (
	"context"
	"crypto/rand"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/channel/email"
	"github.com/casino-support/gateway/connectors/settings"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router"
	"github.com/casino-support/gateway/router/store"
	"github.com/casino-support/gateway/router/store/blobs"
	"github.com/casino-support/gateway/test/mailpeer"
)

// The integration tests run the channel in a real router on a real store against Dovecot and
// Postfix. The support mailbox here is agent@example.test's INBOX: support's INBOX belongs to
// test/mailpeer's own tests, which run at the same time and must find their mail unread.

// ticketDesk is a helpdesk that keeps what it was posted, one ticket per conversation.
type ticketDesk struct {
	mu    sync.Mutex
	posts map[normalize.ConversationID][]normalize.Message
	convs map[normalize.ConversationID]normalize.Conversation
}

func (d *ticketDesk) Run(ctx context.Context, _ connectors.Sink) error { <-ctx.Done(); return nil }

func (d *ticketDesk) Post(_ context.Context, conv normalize.Conversation, msgs []connectors.Delivery) (normalize.Ref, []normalize.ExternalID, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var ids []normalize.ExternalID
	for _, m := range msgs {
		d.posts[conv.ID] = append(d.posts[conv.ID], m.Message)
		ids = append(ids, normalize.ExternalID("post-"+string(m.ID)))
	}
	d.convs[conv.ID] = conv
	return normalize.Ref("T-" + string(conv.ID)), ids, nil
}

// find returns the conversation and its posted messages of the first post whose text holds
// marker.
func (d *ticketDesk) find(marker string) (normalize.Conversation, []normalize.Message, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for id, ms := range d.posts {
		for _, m := range ms {
			if strings.Contains(m.Text, marker) {
				return d.convs[id], slices.Clone(ms), true
			}
		}
	}
	return normalize.Conversation{}, nil, false
}

// gateway is a router with the email channel on agent's INBOX and a ticketDesk.
type gateway struct {
	peers *mailpeer.Env
	st    *store.Store
	r     *router.Router
	ch    *email.Channel
	desk  *ticketDesk
}

func startGateway(t *testing.T, peers *mailpeer.Env, change func(*email.Config)) *gateway {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "gw.db"), store.Options{})
	require.NoError(t, err)
	bl, err := blobs.New(t.TempDir(), 25<<20)
	require.NoError(t, err)
	cfg := email.DefaultConfig()
	cfg.IMAP.Address, cfg.IMAP.TLS, cfg.IMAP.CAFile = peers.IMAPAddr, email.TLSStartTLS, peers.CAFile
	cfg.IMAP.User, cfg.IMAP.Password = peers.Agent.Addr, settings.Secret(peers.Agent.Pass)
	cfg.IMAP.SentFolder = "Sent"
	cfg.SMTP.Address, cfg.SMTP.TLS, cfg.SMTP.CAFile = peers.SubmissionAddr, email.TLSStartTLS, peers.CAFile
	cfg.From, cfg.FromName = peers.Agent.Addr, "Casino Support"
	// Far beyond the tests' waits: the channel in IDLE must bring each mail in as Dovecot
	// announces it.
	cfg.IMAP.PollInterval = 10 * time.Minute
	if change != nil {
		change(cfg)
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ch, err := email.New("mail", *cfg, email.Deps{Blobs: bl, Cursors: st, Records: st, Threads: st, Log: log})
	require.NoError(t, err)
	email.SetBackoff(ch, 50*time.Millisecond)
	desk := &ticketDesk{posts: map[normalize.ConversationID][]normalize.Message{}, convs: map[normalize.ConversationID]normalize.Conversation{}}
	r := router.New(st, map[normalize.InstanceName]connectors.Channel{"mail": ch},
		map[normalize.InstanceName]connectors.Helpdesk{"desk": desk}, router.Rules{Default: "desk"},
		router.Options{BackoffBase: 50 * time.Millisecond, BackoffMax: time.Second}, prometheus.NewRegistry(), log)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = r.Run(ctx) }()
	go func() { defer wg.Done(); _ = ch.Run(ctx, r) }()
	t.Cleanup(func() { cancel(); wg.Wait(); st.Close() })
	return &gateway{peers: peers, st: st, r: r, ch: ch, desk: desk}
}

// testWriter sends log lines to t.Log, so a failing test shows what the channel did.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// waitTicket waits until the helpdesk was posted a message holding marker, and n messages
// on its conversation in all.
func (g *gateway) waitTicket(t *testing.T, marker string, n int) (normalize.Conversation, []normalize.Message) {
	t.Helper()
	var conv normalize.Conversation
	var msgs []normalize.Message
	require.Eventually(t, func() bool {
		var ok bool
		conv, msgs, ok = g.desk.find(marker)
		return ok && len(msgs) >= n
	}, mailpeer.WaitTimeout, 20*time.Millisecond, "no ticket with %q and %d messages", marker, n)
	return conv, msgs
}

// TestPlayerMailTicketReplyAndAnswer is the whole round: a player's mail client sends to the
// support mailbox through Postfix; it becomes a ticket; the agent's reply arrives in the
// player's real mailbox threaded under the player's mail; the player answers it with the
// reply button (no token in the subject: the headers alone thread it), and the answer lands
// on the same ticket.
func TestPlayerMailTicketReplyAndAnswer(t *testing.T) {
	peers := mailpeer.Start(t)
	g := startGateway(t, peers, nil)
	marker := rand.Text()[:12]

	first := mailpeer.NewMessage(peers.Player.Addr, peers.Agent.Addr, "Withdrawal pending "+marker, "Hello, my withdrawal "+marker+" is pending since Monday.")
	require.NoError(t, peers.Submit(peers.Player, mailpeer.StartTLS, first.From, first.To, first.Bytes()))
	conv, msgs := g.waitTicket(t, marker, 1)
	require.Equal(t, normalize.KindEmail, conv.ChannelKind)
	require.Len(t, string(conv.Address), 10, "the conversation's address is a thread token")
	require.Equal(t, peers.Player.Addr, conv.Player.Email, "the helpdesk sees the player's address")
	require.Equal(t, normalize.ExternalID(first.MessageID), msgs[0].ExternalID)
	require.Equal(t, "Withdrawal pending "+marker, msgs[0].Subject)
	require.Contains(t, msgs[0].Text, "is pending since Monday")

	reply := normalize.Message{Direction: normalize.Outbound, Source: "desk", ExternalID: normalize.ExternalID("r-" + marker),
		Ticket: normalize.Ref("T-" + string(conv.ID)), Author: normalize.Author{Role: normalize.RoleAgent, DisplayName: "Bob"},
		Kind: normalize.KindText, Text: "It left today, " + marker + "."}
	require.Eventually(t, func() bool { return g.r.Deliver(t.Context(), reply) == nil }, 10*time.Second, 50*time.Millisecond)

	got := peers.WaitFor(t, peers.Player, "INBOX", func(m mailpeer.Mail) bool {
		text, err := m.Text()
		return err == nil && strings.Contains(text, "It left today, "+marker)
	})
	require.Equal(t, "<"+first.MessageID+">", strings.TrimSpace(got.Header.Get("In-Reply-To")), "threaded under the player's mail")
	require.Contains(t, got.Header.Get("References"), "<"+first.MessageID+">")
	require.Equal(t, "Re: Withdrawal pending "+marker+" [#"+string(conv.Address)+"]", got.Subject())
	require.Contains(t, got.Header.Get("From"), peers.Agent.Addr)
	require.Contains(t, got.Header.Get("From"), "Casino Support")
	require.Contains(t, strings.ToLower(got.Header.Get("Reply-To")), "+"+strings.ToLower(string(conv.Address))+"@")
	peers.WaitFor(t, peers.Agent, "Sent", mailpeer.WithMessageID(got.MessageID()))

	answer := mailpeer.NewMessage(peers.Player.Addr, peers.Agent.Addr, "Re: Withdrawal pending "+marker, "Thanks, got it "+marker+"!")
	answer.Header["In-Reply-To"] = "<" + got.MessageID() + ">"
	answer.Header["References"] = "<" + first.MessageID + "> <" + got.MessageID() + ">"
	require.NoError(t, peers.Submit(peers.Player, mailpeer.ImplicitTLS, answer.From, answer.To, answer.Bytes()))
	again, msgs := g.waitTicket(t, "Thanks, got it "+marker, 2)
	require.Equal(t, conv.ID, again.ID, "the player's answer lands on the same ticket")
	require.Equal(t, normalize.ExternalID(answer.MessageID), msgs[len(msgs)-1].ExternalID)

	// A new mail about another topic, from the same player, is a conversation of its own.
	other := mailpeer.NewMessage(peers.Player.Addr, peers.Agent.Addr, "KYC documents "+marker, "Here are my documents, "+marker+"-kyc.")
	require.NoError(t, peers.Submit(peers.Player, mailpeer.StartTLS, other.From, other.To, other.Bytes()))
	kyc, _ := g.waitTicket(t, marker+"-kyc", 1)
	require.NotEqual(t, conv.ID, kyc.ID)
	require.NotEqual(t, conv.Address, kyc.Address)
}
