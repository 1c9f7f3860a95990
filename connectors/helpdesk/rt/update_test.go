package rt

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/helpdesk/hdkit"
	"github.com/casino-support/gateway/normalize"
)

func TestRTPriority(t *testing.T) {
	for _, tc := range []struct {
		name     string
		p        normalize.Priority
		tier     int
		breached bool
		want     int
	}{
		{"normal", normalize.PriorityNormal, 0, false, 50},
		{"unknown counts as normal", "", 0, false, 50},
		{"low VIP 1", normalize.PriorityLow, 1, false, 25},
		{"normal VIP 2 breached", normalize.PriorityNormal, 2, true, 80},
		{"high breached", normalize.PriorityHigh, 0, true, 90},
		{"urgent breached is capped", normalize.PriorityUrgent, 0, true, 99},
		{"negative tier adds nothing", normalize.PriorityHigh, -3, false, 70},
	} {
		t.Run(tc.name, func(t *testing.T) { require.Equal(t, tc.want, rtPriority(tc.p, tc.tier, tc.breached)) })
	}
}

func TestPriorityOfNewTicket(t *testing.T) {
	breach := normalize.SLA{AwaitingSince: time.Unix(100, 0), DueAt: time.Unix(200, 0), BreachedAt: time.Unix(201, 0)}
	conv := normalize.Conversation{Priority: normalize.PriorityNormal, Player: normalize.Author{VIPTier: 1}}
	for _, tc := range []struct {
		name  string
		conv  normalize.Conversation
		first normalize.Message
		want  int
	}{
		{"from the conversation", conv, normalize.Message{}, 55},
		{"the author's tier when higher", conv, normalize.Message{Author: normalize.Author{VIPTier: 3}}, 65},
		{"a breached conversation", normalize.Conversation{Priority: normalize.PriorityHigh, SLA: breach}, normalize.Message{}, 90},
		{"an Update first speaks for itself", conv, normalize.Message{Kind: normalize.KindSystem,
			Update: &normalize.Update{Changed: []normalize.Field{normalize.FieldSLA}, Priority: normalize.PriorityLow, SLA: breach}}, 40},
	} {
		t.Run(tc.name, func(t *testing.T) { require.Equal(t, tc.want, priority(tc.conv, tc.first)) })
	}
}

func TestTouchesPriority(t *testing.T) {
	for _, tc := range []struct {
		changed []normalize.Field
		want    bool
	}{
		{[]normalize.Field{normalize.FieldLanguage}, false},
		{[]normalize.Field{normalize.FieldPlayerID, normalize.FieldLanguage}, false},
		{[]normalize.Field{normalize.FieldVIPTier}, true},
		{[]normalize.Field{normalize.FieldLanguage, normalize.FieldPriority}, true},
		{[]normalize.Field{normalize.FieldSLA}, true},
	} {
		require.Equal(t, tc.want, touchesPriority(&normalize.Update{Changed: tc.changed}), "%v", tc.changed)
	}
}

// updateDelivery is an Update as the store enqueues it: an inbound system message.
func updateDelivery(conv normalize.Conversation, attempt int, u *normalize.Update, text string) connectors.Delivery {
	return connectors.Delivery{Attempt: attempt, Message: normalize.Message{ID: normalize.NewMessageID(), Direction: normalize.Inbound,
		Source: conv.Channel, ExternalID: normalize.ExternalID("update-" + strconv.FormatInt(time.Now().UnixNano(), 36)),
		Conversation: conv.ID, Channel: conv.Channel, ChannelKind: conv.ChannelKind, Address: conv.Address,
		Author: normalize.Author{Role: normalize.RoleSystem}, Kind: normalize.KindSystem, Text: text, Update: u}}
}

// ticketPriority reads a ticket's priority from RT.
func ticketPriority(t *testing.T, h *Helpdesk, ticket normalize.Ref) int {
	t.Helper()
	var tk struct {
		Priority flexString `json:"Priority"`
		Subject  string     `json:"Subject"`
	}
	require.NoError(t, h.rt.do(t.Context(), "GET", "/ticket/"+string(ticket), nil, nil, &tk))
	return tk.Priority.int()
}

// gatewayComments lists the message IDs marked in the gateway's comments on ticket, in order.
func gatewayComments(t *testing.T, h *Helpdesk, ticket normalize.Ref) []normalize.MessageID {
	t.Helper()
	txns, err := h.rt.transactions(t.Context(), mustInt(t, ticket), 0, "Comment")
	require.NoError(t, err)
	var out []normalize.MessageID
	for _, x := range txns {
		require.True(t, h.isGateway(x.Creator), "comment by %s", x.Creator.Name)
		text, err := h.rt.txnText(t.Context(), x.ID.int())
		require.NoError(t, err)
		out = append(out, hdkit.Markers(text)...)
	}
	return out
}

// mailsTo counts the mails RT wrote to its mbox files (see test/peers/rt.sh) naming addr.
func mailsTo(t *testing.T, addr string) int {
	t.Helper()
	dir := os.Getenv("GATEWAY_RT_PEER_DIR")
	if dir == "" {
		dir = "/tmp/gateway-rt-peer"
	}
	files, err := filepath.Glob(filepath.Join(dir, "var", "*.mbox"))
	require.NoError(t, err)
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "To:") && strings.Contains(line, addr) {
				n++
			}
		}
	}
	return n
}

// TestUpdateSetsPriorityAndCommentsOnce posts Updates to a real RT: each sets the ticket's
// priority when what it rests on changed and becomes one internal comment, never a
// correspondence (which RT would mail to the player), also when a crash makes the router
// post it again.
func TestUpdateSetsPriorityAndCommentsOnce(t *testing.T) {
	h := newPeerHelpdesk(t, nil)
	conv := newConv() // normal, VIP tier 2
	opening := deliveries(conv, 1, "my withdrawal is stuck")
	ticket, _, err := h.Post(t.Context(), conv, opening)
	require.NoError(t, err)
	conv.Ticket = ticket
	require.Equal(t, 60, ticketPriority(t, h, ticket))
	requestor := h.requestor(conv)
	mailed := mailsTo(t, requestor)
	require.Positive(t, mailed, "RT's autoreply on create shows the mbox is read")

	now := time.Now().UTC().Truncate(time.Second)
	breach := updateDelivery(conv, 1, &normalize.Update{Changed: []normalize.Field{normalize.FieldSLA}, Priority: normalize.PriorityNormal, VIPTier: 2,
		SLA: normalize.SLA{AwaitingSince: now.Add(-10 * time.Minute), DueAt: now.Add(-5 * time.Minute), BreachedAt: now}},
		"Conversation updated: first-response target missed.")
	start := time.Now()
	_, got, err := h.Post(t.Context(), conv, []connectors.Delivery{breach})
	require.NoError(t, err)
	t.Logf("update (priority + comment): %s", time.Since(start))
	require.Equal(t, []normalize.ExternalID{normalize.ExternalID(breach.ID)}, got)
	require.Equal(t, 80, ticketPriority(t, h, ticket), "normal 50 + VIP 2×5 + breach 20")
	require.Equal(t, []normalize.MessageID{breach.ID}, gatewayComments(t, h, ticket))

	// The gateway died before it recorded the outcome: the router posts it again.
	breach.Attempt = 2
	_, got, err = h.Post(t.Context(), conv, []connectors.Delivery{breach})
	require.NoError(t, err)
	require.Equal(t, []normalize.ExternalID{normalize.ExternalID(breach.ID)}, got)
	require.Equal(t, []normalize.MessageID{breach.ID}, gatewayComments(t, h, ticket), "exactly one comment after the retry")
	require.Equal(t, 80, ticketPriority(t, h, ticket))

	// An agent sets the priority by hand; a language change leaves it, a new VIP tier does not.
	require.NoError(t, agentClient(t).updateTicket(t.Context(), mustInt(t, ticket), map[string]any{"Priority": 33}))
	lang := updateDelivery(conv, 1, &normalize.Update{Changed: []normalize.Field{normalize.FieldLanguage}, Language: "de",
		Priority: normalize.PriorityNormal, VIPTier: 2}, "Conversation updated: language de.")
	vip := updateDelivery(conv, 1, &normalize.Update{Changed: []normalize.Field{normalize.FieldVIPTier}, Language: "de",
		Priority: normalize.PriorityNormal, VIPTier: 3}, "Conversation updated: VIP tier 3.")
	_, _, err = h.Post(t.Context(), conv, []connectors.Delivery{lang})
	require.NoError(t, err)
	require.Equal(t, 33, ticketPriority(t, h, ticket))
	_, _, err = h.Post(t.Context(), conv, []connectors.Delivery{vip})
	require.NoError(t, err)
	require.Equal(t, 65, ticketPriority(t, h, ticket), "the SLA answered: normal 50 + VIP 3×5")

	require.Equal(t, []normalize.MessageID{breach.ID, lang.ID, vip.ID}, gatewayComments(t, h, ticket))
	require.Equal(t, ids(opening), onTicket(t, h, ticket), "no Update became a correspondence")
	require.Equal(t, mailed, mailsTo(t, requestor), "RT mailed the player nothing about the Updates")
}

// TestUpdateFirstCreatesTicket covers the edge of an Update reaching a conversation that has
// no ticket yet: it opens the ticket like any first message, with its own priority, and a
// retry finds that ticket instead of opening a second.
func TestUpdateFirstCreatesTicket(t *testing.T) {
	h := newPeerHelpdesk(t, nil)
	conv := newConv()
	u := updateDelivery(conv, 1, &normalize.Update{Changed: []normalize.Field{normalize.FieldPriority}, Priority: normalize.PriorityHigh, VIPTier: 2},
		"Conversation updated: priority high.")
	ticket, got, err := h.Post(t.Context(), conv, []connectors.Delivery{u})
	require.NoError(t, err)
	require.Equal(t, []normalize.ExternalID{normalize.ExternalID(u.ID)}, got)
	require.Equal(t, 80, ticketPriority(t, h, ticket), "high 70 + VIP 2×5")
	var tk struct {
		Subject string `json:"Subject"`
	}
	require.NoError(t, h.rt.do(t.Context(), "GET", "/ticket/"+string(ticket), nil, nil, &tk))
	require.Equal(t, "Message from tg-main", tk.Subject, "the gateway's words are no subject")

	u.Attempt = 2
	again, _, err := h.Post(t.Context(), conv, []connectors.Delivery{u})
	require.NoError(t, err)
	require.Equal(t, ticket, again)
	require.Equal(t, []normalize.MessageID{u.ID}, onTicket(t, h, ticket))
}
