package rt

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/helpdesk/hdkit"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/test/conformance"
)

func newConv() normalize.Conversation {
	id := normalize.NewConversationID()
	return normalize.Conversation{ID: id, Channel: "tg-main", ChannelKind: normalize.KindTelegram,
		Address: normalize.Address(strconv.FormatInt(time.Now().UnixNano(), 10)), Helpdesk: "rt-test",
		Status: normalize.StatusOpen, Priority: normalize.PriorityNormal, Player: normalize.Author{Role: normalize.RolePlayer, VIPTier: 2}}
}

func deliveries(conv normalize.Conversation, attempt int, texts ...string) []connectors.Delivery {
	out := make([]connectors.Delivery, len(texts))
	for i, text := range texts {
		out[i] = connectors.Delivery{Attempt: attempt, Message: normalize.Message{ID: normalize.NewMessageID(), Direction: normalize.Inbound,
			Source: conv.Channel, ExternalID: normalize.ExternalID("x" + strconv.Itoa(i)), Conversation: conv.ID, Channel: conv.Channel,
			ChannelKind: conv.ChannelKind, Address: conv.Address, Author: normalize.Author{Role: normalize.RolePlayer}, Kind: normalize.KindText, Text: text}}
	}
	return out
}

func ids(ds []connectors.Delivery) []normalize.MessageID {
	out := make([]normalize.MessageID, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}

// onTicket lists the message IDs marked in the gateway's transactions of ticket, in order.
func onTicket(t *testing.T, h *Helpdesk, ticket normalize.Ref) []normalize.MessageID {
	t.Helper()
	n, err := strconv.Atoi(string(ticket))
	require.NoError(t, err)
	txns, err := h.rt.transactions(t.Context(), n, 0, "")
	require.NoError(t, err)
	var out []normalize.MessageID
	for _, x := range txns {
		if x.Type != "Create" && x.Type != "Correspond" || !h.isGateway(x.Creator) {
			continue
		}
		text, err := h.rt.txnText(t.Context(), x.ID.int())
		require.NoError(t, err)
		out = append(out, hdkit.Markers(text)...)
	}
	return out
}

func TestPostCreatesTicketAndAppendsInOrder(t *testing.T) {
	h := newPeerHelpdesk(t, nil)
	conv := newConv()
	first := deliveries(conv, 1, "I cannot withdraw my winnings\nsince Monday", "It says pending")
	start := time.Now()
	ticket, got, err := h.Post(t.Context(), conv, first)
	require.NoError(t, err)
	t.Logf("create + 1 correspond: %s", time.Since(start))
	require.NotEmpty(t, ticket)
	require.Equal(t, []normalize.ExternalID{normalize.ExternalID(first[0].ID), normalize.ExternalID(first[1].ID)}, got)

	conv.Ticket = ticket
	more := deliveries(conv, 1, "my account is 4711", "Grüße aus München")
	again, got, err := h.Post(t.Context(), conv, more)
	require.NoError(t, err)
	require.Equal(t, ticket, again)
	require.Len(t, got, 2)
	require.Equal(t, append(ids(first), ids(more)...), onTicket(t, h, ticket))

	n, _ := strconv.Atoi(string(ticket))
	var tk struct {
		Subject  string     `json:"Subject"`
		Priority flexString `json:"Priority"`
		Queue    ref        `json:"Queue"`
	}
	require.NoError(t, h.rt.do(t.Context(), "GET", "/ticket/"+string(ticket), nil, nil, &tk))
	require.Equal(t, "I cannot withdraw my winnings", tk.Subject)
	require.Equal(t, "60", string(tk.Priority), "normal 50 + VIP tier 2")
	reqs, err := h.rt.ticketRequestors(t.Context(), n)
	require.NoError(t, err)
	require.Equal(t, []string{h.requestor(conv)}, reqs)
}

func TestPostAttachmentBecomesRTAttachment(t *testing.T) {
	blobs := &memBlobs{}
	h := newPeerHelpdesk(t, blobs)
	pdf := "%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
	att, err := blobs.Put(t.Context(), strings.NewReader(pdf), "Kontoauszug-März.pdf", "application/pdf")
	require.NoError(t, err)
	conv := newConv()
	msgs := deliveries(conv, 1, "hello", "")
	msgs[1].Attachments = []normalize.Attachment{att}
	ticket, _, err := h.Post(t.Context(), conv, msgs)
	require.NoError(t, err)

	n, _ := strconv.Atoi(string(ticket))
	parts, err := collect[attachment](t.Context(), h.rt, "GET", "/ticket/"+string(ticket)+"/attachments",
		map[string][]string{"fields": {"ContentType,Filename"}}, nil)
	require.NoError(t, err)
	var found *attachment
	for i := range parts {
		if parts[i].Filename != "" {
			found = &parts[i]
		}
	}
	require.NotNil(t, found, "ticket %d has no file attachment", n)
	require.Equal(t, "Kontoauszug-M_rz.pdf", found.Filename)
	require.Equal(t, "application/pdf", found.ContentType)
	content, err := h.rt.attachmentText(t.Context(), found.ID.int())
	require.NoError(t, err)
	require.Equal(t, pdf, content)
	require.Equal(t, ids(msgs), onTicket(t, h, ticket))
}

func TestRunDeliversAgentReplyOnce(t *testing.T) {
	h := newPeerHelpdesk(t, nil)
	conv := newConv()
	ticket, _, err := h.Post(t.Context(), conv, deliveries(conv, 1, "please call me"))
	require.NoError(t, err)

	sink := &conformance.RecordingSink{}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx, sink) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})

	text := "We credited your account, ref " + strconv.FormatInt(time.Now().UnixNano(), 36) + " — Grüße"
	require.NoError(t, agentClient(t).correspond(t.Context(), mustInt(t, ticket), map[string]any{"Content": text, "ContentType": "text/plain"}))
	// The gateway's own correspondence must be ignored.
	conv.Ticket = ticket
	_, _, err = h.Post(t.Context(), conv, deliveries(conv, 1, "thanks!"))
	require.NoError(t, err)

	onThis := func(m normalize.Message) bool { return m.Ticket == ticket }
	start := time.Now()
	require.Eventually(t, func() bool { return len(sink.Where(onThis)) > 0 }, 60*time.Second, 50*time.Millisecond)
	t.Logf("reply reached the sink after %s", time.Since(start))
	time.Sleep(3 * h.cfg.PollInterval) // more polls must not deliver it again
	got := sink.Where(onThis)
	require.Len(t, got, 1, "exactly one delivery, no gateway transactions: %+v", got)
	m := got[0]
	require.Equal(t, normalize.Outbound, m.Direction)
	require.Equal(t, normalize.InstanceName("rt-test"), m.Source)
	require.True(t, strings.HasPrefix(string(m.ExternalID), "txn-"), m.ExternalID)
	require.Equal(t, text, m.Text)
	require.Equal(t, normalize.RoleAgent, m.Author.Role)
	require.Equal(t, "Support agent", m.Author.DisplayName)
	require.Equal(t, normalize.KindText, m.Kind)

	// A restart without a stored cursor replays the active tickets' history: the same
	// external ID again, which the store drops.
	h2 := newPeerHelpdesk(t, nil)
	forgetCursor(h2)
	again := pollUntil(t, h2, &conformance.RecordingSink{}, onThis, 1)
	require.Equal(t, m.ExternalID, again[0].ExternalID)
}

func TestRetryDoesNotDuplicate(t *testing.T) {
	h := newPeerHelpdesk(t, nil)
	conv := newConv()
	msgs := deliveries(conv, 1, "deposit missing", "tx id 99")
	ticket, first, err := h.Post(t.Context(), conv, msgs)
	require.NoError(t, err)

	retry := func(ds []connectors.Delivery, attempt int) []connectors.Delivery {
		out := append([]connectors.Delivery(nil), ds...)
		for i := range out {
			out[i].Attempt = attempt
		}
		return out
	}
	// The ticket was never recorded: the first message, attempt 2, finds it.
	start := time.Now()
	again, againIDs, err := h.Post(t.Context(), conv, retry(msgs, 2))
	require.NoError(t, err)
	t.Logf("retry with look-ups: %s (settle %s)", time.Since(start), h.cfg.SettleDelay)
	require.Equal(t, ticket, again)
	require.Equal(t, first, againIDs)

	conv.Ticket = ticket
	_, last, err := h.Post(t.Context(), conv, retry(msgs[1:], 3))
	require.NoError(t, err)
	require.Equal(t, first[1:], last)
	// An uncertain message that never arrived is posted.
	lost := deliveries(conv, 2, "lost on the way")
	_, _, err = h.Post(t.Context(), conv, lost)
	require.NoError(t, err)
	require.Equal(t, append(ids(msgs), lost[0].ID), onTicket(t, h, ticket))

	// A first message of another conversation of the same player, attempt 2, that never
	// arrived: a new ticket, not the old one.
	other := conv
	other.ID, other.Ticket = normalize.NewConversationID(), ""
	otherMsgs := deliveries(other, 2, "new question")
	t2, _, err := h.Post(t.Context(), other, otherMsgs)
	require.NoError(t, err)
	require.NotEqual(t, ticket, t2)
	require.Equal(t, ids(otherMsgs), onTicket(t, h, t2))
}

func mustInt(t *testing.T, r normalize.Ref) int {
	n, err := strconv.Atoi(string(r))
	require.NoError(t, err)
	return n
}

// TestRetryWaitsForInFlightPost simulates a correspond that was in flight when the gateway
// died and commits in RT only after the restart: the retry's look-up, after the settle
// delay, must find it instead of posting the message a second time.
func TestRetryWaitsForInFlightPost(t *testing.T) {
	h := newPeerHelpdesk(t, nil)
	h.cfg.SettleDelay = 2 * time.Second // longer than the in-flight post takes, even under -race
	conv := newConv()
	ticket, _, err := h.Post(t.Context(), conv, deliveries(conv, 1, "first"))
	require.NoError(t, err)
	conv.Ticket = ticket

	late := deliveries(conv, 2, "posted before the crash, committed after the restart")
	fields, err := h.content(t.Context(), late[0].Message)
	require.NoError(t, err)
	committed := make(chan error, 1)
	go func() {
		time.Sleep(200 * time.Millisecond) // still in flight when the retry starts
		start := time.Now()
		err := h.rt.correspond(context.Background(), mustInt(t, ticket), fields)
		t.Logf("in-flight correspond took %s", time.Since(start))
		committed <- err
	}()
	_, got, err := h.Post(t.Context(), conv, late)
	require.NoError(t, err)
	require.NoError(t, <-committed)
	require.Equal(t, []normalize.ExternalID{normalize.ExternalID(late[0].ID)}, got)
	require.Len(t, onTicket(t, h, ticket), 2, "the message must be on the ticket once")
}

// TestRunPassesStatusNotComments checks that an agent's comment reaches no one, and that
// resolving the ticket becomes a status message that closes the conversation (the router
// never sends such a message to the player).
func TestRunPassesStatusNotComments(t *testing.T) {
	h := newPeerHelpdesk(t, nil)
	conv := newConv()
	ticket, _, err := h.Post(t.Context(), conv, deliveries(conv, 1, "question"))
	require.NoError(t, err)
	agent := agentClient(t)
	n := mustInt(t, ticket)
	require.NoError(t, agent.do(t.Context(), "POST", "/ticket/"+string(ticket)+"/comment", nil,
		map[string]any{"Content": "internal: check KYC", "ContentType": "text/plain"}, nil))
	require.NoError(t, agent.do(t.Context(), "PUT", "/ticket/"+string(ticket), nil, map[string]any{"Status": "resolved"}, nil))
	sink := &conformance.RecordingSink{}
	got := pollUntil(t, h, sink, func(m normalize.Message) bool { return m.Ticket == ticket }, 1)
	require.Equal(t, normalize.KindSystem, got[0].Kind, "the comment is skipped; the status change is passed on")
	require.Equal(t, normalize.StatusClosed, got[0].Status)
	require.Equal(t, normalize.Outbound, got[0].Direction)
	require.NotContains(t, got[0].Text, "KYC", "a comment's content must not leak into the status message")
	status, err := h.rt.transactions(t.Context(), n, 0, "Status")
	require.NoError(t, err)
	require.NotEmpty(t, status)
	h.poller.mu.Lock()
	defer h.poller.mu.Unlock()
	require.GreaterOrEqual(t, h.poller.cursor, status[len(status)-1].ID.int(), "the cursor moves past what was handled")
}

// quote quotes text as RT's Reply link does: each line behind "> ".
func quote(text string) string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight("> "+l, " ")
	}
	return strings.Join(lines, "\n")
}

// TestPollDeliversReplyQuotingPlayer: an agent's reply that quotes the player's message, marker
// line included, reaches the player; a correspondence ending with a marker of its own (the
// gateway posting under another user name) does not.
func TestPollDeliversReplyQuotingPlayer(t *testing.T) {
	h, logs, ticket := peerTicket(t, nil, "where is my withdrawal?")
	txns, err := h.rt.transactions(t.Context(), mustInt(t, ticket), 0, "Create")
	require.NoError(t, err)
	require.Len(t, txns, 1)
	posted, err := h.rt.txnText(t.Context(), txns[0].ID.int())
	require.NoError(t, err)
	require.Len(t, hdkit.Markers(posted), 1, "the player's message carries its marker: %q", posted)

	below := "We credited your account.\n\nOn Mon, the player wrote:\n" + quote(posted)
	above := "On Mon, the player wrote:\n" + quote(posted) + "\n\nAnything else?"
	agentReplies(t, ticket, below, false)
	agentReplies(t, ticket, hdkit.WithMarker("posted by the gateway as someone else", "m-own"), false)
	agentReplies(t, ticket, above, false)

	sink := &conformance.RecordingSink{}
	got := pollUntil(t, h, sink, func(m normalize.Message) bool { return m.Ticket == ticket }, 2)
	require.Equal(t, strings.TrimSpace(below), got[0].Text)
	require.Equal(t, above, got[1].Text)
	require.Contains(t, logs.String(), "passed over as the gateway's own", "logs: %s", logs.String())
}

// An HTML e-mail's inline image reaches RT as a file beside the text: REST2 cannot give a
// part a Content-ID nor put it in a multipart/related with the HTML, which is what RT needs
// to show it in place (see content), so the HTML, whose cid: image would show broken, is not
// posted. Should a later RT keep the Content-ID, this test says so.
func TestPostInlineImageBecomesFileBesideText(t *testing.T) {
	blobs := &memBlobs{}
	h := newPeerHelpdesk(t, blobs)
	att, err := blobs.Put(t.Context(), strings.NewReader("\x89PNG\r\n\x1a\n inline"), "cashier.png", "image/png")
	require.NoError(t, err)
	att.ContentID = "part1.Kq3xV0bN@player.example"
	conv := newConv()
	conv.ChannelKind = normalize.KindEmail
	msgs := deliveries(conv, 1, "This is what the cashier shows:")
	msgs[0].HTML = `<p>This is what the cashier shows:</p><p><img src="cid:part1.Kq3xV0bN@player.example"></p>`
	msgs[0].Attachments = []normalize.Attachment{att}
	ticket, _, err := h.Post(t.Context(), conv, msgs)
	require.NoError(t, err)

	parts, err := collect[attachment](t.Context(), h.rt, "GET", "/ticket/"+string(ticket)+"/attachments",
		map[string][]string{"fields": {partFields}}, nil)
	require.NoError(t, err)
	var image *attachment
	var types []string
	for i, p := range parts {
		types = append(types, p.ContentType)
		if p.Filename == "cashier.png" {
			image = &parts[i]
		}
	}
	require.NotNil(t, image, "no cashier.png among %v", types)
	require.Equal(t, "image/png", image.ContentType)
	require.Contains(t, strings.ToLower(image.Headers), "content-type: image/png", "the part's headers are read")
	require.NotContains(t, strings.ToLower(image.Headers), "content-id")
	require.Contains(t, types, "text/plain")
	require.NotContains(t, types, "text/html")
	require.NotContains(t, types, "multipart/related")
	require.Equal(t, ids(msgs), onTicket(t, h, ticket))
}
