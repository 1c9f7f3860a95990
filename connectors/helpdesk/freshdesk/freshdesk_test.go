package freshdesk

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/settings"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/test/conformance"
	"github.com/casino-support/gateway/test/freshdeskfake"
)

func newConv(kind normalize.ChannelKind, address string) normalize.Conversation {
	now := time.Now().UTC()
	return normalize.Conversation{ID: normalize.NewConversationID(), Channel: "chan", ChannelKind: kind, Address: normalize.Address(address),
		Status: normalize.StatusOpen, Priority: normalize.PriorityNormal, Language: "de",
		Player: normalize.Author{Role: normalize.RolePlayer, DisplayName: "Max Spieler", VIPTier: 2}, CreatedAt: now, UpdatedAt: now}
}

func delivery(conv normalize.Conversation, text string) connectors.Delivery {
	return connectors.Delivery{Attempt: 1, Message: normalize.Message{ID: normalize.NewMessageID(), Direction: normalize.Inbound,
		Conversation: conv.ID, Channel: conv.Channel, Address: conv.Address, Author: conv.Player, Kind: normalize.KindText, Text: text}}
}

// running starts Run with a recording sink until the test ends.
func running(t *testing.T, hd *Helpdesk) *conformance.RecordingSink {
	t.Helper()
	sink := &conformance.RecordingSink{}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- hd.Run(ctx, sink) }()
	t.Cleanup(func() { cancel(); <-done })
	require.Eventually(t, func() bool { _, _, ok := hd.sink.Held(); return ok }, waitFor, tick)
	return sink
}

func TestConfigValidate(t *testing.T) {
	valid := func() *Config {
		c := DefaultConfig()
		c.URL, c.APIKey, c.WebhookSecret = "https://casino.freshdesk.com", "key", testSecret
		return c
	}
	cases := []struct {
		name  string
		tweak func(*Config)
		want  []string
	}{
		{"valid", func(*Config) {}, nil},
		{"no api key", func(c *Config) { c.APIKey = "" }, []string{"api_key"}},
		{"no url", func(c *Config) { c.URL = "" }, []string{"url"}},
		{"short webhook secret", func(c *Config) { c.WebhookSecret = "short" }, []string{"webhook_secret"}},
		{"poll needs no secret", func(c *Config) { c.Mode, c.WebhookSecret = ModePoll, "" }, nil},
		{"unknown mode", func(c *Config) { c.Mode = "push" }, []string{"mode"}},
		{"bad header", func(c *Config) { c.WebhookHeader = "X Secret" }, []string{"webhook_header"}},
		{"bad tag", func(c *Config) { c.Tags = []string{"a,b"} }, []string{"tags[0]"}},
		{"field not an API name", func(c *Config) { c.Fields.Language = "Language" }, []string{"fields.language"}},
		{"bad source", func(c *Config) { c.Source = 4 }, []string{"source"}},
		{"closed ticket policy", func(c *Config) { c.ClosedTicket = "ignore" }, []string{"closed_ticket"}},
		{"reconcile too often", func(c *Config) { c.ReconcileInterval = time.Second }, []string{"reconcile_interval"}},
		{"marker prefix with a bracket", func(c *Config) { c.MarkerPrefix = "gw]" }, []string{"marker_prefix"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := valid()
			c.tweak(cfg)
			p := settings.NewProblems("")
			cfg.Validate(p)
			var keys []string
			for _, pr := range p.List() {
				keys = append(keys, pr.Key)
			}
			require.Equal(t, c.want, keys, "%v", p.List())
		})
	}
}

// TestTicketCarriesMetadata: the ticket is created with subject, priority, tags and the
// mapped custom fields, by a contact found by e-mail or by channel and address, and a second
// conversation of the same player finds the same contact.
func TestTicketCarriesMetadata(t *testing.T) {
	cases := []struct {
		name      string
		conv      func() normalize.Conversation
		wantEmail string
		wantExt   string
	}{
		{"messenger player", func() normalize.Conversation { return newConv(normalize.KindTelegram, "7000000001") }, "", "chan:7000000001"},
		{"player with e-mail", func() normalize.Conversation {
			c := newConv(normalize.KindWebchat, "w-1")
			c.Player.Email = "Max@Example.com"
			return c
		}, "max@example.com", ""},
		{"e-mail channel", func() normalize.Conversation { return newConv(normalize.KindEmail, "player@example.com") }, "player@example.com", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, func(cfg *Config) {
				cfg.Tags = []string{"casino_gateway"}
				cfg.Fields = Fields{Language: "cf_language", VIPTier: "cf_vip", Channel: "cf_channel", SLA: "cf_sla", PlayerID: "cf_player"}
			})
			conv := c.conv()
			conv.Priority = normalize.PriorityHigh
			conv.Player.PlayerID = "P-42"
			ref, ids, err := e.hd.Post(t.Context(), conv, []connectors.Delivery{delivery(conv, "Withdrawal stuck\nsince Monday <b>")})
			require.NoError(t, err)
			tk, ok := e.fd.Ticket(ticketID(t, ref))
			require.True(t, ok)
			require.Equal(t, []normalize.ExternalID{descriptionID(tk.ID)}, ids)
			require.Equal(t, "Withdrawal stuck", tk.Subject)
			require.Equal(t, 3, tk.Priority, "high")
			require.Equal(t, sourceChat, tk.Source)
			require.Contains(t, tk.Description, "since Monday &lt;b&gt;", "the player's text is escaped HTML")
			require.Subset(t, tk.Tags, []string{"casino_gateway", "channel_" + string(conv.ChannelKind), "lang_de", "vip_2"})
			require.Equal(t, "de", tk.CustomFields["cf_language"])
			require.Equal(t, "2", tk.CustomFields["cf_vip"])
			require.Equal(t, "P-42", tk.CustomFields["cf_player"])
			require.Equal(t, "none", tk.CustomFields["cf_sla"])
			contacts := e.fd.Contacts()
			require.Len(t, contacts, 1)
			require.Equal(t, tk.RequesterID, contacts[0].ID)
			if c.wantEmail != "" {
				require.Equal(t, c.wantEmail, *contacts[0].Email)
				require.Nil(t, contacts[0].UniqueExternalID)
			} else {
				require.Nil(t, contacts[0].Email, "no made-up address")
				require.Equal(t, c.wantExt, *contacts[0].UniqueExternalID)
			}
			// Another conversation of the player, from a new process: the contact is found.
			hd2, err := New("freshdesk-test", e.hd.cfg, Deps{})
			require.NoError(t, err)
			other := conv
			other.ID, other.Ticket = normalize.NewConversationID(), ""
			_, _, err = hd2.Post(t.Context(), other, []connectors.Delivery{delivery(other, "and another thing")})
			require.NoError(t, err)
			require.Len(t, e.fd.Contacts(), 1, "one contact per player")
		})
	}
}

// TestUpdateAndNotice: an Update sets priority and fields with a private note; a gateway
// notice is a private note; a player's message is the contact's incoming public note.
func TestUpdateAndNotice(t *testing.T) {
	e := newEnv(t, func(cfg *Config) { cfg.Fields.VIPTier = "cf_vip" })
	conv := newConv(normalize.KindTelegram, "1")
	ref, _, err := e.hd.Post(t.Context(), conv, []connectors.Delivery{delivery(conv, "hello")})
	require.NoError(t, err)
	conv.Ticket = ref
	up := delivery(conv, "VIP tier now 4")
	up.Kind, up.Update = normalize.KindSystem, &normalize.Update{Changed: []normalize.Field{normalize.FieldVIPTier}, VIPTier: 4, Priority: normalize.PriorityUrgent}
	notice := delivery(conv, "the player was told we are closed")
	notice.Kind = normalize.KindSystem
	msg := delivery(conv, "still there?")
	_, ids, err := e.hd.Post(t.Context(), conv, []connectors.Delivery{up, notice, msg})
	require.NoError(t, err)
	require.Len(t, ids, 3)
	tk, _ := e.fd.Ticket(ticketID(t, ref))
	require.Equal(t, 4, tk.Priority)
	require.Equal(t, "4", tk.CustomFields["cf_vip"])
	require.Len(t, tk.Conversations, 3)
	require.True(t, tk.Conversations[0].Private)
	require.True(t, tk.Conversations[1].Private)
	require.False(t, tk.Conversations[2].Private)
	require.True(t, tk.Conversations[2].Incoming)
	require.Equal(t, tk.RequesterID, tk.Conversations[2].UserID, "the player's message is the contact's")
}

// TestClosedTicketReopen: under closed_ticket: reopen the message goes onto the resolved
// ticket, which is set open again.
func TestClosedTicketReopen(t *testing.T) {
	e := newEnv(t, func(cfg *Config) { cfg.ClosedTicket = settings.ClosedReopen })
	conv := newConv(normalize.KindTelegram, "1")
	ref, _, err := e.hd.Post(t.Context(), conv, []connectors.Delivery{delivery(conv, "hello")})
	require.NoError(t, err)
	require.NoError(t, e.fd.SetStatus(ticketID(t, ref), freshdeskfake.StatusResolved))
	conv.Ticket, conv.Status = ref, normalize.StatusClosed
	again, ids, err := e.hd.Post(t.Context(), conv, []connectors.Delivery{delivery(conv, "it happened again")})
	require.NoError(t, err)
	require.Equal(t, ref, again)
	require.Len(t, ids, 1)
	tk, _ := e.fd.Ticket(ticketID(t, ref))
	require.Equal(t, freshdeskfake.StatusOpen, tk.Status)
	require.Len(t, e.fd.Tickets(), 1)
}

// TestHookRefuses: the webhook takes only POSTs with the shared secret header and a body
// naming a ticket; the simple content type's wrapper is read too.
func TestHookRefuses(t *testing.T) {
	e := newEnv(t, nil)
	sink := running(t, e.hd)
	conv := newConv(normalize.KindTelegram, "1")
	ref, _, err := e.hd.Post(t.Context(), conv, []connectors.Delivery{delivery(conv, "hello")})
	require.NoError(t, err)
	_, err = e.fd.AgentReply(ticketID(t, ref), e.agent, "Hi there")
	require.NoError(t, err)
	hdr := DefaultWebhookHeader
	cases := []struct {
		name   string
		method string
		header map[string]string
		body   string
		want   int
	}{
		{"get", http.MethodGet, map[string]string{hdr: testSecret}, "", http.StatusMethodNotAllowed},
		{"no secret", http.MethodPost, nil, `{"ticket_id":"` + string(ref) + `"}`, http.StatusUnauthorized},
		{"wrong secret", http.MethodPost, map[string]string{hdr: testSecret + "x"}, `{"ticket_id":"` + string(ref) + `"}`, http.StatusUnauthorized},
		{"secret in another header", http.MethodPost, map[string]string{"X-Other": testSecret}, `{"ticket_id":"1"}`, http.StatusUnauthorized},
		{"not json", http.MethodPost, map[string]string{hdr: testSecret}, `ticket`, http.StatusBadRequest},
		{"no ticket", http.MethodPost, map[string]string{hdr: testSecret}, `{"status":"Open"}`, http.StatusBadRequest},
		{"wrapped", http.MethodPost, map[string]string{hdr: testSecret}, `{"freshdesk_webhook":{"ticket_id":` + string(ref) + `}}`, http.StatusOK},
		{"unknown ticket", http.MethodPost, map[string]string{hdr: testSecret}, `{"ticket_id":"99999"}`, http.StatusOK},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest(c.method, "/hooks/freshdesk-test", strings.NewReader(c.body))
			for k, v := range c.header {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			e.hd.ServeHTTP(rec, req)
			require.Equal(t, c.want, rec.Code, rec.Body.String())
		})
	}
	replies := sink.Where(func(m normalize.Message) bool { return m.Text == "Hi there" })
	require.Len(t, replies, 1, "only the accepted notification delivered the reply")
	require.Equal(t, normalize.RoleAgent, replies[0].Author.Role)
	require.Equal(t, "Alice Agent", replies[0].Author.DisplayName)
}

// TestPollMode: in mode poll the updated tickets are read from a cursor kept in Cursors;
// agents' replies (with files) and status changes arrive, notes and other tickets do not.
func TestPollMode(t *testing.T) {
	cursors := &memCursors{m: map[string]string{}}
	e := newEnv(t, func(cfg *Config) { cfg.Mode, cfg.PollInterval = ModePoll, time.Second })
	hd, err := New("freshdesk-test", e.hd.cfg, Deps{Blobs: e.blobs, Cursors: cursors})
	require.NoError(t, err)
	conv := newConv(normalize.KindTelegram, "1")
	ref, _, err := hd.Post(t.Context(), conv, []connectors.Delivery{delivery(conv, "hello")})
	require.NoError(t, err)
	id := ticketID(t, ref)
	_, err = e.fd.AgentReply(id, e.agent, "Here is the receipt", freshdeskfake.File{Name: "receipt.pdf", ContentType: "application/pdf", Content: []byte("%PDF-1")})
	require.NoError(t, err)
	_, err = e.fd.AgentNote(id, e.agent, "internal only", false)
	require.NoError(t, err)
	require.NoError(t, e.fd.SetStatus(id, freshdeskfake.StatusResolved))
	sink := &conformance.RecordingSink{}
	require.NoError(t, hd.pollOnce(t.Context(), sink))
	msgs := sink.Messages()
	require.Len(t, msgs, 2, "%+v", msgs)
	require.Equal(t, "Here is the receipt", msgs[0].Text)
	require.Len(t, msgs[0].Attachments, 1)
	rc, err := e.blobs.Open(t.Context(), msgs[0].Attachments[0].BlobRef)
	require.NoError(t, err)
	var b bytes.Buffer
	_, _ = b.ReadFrom(rc)
	rc.Close()
	require.Equal(t, "%PDF-1", b.String())
	require.Equal(t, normalize.StatusClosed, msgs[1].Status)
	require.NotEmpty(t, cursors.m[cursorKey], "the cursor is kept in the store")
	// Nothing new: nothing delivered again.
	require.NoError(t, hd.pollOnce(t.Context(), sink))
	require.Len(t, sink.Messages(), 2)
}

// TestRateLimit: past Freshdesk's quota a 429's Retry-After reaches the router; the message
// is not written.
func TestRateLimit(t *testing.T) {
	e := newEnv(t, nil)
	conv := newConv(normalize.KindTelegram, "1")
	e.fd.SetRateLimit(2) // the contact look-up and its creation
	_, ids, err := e.hd.Post(t.Context(), conv, []connectors.Delivery{delivery(conv, "hello")})
	require.Error(t, err)
	require.Empty(t, ids)
	wait, ok := connectors.RetryDelay(err)
	require.True(t, ok, "%v", err)
	require.GreaterOrEqual(t, wait, 10*time.Second, "the rest of Freshdesk's minute")
	require.False(t, connectors.IsPermanent(err))
	require.Empty(t, e.fd.Tickets())
}

// TestTooManyFiles: files over Freshdesk's 20 MB together are refused for good, with the
// reason, before anything is sent.
func TestTooManyFiles(t *testing.T) {
	e := newEnv(t, nil)
	conv := newConv(normalize.KindTelegram, "1")
	d := delivery(conv, "my documents")
	d.Attachments = []normalize.Attachment{{Name: "a.pdf", Size: 15 << 20, BlobRef: "x"}, {Name: "b.pdf", Size: 10 << 20, BlobRef: "y"}}
	_, _, err := e.hd.Post(t.Context(), conv, []connectors.Delivery{d})
	require.True(t, connectors.IsPermanent(err), "%v", err)
	require.ErrorContains(t, err, "20971520")
	require.Empty(t, e.fd.Tickets())
}

// TestMergedContact: a contact deleted in Freshdesk since the gateway remembered it makes
// the post fail retryably; the retry creates the contact afresh.
func TestMergedContact(t *testing.T) {
	e := newEnv(t, nil)
	conv := newConv(normalize.KindTelegram, "1")
	ref, _, err := e.hd.Post(t.Context(), conv, []connectors.Delivery{delivery(conv, "hello")})
	require.NoError(t, err)
	tk, _ := e.fd.Ticket(ticketID(t, ref))
	e.fd.DeleteContact(tk.RequesterID)
	conv.Ticket = ref
	d := delivery(conv, "again")
	_, _, err = e.hd.Post(t.Context(), conv, []connectors.Delivery{d})
	require.Error(t, err)
	require.False(t, connectors.IsPermanent(err), "%v", err)
	d.Attempt = 2
	_, ids, err := e.hd.Post(t.Context(), conv, []connectors.Delivery{d})
	require.NoError(t, err)
	require.Len(t, ids, 1)
	require.Len(t, e.fd.Contacts(), 1)
}

func TestMarkers(t *testing.T) {
	body := htmlBody("hi [gateway-message-id: m1] quoted\nline", conversationMarker("gateway:c1"), marker("m2"))
	id, ok := markedID(body)
	require.True(t, ok)
	require.Equal(t, normalize.MessageID("m2"), id)
	_, ok = markedID("<div>agent quotes [gateway-message-id: m1] and goes on</div>")
	require.False(t, ok, "a quoted marker is no echo")
	key, ok := markedConversation("<div>[gateway-conversation: gateway:evil]</div>" + body)
	require.True(t, ok)
	require.Equal(t, "gateway:c1", key, "the last conversation marker counts")
	require.Equal(t, "hi [gateway-message-id: m1] quoted\nline", plainText(htmlBody("hi [gateway-message-id: m1] quoted\nline")))
	require.Equal(t, `https://x.freshdesk.com/api/v2/tickets?page=2`,
		nextPage(http.Header{"Link": {`<https://x.freshdesk.com/api/v2/tickets?page=2>; rel="next"`}}))
	require.Empty(t, nextPage(http.Header{}))
}

type memCursors struct {
	m map[string]string
}

func (c *memCursors) Cursor(_ context.Context, _ normalize.InstanceName, key string) (string, error) {
	return c.m[key], nil
}

func (c *memCursors) SetCursor(_ context.Context, _ normalize.InstanceName, key, value string) error {
	c.m[key] = value
	return nil
}

// TestPollPages: more tickets changed than fit one page are all read, the poller asking again
// from its moved cursor after each full page.
func TestPollPages(t *testing.T) {
	e := newEnv(t, func(cfg *Config) { cfg.Mode = ModePoll })
	const n = pollPerPage + 30
	for i := range n {
		conv := newConv(normalize.KindTelegram, fmt.Sprint(i))
		ref, _, err := e.hd.Post(t.Context(), conv, []connectors.Delivery{delivery(conv, "hello")})
		require.NoError(t, err)
		_, err = e.fd.AgentReply(ticketID(t, ref), e.agent, fmt.Sprintf("reply %d", i))
		require.NoError(t, err)
	}
	sink := &conformance.RecordingSink{}
	require.NoError(t, e.hd.pollOnce(t.Context(), sink))
	require.Len(t, sink.Where(func(m normalize.Message) bool { return strings.HasPrefix(m.Text, "reply ") }), n)
	require.GreaterOrEqual(t, e.fd.Calls("GET /api/v2/tickets"), 2+n, "the ticket look-ups of the posts and at least two pages")
}
