package router_test

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router"
)

// cutCount is gateway_messages_cut_total summed, 0 before the first cut.
func cutCount(t *testing.T, f *fixture) float64 {
	t.Helper()
	families, err := f.reg.Gather()
	require.NoError(t, err)
	sum := 0.0
	for _, mf := range families {
		if mf.GetName() == "gateway_messages_cut_total" {
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

// storedMessage returns the one message of the conversation at addr on the channel "chat", as
// the store keeps it, with the conversation.
func (f *fixture) storedMessage(t *testing.T, addr string) (normalize.Message, normalize.Conversation) {
	t.Helper()
	conv, err := f.st.ConversationAt(f.ctx, "chat", normalize.Address(addr))
	require.NoError(t, err, "ConversationAt(%s)", addr)
	thread, err := f.st.Thread(f.ctx, conv.ID, 10)
	require.NoError(t, err, "Thread()")
	require.Len(t, thread, 1)
	return thread[0], conv
}

// Whatever a channel or helpdesk delivers, what the store keeps (and agents, helpdesks and
// players are shown) has no controls or bidi overrides in its text or names.
func TestIntakeCleansHostileText(t *testing.T) {
	f := newFixtureRun(t, router.Options{}, false)
	for i, tt := range []struct {
		name                 string
		text, author, file   string
		wantText, wantAuthor string
		wantFile             string
	}{
		{name: "a right-to-left override disguises an executable",
			text: "my document: invoice\u202efdp.exe", author: "Max", file: "scan\u202efdp.exe",
			wantText: "my document: invoicefdp.exe", wantAuthor: "Max", wantFile: "scanfdp.exe"},
		{name: "isolates hide what follows",
			text: "amount \u2067100\u2069 €", author: "\u2066Admin\u2069", file: "a.png",
			wantText: "amount 100 €", wantAuthor: "Admin", wantFile: "a.png"},
		{name: "NUL bytes truncate strings in C-based helpdesks",
			text: "pass\x00word", author: "Ma\x00x", file: "id\x00.pdf",
			wantText: "password", wantAuthor: "Max", wantFile: "id.pdf"},
		{name: "ESC sequences rewrite an agent's terminal",
			text: "hi\x1b]0;pwned\x07\x1b[2J", author: "\x1b[31mSupport\x1b[0m", file: "x\x1b[1m.png",
			wantText: "hi]0;pwned[2J", wantAuthor: "[31mSupport[0m", wantFile: "x[1m.png"},
		{name: "C1 controls",
			text: "a\u0085b\u009bc\u0090d", author: "N\u0080o", file: "f\u009f.txt",
			wantText: "a\nbcd", wantAuthor: "No", wantFile: "f.txt"},
		{name: "invalid UTF-8 and lone surrogates",
			text: "x\xed\xa0\x80y\xffz", author: "P\xc3", file: "\xed\xbf\xbfname.png",
			wantText: "x\ufffdy\ufffdz", wantAuthor: "P\ufffd", wantFile: "\ufffdname.png"},
		{name: "line ends and a multi-line name",
			text: "one\r\ntwo\rthree\u2028four", author: "Max\r\nMustermann", file: "a\nb.png",
			wantText: "one\ntwo\nthree\nfour", wantAuthor: "Max Mustermann", wantFile: "a b.png"},
		{name: "what is clean stays as it is",
			text: "Guten Tag\n\tmein Konto ist gesperrt 🙁 مرحبا\u200f", author: "Jürgen", file: "Ausweis.pdf",
			wantText: "Guten Tag\n\tmein Konto ist gesperrt 🙁 مرحبا\u200f", wantAuthor: "Jürgen", wantFile: "Ausweis.pdf"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			addr := fmt.Sprintf("hostile-%d", i)
			m := inbound(addr, 0)
			m.Text, m.Author.DisplayName = tt.text, tt.author
			m.Attachments = []normalize.Attachment{{Name: tt.file, MediaType: "application/pdf", BlobRef: "sha256:00"}}
			msgs := []normalize.Message{m}
			require.NoError(t, f.r.Deliver(f.ctx, msgs...))
			require.Equal(t, tt.text, msgs[0].Text, "the caller's message is not changed")
			require.Equal(t, tt.file, msgs[0].Attachments[0].Name, "the caller's attachments are not changed")

			got, conv := f.storedMessage(t, addr)
			require.Equal(t, tt.wantText, got.Text)
			require.Equal(t, tt.wantAuthor, got.Author.DisplayName)
			require.Equal(t, tt.wantFile, got.Attachments[0].Name)
			require.Equal(t, tt.wantAuthor, conv.Player.DisplayName, "the conversation's player")
		})
	}
}

// HTML mail is kept as it came (helpdesks sanitise it their own way); its text rendering, which
// channels and pages show, is cleaned.
func TestIntakeKeepsHTMLAndCleansItsText(t *testing.T) {
	f := newFixtureRun(t, router.Options{}, false)
	m := inbound("mail", 0)
	m.HTML = "<p dir=\"rtl\">\u202eevil</p>"
	m.Text = "\u202eevil"
	require.NoError(t, f.r.Deliver(f.ctx, m))
	got, _ := f.storedMessage(t, "mail")
	require.Equal(t, "<p dir=\"rtl\">\u202eevil</p>", got.HTML)
	require.Equal(t, "evil", got.Text)
}

// Agents' replies from helpdesks are cleaned as players' messages are: they reach players.
func TestIntakeCleansAgentReplies(t *testing.T) {
	f := newFixtureRun(t, router.Options{}, false)
	require.NoError(t, f.r.Deliver(f.ctx, inbound("p", 0)))
	_, conv := f.storedMessage(t, "p")
	require.NoError(t, f.r.Deliver(f.ctx, normalize.Message{Direction: normalize.Outbound, Source: "desk", ExternalID: "r1",
		Conversation: conv.ID, Author: normalize.Author{Role: normalize.RoleAgent, DisplayName: "Anna\u202e"},
		Text: "Please send\x00 your ID\x1b[0m"}))
	thread, err := f.st.Thread(f.ctx, conv.ID, 10)
	require.NoError(t, err)
	require.Len(t, thread, 2)
	require.Equal(t, "Please send your ID[0m", thread[1].Text)
	require.Equal(t, "Anna", thread[1].Author.DisplayName)
}

// Text over its channel's limit is cut at a character boundary with a note, never dropped,
// and counted; each channel type has its own limit and others the default.
func TestIntakeCutsTextToTheChannelsLimit(t *testing.T) {
	const tgLimit, def = 4096, 1000
	f := newFixtureRun(t, router.Options{MaxText: map[normalize.ChannelKind]int{normalize.KindTelegram: tgLimit}, DefaultMaxText: def}, false)
	for i, tt := range []struct {
		name    string
		kind    normalize.ChannelKind
		text    string
		limit   int
		wantCut bool
	}{
		{"at Telegram's limit", normalize.KindTelegram, strings.Repeat("a", tgLimit), tgLimit, false},
		{"over Telegram's limit", normalize.KindTelegram, strings.Repeat("a", tgLimit+1), tgLimit, true},
		{"far over, in characters of several bytes", normalize.KindTelegram, strings.Repeat("€😀", 100_000), tgLimit, true},
		{"a channel without a limit of its own", normalize.KindLoopback, strings.Repeat("ü", def+1), def, true},
		{"controls do not count", normalize.KindLoopback, strings.Repeat("a\x00", def), def, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := cutCount(t, f)
			addr := fmt.Sprintf("long-%d", i)
			m := inbound(addr, 0)
			m.ChannelKind, m.Text = tt.kind, tt.text
			require.NoError(t, f.r.Deliver(f.ctx, m))
			got, _ := f.storedMessage(t, addr)
			require.True(t, utf8.ValidString(got.Text), "cut at a character boundary")
			n := utf8.RuneCountInString(got.Text)
			require.LessOrEqual(t, n, tt.limit)
			clean := normalize.CleanText(tt.text)
			if !tt.wantCut {
				require.Equal(t, clean, got.Text)
				require.Equal(t, before, cutCount(t, f))
				return
			}
			require.Greater(t, n, tt.limit/2, "most of the text is kept")
			kept, note, ok := strings.Cut(got.Text, "\n[message cut by the gateway: ")
			require.True(t, ok, "a note says the text was cut: %q", got.Text[max(0, len(got.Text)-120):])
			require.True(t, strings.HasPrefix(clean, kept), "the start of the text is kept")
			require.Contains(t, note, fmt.Sprintf("%d characters, over this channel's limit of %d]", utf8.RuneCountInString(clean), tt.limit))
			require.Equal(t, before+1, cutCount(t, f))
		})
	}
}
