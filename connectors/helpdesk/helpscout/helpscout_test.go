package helpscout

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
	"github.com/casino-support/gateway/test/helpscoutfake"
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

func TestConfigValidate(t *testing.T) {
	valid := func() *Config {
		c := DefaultConfig()
		c.ClientID, c.ClientSecret, c.MailboxID, c.WebhookSecret = "id", "secret", 1, testSecret
		return c
	}
	cases := []struct {
		name  string
		tweak func(*Config)
		want  []string
	}{
		{"valid", func(*Config) {}, nil},
		{"no credentials", func(c *Config) { c.ClientID, c.ClientSecret = "", "" }, []string{"client_id", "client_secret"}},
		{"no mailbox", func(c *Config) { c.MailboxID = 0 }, []string{"mailbox_id"}},
		{"short webhook secret", func(c *Config) { c.WebhookSecret = "short" }, []string{"webhook_secret"}},
		{"long webhook secret", func(c *Config) { c.WebhookSecret = settings.Secret(strings.Repeat("s", 41)) }, []string{"webhook_secret"}},
		{"poll needs no secret", func(c *Config) { c.Mode, c.WebhookSecret = ModePoll, "" }, nil},
		{"unknown mode", func(c *Config) { c.Mode = "push" }, []string{"mode"}},
		{"bad tag", func(c *Config) { c.Tags = []string{"Two Words"} }, []string{"tags[0]"}},
		{"bad tag prefix", func(c *Config) { c.TagPrefix = "" }, []string{"tag_prefix"}},
		{"closed ticket policy", func(c *Config) { c.ClosedTicket = "ignore" }, []string{"closed_ticket"}},
		{"reconcile too often", func(c *Config) { c.ReconcileInterval = time.Second }, []string{"reconcile_interval"}},
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

// TestConversationCarriesMetadata: the conversation is created as a chat (no e-mail for a
// player who chats) without Help Scout's auto reply, with subject, tags and the mapped custom
// fields, by a customer found by e-mail, or created with no address at all and the channel
// and address as a chat handle.
func TestConversationCarriesMetadata(t *testing.T) {
	cases := []struct {
		name      string
		kind      normalize.ChannelKind
		email     string
		wantType  string
		wantEmail []string
	}{
		{"telegram player without e-mail", normalize.KindTelegram, "", "chat", nil},
		{"web chat player with e-mail", normalize.KindWebchat, "Max@Example.com", "chat", []string{"max@example.com"}},
		{"e-mail player", normalize.KindEmail, "max@example.com", "email", []string{"max@example.com"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, func(cfg *Config) {
				cfg.Tags = []string{"casino"}
				cfg.Fields = Fields{Language: 11, VIPTier: 12, Channel: 13}
			})
			conv := newConv(c.kind, "555")
			conv.Player.Email = c.email
			conv.Priority = normalize.PriorityHigh
			ref, _, err := e.hd.Post(t.Context(), conv, []connectors.Delivery{delivery(conv, "Where is my withdrawal?\nIt's been 3 days")})
			require.NoError(t, err)
			hc, ok := e.hs.Conversation(convID(t, ref))
			require.True(t, ok)
			require.Equal(t, "Where is my withdrawal?", hc.Subject)
			require.Equal(t, c.wantType, hc.Type)
			require.False(t, hc.AutoReply)
			require.Equal(t, []string{"casino", "channel-" + string(c.kind), "gw-" + string(conv.ID), "lang-de", "priority-high", "vip-2"}, hc.Tags)
			require.Equal(t, map[int64]string{11: "de", 12: "2", 13: "chan:555"}, hc.Fields)
			cust, ok := e.hs.Customer(hc.CustomerID)
			require.True(t, ok)
			require.Equal(t, c.wantEmail, cust.Emails, "never a made-up address")
			if c.email == "" {
				require.Equal(t, []map[string]string{{"type": "other", "value": "chan:555"}}, cust.Chats)
			}
			require.Equal(t, "Max", cust.FirstName)
			require.Contains(t, hc.Threads[0].Body, "Where is my withdrawal?<br>It&#39;s been 3 days")
			require.Equal(t, "customer", hc.Threads[0].Type, "the player's message is the customer's, not an agent's")
		})
	}
}

// TestUpdateSwapsMetadataTags: an Update replaces the gateway's metadata tags (and leaves the
// agents' own), sets the custom fields and leaves a note, never a customer thread.
func TestUpdateSwapsMetadataTags(t *testing.T) {
	e := newEnv(t, func(cfg *Config) { cfg.Fields = Fields{VIPTier: 12, SLA: 14} })
	conv := newConv(normalize.KindTelegram, "555")
	ref, _, err := e.hd.Post(t.Context(), conv, []connectors.Delivery{delivery(conv, "hi")})
	require.NoError(t, err)
	conv.Ticket = ref
	up := delivery(conv, "VIP tier now 4")
	up.Kind, up.Update = normalize.KindSystem, &normalize.Update{Changed: []normalize.Field{normalize.FieldVIPTier}, VIPTier: 4, Language: "de", Priority: normalize.PriorityUrgent}
	_, ids, err := e.hd.Post(t.Context(), conv, []connectors.Delivery{up})
	require.NoError(t, err)
	hc, _ := e.hs.Conversation(convID(t, ref))
	require.Equal(t, []string{"channel-telegram", "gw-" + string(conv.ID), "lang-de", "priority-urgent", "vip-4"}, hc.Tags)
	require.Equal(t, "4", hc.Fields[12])
	last := hc.Threads[len(hc.Threads)-1]
	require.Equal(t, "note", last.Type)
	require.Equal(t, itoa(last.ID), string(ids[0]))
}

// TestTokenRefresh: the access token is fetched once and reused; a token Help Scout revoked
// fails the request as unauthorized, and the next one fetches another.
func TestTokenRefresh(t *testing.T) {
	e := newEnv(t, nil)
	conv := newConv(normalize.KindTelegram, "555")
	ref, _, err := e.hd.Post(t.Context(), conv, []connectors.Delivery{delivery(conv, "one")})
	require.NoError(t, err)
	conv.Ticket = ref
	_, _, err = e.hd.Post(t.Context(), conv, []connectors.Delivery{delivery(conv, "two")})
	require.NoError(t, err)
	require.Equal(t, 1, e.hs.TokensIssued())

	e.hs.RevokeTokens()
	_, _, err = e.hd.Post(t.Context(), conv, []connectors.Delivery{delivery(conv, "three")})
	require.True(t, connectors.IsUnauthorized(err), "%v", err)
	_, _, err = e.hd.Post(t.Context(), conv, []connectors.Delivery{delivery(conv, "three")})
	require.NoError(t, err)
	require.Equal(t, 2, e.hs.TokensIssued())

	// A token near its expiry is replaced before it is used.
	e.hs.SetTokenTTL(30 * time.Second)
	e.hs.RevokeTokens()
	_, _, _ = e.hd.Post(t.Context(), conv, []connectors.Delivery{delivery(conv, "four")})
	_, _, err = e.hd.Post(t.Context(), conv, []connectors.Delivery{delivery(conv, "five")})
	require.NoError(t, err)
	_, _, err = e.hd.Post(t.Context(), conv, []connectors.Delivery{delivery(conv, "six")})
	require.NoError(t, err)
	require.Equal(t, 4, e.hs.TokensIssued(), "a token of 30s is within the margin: each request fetches one")
}

// TestWrongCredentials: refused client credentials are an unauthorized error, counted.
func TestWrongCredentials(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.ClientSecret = "wrong" })
	conv := newConv(normalize.KindTelegram, "555")
	_, _, err := e.hd.Post(t.Context(), conv, []connectors.Delivery{delivery(conv, "hi")})
	require.True(t, connectors.IsUnauthorized(err), "%v", err)
	require.Zero(t, e.hs.Calls("POST /v2/conversations"))
}

// TestRateLimit: past the minute's quota Help Scout answers 429 with X-RateLimit-Retry-After,
// which the error carries for the router to wait. (slow_below 0: the pacer does not hold
// back first, see TestPacedBeforeTheLimit.)
func TestRateLimit(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.SlowBelow = 0 })
	conv := newConv(normalize.KindTelegram, "555")
	e.hs.SetRateLimit(5) // the look-up (1), the customer (2) and the creation (2): writes count double
	first := delivery(conv, "hi")
	ref, _, err := e.hd.Post(t.Context(), conv, []connectors.Delivery{first})
	require.Error(t, err)
	wait, ok := connectors.RetryDelay(err)
	require.True(t, ok, "%v", err)
	require.Greater(t, wait, 50*time.Second)
	require.NotEmpty(t, ref, "the conversation exists: its reference goes with the error")
	require.Len(t, e.hs.Conversations(), 1, "the creation went through; the thread read-back was held back")
	// Another replica (this one's pacer holds the minute) retries once the quota is back.
	e.hs.SetRateLimit(0)
	cfg := e.hd.cfg
	other, err := New("helpscout-test", cfg, Deps{Blobs: e.blobs})
	require.NoError(t, err)
	d := delivery(conv, "hi")
	d.ID, d.Attempt = first.ID, 2
	ref2, _, err := other.Post(t.Context(), conv, []connectors.Delivery{d})
	require.NoError(t, err)
	require.Equal(t, ref, ref2)
	require.Len(t, e.hs.Conversations(), 1, "the retry found the conversation by its tag")
}

// TestThreadsPaginated: a retry finds its thread on a later page of threads.
func TestThreadsPaginated(t *testing.T) {
	e := newEnv(t, nil)
	e.hs.ThreadPage = 2
	conv := newConv(normalize.KindTelegram, "555")
	var msgs []connectors.Delivery
	for _, s := range []string{"a", "b", "c", "d", "e"} {
		msgs = append(msgs, delivery(conv, s))
	}
	ref, ids, err := e.hd.Post(t.Context(), conv, msgs)
	require.NoError(t, err)
	conv.Ticket = ref
	for i := range msgs {
		msgs[i].Attempt = 2
	}
	_, again, err := e.hd.Post(t.Context(), conv, msgs)
	require.NoError(t, err)
	require.Equal(t, ids, again)
	hc, _ := e.hs.Conversation(convID(t, ref))
	require.Len(t, hc.Threads, 5)
}

// TestReopenPolicy: under closed_ticket: reopen, a message after a close sets the closed
// conversation active again and goes into it.
func TestReopenPolicy(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.ClosedTicket = settings.ClosedReopen })
	conv := newConv(normalize.KindTelegram, "555")
	ref, _, err := e.hd.Post(t.Context(), conv, []connectors.Delivery{delivery(conv, "hi")})
	require.NoError(t, err)
	require.NoError(t, e.hs.SetStatus(convID(t, ref), e.agent, "closed"))
	conv.Ticket, conv.Status = ref, normalize.StatusClosed
	again, _, err := e.hd.Post(t.Context(), conv, []connectors.Delivery{delivery(conv, "me again")})
	require.NoError(t, err)
	require.Equal(t, ref, again)
	hc, _ := e.hs.Conversation(convID(t, ref))
	require.Equal(t, "active", hc.Status)
	require.Len(t, e.hs.Conversations(), 1)
}

// TestAgentReplyWithFileAndClose: a reply with a file reaches the player with it, and a
// close is a status change of its own.
func TestAgentReplyWithFileAndClose(t *testing.T) {
	e := newEnv(t, nil)
	sink := run(t, e)
	conv := newConv(normalize.KindTelegram, "555")
	ref, _, err := e.hd.Post(t.Context(), conv, []connectors.Delivery{delivery(conv, "hi")})
	require.NoError(t, err)
	id := convID(t, ref)
	tid, err := e.hs.AgentReply(id, e.agent, "Here is the receipt", helpscoutfake.File{Name: "receipt.pdf", Type: "application/pdf", Content: []byte("%PDF")})
	require.NoError(t, err)
	require.NoError(t, e.hs.SetStatus(id, e.agent, "closed"))
	require.NoError(t, e.hs.Notify(id, "convo.status"))
	msgs := sink.Messages()
	require.Len(t, msgs, 2)
	require.Equal(t, normalize.ExternalID(itoa(tid)), msgs[0].ExternalID)
	require.Equal(t, "Here is the receipt", msgs[0].Text)
	require.Equal(t, "Alice Agent", msgs[0].Author.DisplayName)
	require.Equal(t, conv.ID, msgs[0].Conversation)
	require.Len(t, msgs[0].Attachments, 1)
	rc, err := e.blobs.Open(t.Context(), msgs[0].Attachments[0].BlobRef)
	require.NoError(t, err)
	var got bytes.Buffer
	_, _ = got.ReadFrom(rc)
	rc.Close()
	require.Equal(t, "%PDF", got.String())
	require.Equal(t, normalize.StatusClosed, msgs[1].Status)
	require.Equal(t, normalize.KindSystem, msgs[1].Kind)
}

// TestPollMode: without a webhook the poller finds the agent's reply from its cursor, and a
// second pass delivers nothing again.
func TestPollMode(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Mode, c.WebhookSecret = ModePoll, "" })
	e.hs.ConversationPage = 1
	sink := &conformance.RecordingSink{}
	other := newConv(normalize.KindTelegram, "556")
	_, _, err := e.hd.Post(t.Context(), other, []connectors.Delivery{delivery(other, "other")})
	require.NoError(t, err)
	conv := newConv(normalize.KindTelegram, "555")
	ref, _, err := e.hd.Post(t.Context(), conv, []connectors.Delivery{delivery(conv, "hi")})
	require.NoError(t, err)
	_, err = e.hs.AgentReply(convID(t, ref), e.agent, "hello from Help Scout")
	require.NoError(t, err)
	require.NoError(t, e.hd.pollOnce(t.Context(), sink))
	require.Len(t, sink.Messages(), 1)
	require.Equal(t, "hello from Help Scout", sink.Messages()[0].Text)
	require.NoError(t, e.hd.pollOnce(t.Context(), sink))
	require.Len(t, sink.Messages(), 1)
	require.NotEmpty(t, must(e.hd.cursor.Load(t.Context())))

	rec := httptest.NewRecorder()
	e.hd.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/hooks/x", strings.NewReader("{}")))
	require.Equal(t, http.StatusNotFound, rec.Code, "a polling instance's webhook is off")
}

// TestHookEvents: events that are not a conversation's are acknowledged without a look-up;
// a conversation the gateway did not create is passed over.
func TestHookEvents(t *testing.T) {
	e := newEnv(t, nil)
	sink := run(t, e)
	srv := httptest.NewServer(e.hd)
	t.Cleanup(srv.Close)
	require.NoError(t, helpscoutfake.SendSigned(srv.URL, []byte(testSecret), "customer.created", []byte(`{"id": 5}`)))
	require.NoError(t, helpscoutfake.SendSigned(srv.URL, []byte(testSecret), "convo.created", []byte(`{"id": 999999}`)), "a conversation that is gone")
	require.Error(t, helpscoutfake.SendSigned(srv.URL, []byte("another-secret-0123456789"), "convo.created", []byte(`{"id": 5}`)))
	require.Error(t, helpscoutfake.SendSigned(srv.URL, []byte(testSecret), "convo.created", []byte(`{"subject": "no id"}`)))
	require.Empty(t, sink.Messages())
}

// run runs the helpdesk with a recording sink until the test ends.
func run(t *testing.T, e *env) *conformance.RecordingSink {
	sink := &conformance.RecordingSink{}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- e.hd.Run(ctx, sink) }()
	t.Cleanup(func() { cancel(); <-done })
	require.Eventually(t, func() bool { _, _, ok := e.hd.sink.Held(); return ok }, waitFor, tick)
	return sink
}

// TestPacedBeforeTheLimit: with little of the minute's quota left (X-RateLimit-Remaining-Minute
// below slow_below), requests are held back, and a wait longer than the pacer sleeps comes
// back as a RetryAfter error before Help Scout answers 429.
func TestPacedBeforeTheLimit(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.SlowBelow = 50 })
	e.hs.SetRateLimit(8) // 7 left after the look-up: the rest of the minute over 8 is more than the pacer sleeps
	conv := newConv(normalize.KindTelegram, "555")
	_, _, err := e.hd.Post(t.Context(), conv, []connectors.Delivery{delivery(conv, "hi")})
	require.Error(t, err)
	require.Equal(t, 1, e.hs.Calls("GET /v2/conversations"))
	require.Zero(t, e.hs.Calls("POST /v2/customers"), "held back, not sent")
	_, ok := connectors.RetryDelay(err)
	require.True(t, ok, "%v", err)
	require.NotContains(t, err.Error(), "HTTP 429", "held back before the limit, not refused at it")
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestRequestCosts pins what each step costs of Help Scout's rate limit, as
// docs/helpscout.md states it: writes count double there.
func TestRequestCosts(t *testing.T) {
	e := newEnv(t, nil)
	sink := run(t, e)
	total := func() map[string]int {
		out := map[string]int{}
		for _, r := range []string{"GET /v2/conversations", "POST /v2/customers", "POST /v2/conversations", "GET /v2/conversations/{id}/threads",
			"POST /v2/conversations/{id}/customer", "GET /v2/conversations/{id}", "GET /v2/conversations/{id}/attachments/{id}/data"} {
			if n := e.hs.Calls(r); n > 0 {
				out[r] = n
			}
		}
		return out
	}
	conv := newConv(normalize.KindTelegram, "555")
	ref, _, err := e.hd.Post(t.Context(), conv, []connectors.Delivery{delivery(conv, "hi")})
	require.NoError(t, err)
	require.Equal(t, map[string]int{"GET /v2/conversations": 1, "POST /v2/customers": 1, "POST /v2/conversations": 1,
		"GET /v2/conversations/{id}/threads": 1}, total(), "a new conversation: 1 + 2 + 2 + 1, the customer once a process")

	conv.Ticket = ref
	_, _, err = e.hd.Post(t.Context(), conv, []connectors.Delivery{delivery(conv, "again")})
	require.NoError(t, err)
	require.Equal(t, 1, e.hs.Calls("POST /v2/conversations/{id}/customer"), "a later message: 2")

	before := total()
	_, err = e.hs.AgentReply(convID(t, ref), e.agent, "answer", helpscoutfake.File{Name: "a.pdf", Type: "application/pdf", Content: []byte("%PDF")})
	require.NoError(t, err)
	require.NoError(t, e.hs.Notify(convID(t, ref), "convo.agent.reply.created"))
	require.Len(t, sink.Messages(), 1)
	after := total()
	require.Equal(t, 1, after["GET /v2/conversations/{id}"]-before["GET /v2/conversations/{id}"])
	require.Equal(t, 1, after["GET /v2/conversations/{id}/threads"]-before["GET /v2/conversations/{id}/threads"])
	require.Equal(t, 1, after["GET /v2/conversations/{id}/attachments/{id}/data"], "an agent's reply: 2, plus 1 a file")
}

// TestLongConversationReadsItsNewestPage: once a conversation was delivered, the next reply
// costs the newest page of threads, not all of them, and a close among the new threads is
// still told apart from the status before.
func TestLongConversationReadsItsNewestPage(t *testing.T) {
	e := newEnv(t, nil)
	e.hs.ThreadPage = 3 // the two new threads and the one delivered before
	sink := run(t, e)
	conv := newConv(normalize.KindTelegram, "555")
	var msgs []connectors.Delivery
	for i := range 7 {
		msgs = append(msgs, delivery(conv, fmt.Sprint("message ", i)))
	}
	ref, _, err := e.hd.Post(t.Context(), conv, msgs)
	require.NoError(t, err)
	id := convID(t, ref)
	_, err = e.hs.AgentReply(id, e.agent, "first answer")
	require.NoError(t, err)
	require.NoError(t, e.hs.Notify(id, "convo.agent.reply.created"))
	require.Len(t, sink.Messages(), 1)

	before := e.hs.Calls("GET /v2/conversations/{id}/threads")
	_, err = e.hs.AgentReply(id, e.agent, "second answer")
	require.NoError(t, err)
	require.NoError(t, e.hs.SetStatus(id, e.agent, "pending"))
	require.NoError(t, e.hs.Notify(id, "convo.status"))
	require.Equal(t, 1, e.hs.Calls("GET /v2/conversations/{id}/threads")-before, "one page: the newest")
	got := sink.Messages()
	require.Len(t, got, 3)
	require.Equal(t, "second answer", got[1].Text)
	require.Equal(t, normalize.StatusPending, got[2].Status)
}
