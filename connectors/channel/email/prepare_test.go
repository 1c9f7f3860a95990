package email

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/store/blobs"
)

// fakeThreads knows conversations by the IDs of their mails and by their tokens.
type fakeThreads struct {
	byID    map[normalize.ExternalID]normalize.Conversation
	byToken map[normalize.Address]normalize.Conversation
	err     error
}

func (f *fakeThreads) ConversationOfExternal(_ context.Context, _ normalize.InstanceName, ids []normalize.ExternalID) (normalize.Conversation, error) {
	if f.err != nil {
		return normalize.Conversation{}, f.err
	}
	for _, id := range ids {
		if c, ok := f.byID[id]; ok {
			return c, nil
		}
	}
	return normalize.Conversation{}, connectors.ErrNotFound
}

func (f *fakeThreads) ConversationAt(_ context.Context, _ normalize.InstanceName, a normalize.Address) (normalize.Conversation, error) {
	if c, ok := f.byToken[a]; ok {
		return c, nil
	}
	return normalize.Conversation{}, connectors.ErrNotFound
}

func (f *fakeThreads) Thread(context.Context, normalize.ConversationID, int) ([]normalize.Message, error) {
	return nil, nil
}

type noCursors struct{}

func (noCursors) Cursor(context.Context, normalize.InstanceName, string) (string, error) {
	return "", nil
}
func (noCursors) SetCursor(context.Context, normalize.InstanceName, string, string) error {
	return nil
}

// noCursors keeps no records either.
func (noCursors) PutRecord(context.Context, normalize.InstanceName, string, string, time.Time) error {
	return nil
}
func (noCursors) Record(context.Context, normalize.InstanceName, string) (string, bool, error) {
	return "", false, nil
}
func (noCursors) DeleteRecord(context.Context, normalize.InstanceName, string) error { return nil }
func (noCursors) ListRecords(context.Context, normalize.InstanceName, string, string, int) ([]connectors.Record, error) {
	return nil, nil
}

// testChannel is the support mailbox of the parse package's corpus: support@casino.example.
func testChannel(t *testing.T, threads Threads) *Channel {
	t.Helper()
	bl, err := blobs.New(t.TempDir(), 1<<20)
	require.NoError(t, err)
	cfg := DefaultConfig()
	cfg.IMAP.Address, cfg.IMAP.User, cfg.IMAP.Password = "imap.casino.example:993", "support", "pw"
	cfg.SMTP.Address, cfg.From = "smtp.casino.example:465", "support@casino.example"
	ch, err := New("mail", *cfg, Deps{Blobs: bl, Cursors: noCursors{}, Records: noCursors{}, Threads: threads})
	require.NoError(t, err)
	return ch
}

func corpus(t *testing.T, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("parse", "testdata", name+".eml"))
	require.NoError(t, err)
	return raw
}

func TestPrepareDecides(t *testing.T) {
	known := normalize.Conversation{ID: "c-known", Address: "K7QX2M9PZD"}
	threads := &fakeThreads{
		byID: map[normalize.ExternalID]normalize.Conversation{"m0195a0c0ffee42a7b3c1d2e3f4a5b6c7@casino.example": known,
			"000001db8cd7$5a1b2c30$0e518490$@example.de": known},
	}
	gmailReply := string(corpus(t, "gmail-reply-en"))
	ch := testChannel(t, threads)
	for _, tc := range []struct {
		name    string
		raw     []byte
		why     string            // noise
		bounce  bool              // a delivery report
		address normalize.Address // "" for a new thread
	}{
		{name: "out of office (Exchange)", raw: corpus(t, "ooo-exchange"), why: "an automatic reply"},
		{name: "vacation (Gmail)", raw: corpus(t, "ooo-gmail"), why: "an automatic reply"},
		{name: "list mail", raw: corpus(t, "list-bulk"), why: "bulk or list mail"},
		{name: "own mail", raw: bytes.Replace(corpus(t, "plain-utf8"), []byte("From: =?UTF-8?Q?Andrei_Popescu?= <Andrei.Popescu@Example.RO>"),
			[]byte("From: Support <support@CASINO.example>"), 1), why: "the gateway's own mail"},
		{name: "own plus address", raw: bytes.Replace(corpus(t, "plain-utf8"), []byte("From: =?UTF-8?Q?Andrei_Popescu?= <Andrei.Popescu@Example.RO>"),
			[]byte("From: support+K7QX2M9PZD@casino.example"), 1), why: "the gateway's own mail"},
		{name: "bounce", raw: corpus(t, "bounce-postfix"), bounce: true},
		{name: "delayed", raw: corpus(t, "bounce-postfix-delayed"), bounce: true},
		{name: "reply by its headers", raw: corpus(t, "gmail-reply-en"), address: known.Address},
		// The gateway's reply named on the second line of a folded References only (the
		// In-Reply-To names a mail the gateway never saw).
		{name: "reply by a folded References", raw: []byte(strings.Replace(gmailReply,
			"In-Reply-To: <m0195a0c0ffee42a7b3c1d2e3f4a5b6c7@casino.example>", "In-Reply-To: <notice-0@elsewhere.example>", 1)), address: known.Address},
		{name: "reply to an ID with $ in it", raw: []byte("In-Reply-To: <000001db8cd7$5a1b2c30$0e518490$@example.de>\r\n" +
			string(corpus(t, "plain-utf8"))), address: known.Address},
	} {
		t.Run(tc.name, func(t *testing.T) {
			it, err := ch.prepare(t.Context(), tc.raw, int64(len(tc.raw)), false)
			require.NoError(t, err)
			switch {
			case tc.why != "":
				require.Nil(t, it.msg)
				require.Equal(t, tc.why, it.why)
			case tc.bounce:
				require.Nil(t, it.msg)
				require.NotNil(t, it.bounce)
			default:
				require.NotNil(t, it.msg)
				require.Equal(t, tc.address, it.msg.Address)
			}
		})
	}
}

func TestPrepareThreadsInOrder(t *testing.T) {
	base := string(corpus(t, "plain-utf8"))
	with := func(subject, to, inReplyTo string) []byte {
		s := strings.Replace(base, "Subject: =?UTF-8?Q?Retragere_=C3=AEn_a=C8=99teptare_de_3_zile?=", "Subject: "+subject, 1)
		s = strings.Replace(s, "To: Casino Support <support@casino.example>", "To: "+to, 1)
		if inReplyTo != "" {
			s = "In-Reply-To: <" + inReplyTo + ">\r\n" + s
		}
		return []byte(s)
	}
	byHeader := normalize.Conversation{ID: "c-1", Address: "AAAAAAAAAA"}
	threads := &fakeThreads{
		byID:    map[normalize.ExternalID]normalize.Conversation{"reply@casino.example": byHeader},
		byToken: map[normalize.Address]normalize.Conversation{},
	}
	ch := testChannel(t, threads)
	for _, tc := range []struct {
		name string
		raw  []byte
		want normalize.Address
	}{
		{"headers win over the subject", with("Re: x [#BBBBBBBBBB]", "support+CCCCCCCCCC@casino.example", "reply@casino.example"), "AAAAAAAAAA"},
		{"subject over plus address", with("Re: x [#bbbbbbbbbb]", "support+CCCCCCCCCC@casino.example", "unknown@x"), "BBBBBBBBBB"},
		{"plus address", with("Re: x", "Support <support+cccccccccc@casino.example>", ""), "CCCCCCCCCC"},
		{"another mailbox's plus address is no token", with("Re: x", "sales+CCCCCCCCCC@casino.example", ""), newToken("mail", "CAK7x9Qm1=abc@mail.example.ro")},
	} {
		it, err := ch.prepare(t.Context(), tc.raw, int64(len(tc.raw)), false)
		require.NoError(t, err, tc.name)
		require.Equal(t, tc.want, it.msg.Address, tc.name)
	}

	// A new thread's token is derived from the opening mail, and never one in use.
	raw := with("New topic", "support@casino.example", "")
	it, err := ch.prepare(t.Context(), raw, int64(len(raw)), false)
	require.NoError(t, err)
	first := newToken("mail", "CAK7x9Qm1=abc@mail.example.ro")
	require.Equal(t, first, it.msg.Address, "the same mail opens the same thread every time")
	threads.byToken[first] = normalize.Conversation{ID: "c-taken"}
	it, err = ch.prepare(t.Context(), raw, int64(len(raw)), false)
	require.NoError(t, err)
	require.NotEqual(t, first, it.msg.Address, "a token in use is not given again")

	// A store that cannot answer is retried, never taken for "no thread".
	threads.err = context.DeadlineExceeded
	_, err = ch.prepare(t.Context(), raw, int64(len(raw)), false)
	require.Error(t, err)
}

func TestPrepareMessage(t *testing.T) {
	ch := testChannel(t, nil)
	raw := corpus(t, "plain-utf8")
	raw = append([]byte("Reply-To: Andrei <andrei.work@example.ro>\r\n"), raw...)
	it, err := ch.prepare(t.Context(), raw, int64(len(raw)), false)
	require.NoError(t, err)
	m := it.msg
	require.Equal(t, normalize.ExternalID("CAK7x9Qm1=abc@mail.example.ro"), m.ExternalID)
	require.Equal(t, normalize.Inbound, m.Direction)
	require.Equal(t, normalize.InstanceName("mail"), m.Source)
	require.Equal(t, normalize.KindEmail, m.ChannelKind)
	require.Equal(t, "Retragere în așteptare de 3 zile", m.Subject)
	require.Equal(t, "Andrei Popescu", m.Author.DisplayName)
	require.Equal(t, "andrei.work@example.ro", m.Author.Email, "replies go to Reply-To")
	require.Equal(t, normalize.RolePlayer, m.Author.Role)
	require.NotEmpty(t, m.Text)

	// A mail without a Message-ID is known by a hash of itself.
	noID := bytes.Replace(corpus(t, "plain-utf8"), []byte("Message-ID: <CAK7x9Qm1=abc@mail.example.ro>\r\n"), nil, 1)
	require.NotEqual(t, len(noID), len(corpus(t, "plain-utf8")), "the corpus mail has CRLF line ends")
	it, err = ch.prepare(t.Context(), noID, int64(len(noID)), false)
	require.NoError(t, err)
	require.Equal(t, normalize.ExternalID(syntheticMessageID(noID)), it.msg.ExternalID)

	// Over the size limit only the header was fetched: the agents get a note.
	header, _, _ := bytes.Cut(corpus(t, "plain-utf8"), []byte("\r\n\r\n"))
	it, err = ch.prepare(t.Context(), append(header, "\r\n\r\n"...), 90<<20, true)
	require.NoError(t, err)
	require.Contains(t, it.msg.Text, "not taken in")
	require.Contains(t, it.msg.Text, "94371840 bytes")
	require.Equal(t, "Retragere în așteptare de 3 zile", it.msg.Subject)

	// A mail with no readable header is kept whole as a file.
	it, err = ch.prepare(t.Context(), []byte("\x00\x01 not a mail"), 12, false)
	require.NoError(t, err)
	require.NotNil(t, it.msg)
	require.Len(t, it.msg.Attachments, 1)
	require.Equal(t, "message/rfc822", it.msg.Attachments[0].MediaType)
}

// failureSink records bounces reported through the FailureSink extension.
type failureSink struct {
	mu     sync.Mutex
	failed map[normalize.MessageID]string
	msgs   []normalize.Message
}

func (s *failureSink) Deliver(_ context.Context, msgs ...normalize.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, msgs...)
	return nil
}

func (s *failureSink) DeliveryFailed(_ context.Context, _ normalize.InstanceName, id normalize.MessageID, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed == nil {
		return connectors.ErrNotFound
	}
	s.failed[id] = reason
	return nil
}

func TestBounceFailsTheReply(t *testing.T) {
	ch := testChannel(t, nil)
	reply := normalize.NewMessageID()
	raw := bytes.ReplaceAll(corpus(t, "bounce-postfix"), []byte("m0195a0c0ffee42a7b3c1d2e3f4a5b7c3@casino.example"),
		[]byte(replyMessageID(reply, "casino.example")))
	it, err := ch.prepare(t.Context(), raw, int64(len(raw)), false)
	require.NoError(t, err)
	require.NotNil(t, it.bounce)

	sink := &failureSink{failed: map[normalize.MessageID]string{}}
	n, err := ch.settle(t.Context(), sink, []item{it})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Contains(t, sink.failed, reply)
	require.Contains(t, sink.failed[reply], "5.1.1")
	require.Empty(t, sink.msgs, "a bounce opens no ticket")
	require.Equal(t, int64(1), ch.Dropped())

	// A bounce of a reply the store does not know, or of a mail not ours, is settled too.
	n, err = ch.settle(t.Context(), &failureSink{}, []item{it})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	notOurs := bytes.ReplaceAll(corpus(t, "bounce-postfix"), []byte("m0195a0c0ffee42a7b3c1d2e3f4a5b7c3@casino.example"),
		[]byte("20250303092003.4711@mx.elsewhere.example"))
	other, err := ch.prepare(t.Context(), notOurs, 1, false)
	require.NoError(t, err)
	n, err = ch.settle(t.Context(), sink, []item{other})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Len(t, sink.failed, 1)
}
