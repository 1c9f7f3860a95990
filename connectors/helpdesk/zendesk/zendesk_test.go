package zendesk

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/helpdesk/hdkit"
	"github.com/casino-support/gateway/connectors/ratelimit"
	"github.com/casino-support/gateway/connectors/settings"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/test/conformance"
	"github.com/casino-support/gateway/test/httpfault"
	"github.com/casino-support/gateway/test/zendeskfake"
)

func conversation(kind normalize.ChannelKind, address string) normalize.Conversation {
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
		c.URL, c.Email, c.Token, c.WebhookSecret = "https://casino.zendesk.com", "a@casino.example", "tok", testSecret
		return c
	}
	cases := []struct {
		name  string
		tweak func(*Config)
		want  []string
	}{
		{"valid", func(*Config) {}, nil},
		{"oauth instead of token", func(c *Config) { c.Token, c.Email, c.OAuthToken = "", "", "oauth" }, nil},
		{"both credentials", func(c *Config) { c.OAuthToken = "oauth" }, []string{"token"}},
		{"token without email", func(c *Config) { c.Email = "" }, []string{"email"}},
		{"short webhook secret", func(c *Config) { c.WebhookSecret = "short" }, []string{"webhook_secret"}},
		{"poll needs no secret", func(c *Config) { c.Mode, c.WebhookSecret = ModePoll, "" }, nil},
		{"unknown mode", func(c *Config) { c.Mode = "push" }, []string{"mode"}},
		{"bad tag", func(c *Config) { c.Tags = []string{"two words"} }, []string{"tags[0]"}},
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

// TestTicketCarriesMetadata: the ticket is created with subject, priority, tags and the
// mapped custom fields, by a requester found by e-mail or by channel and address.
func TestTicketCarriesMetadata(t *testing.T) {
	cases := []struct {
		name      string
		conv      func() normalize.Conversation
		wantEmail string
		wantExt   string
	}{
		{"messenger player", func() normalize.Conversation { return conversation(normalize.KindTelegram, "4711") }, "", "chan:4711"},
		{"known e-mail", func() normalize.Conversation {
			c := conversation(normalize.KindWebchat, "v-1")
			c.Player.Email = "Max@Example.com"
			return c
		}, "max@example.com", ""},
		{"e-mail channel", func() normalize.Conversation { return conversation(normalize.KindEmail, "player@example.org") }, "player@example.org", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, func(cfg *Config) {
				cfg.Tags = []string{"casino"}
				cfg.Fields = Fields{Language: 11, VIPTier: 12, Channel: 13, SLA: 14}
			})
			conv := c.conv()
			conv.SLA = normalize.SLA{AwaitingSince: time.Now(), BreachedAt: time.Now()}
			ref, ids, err := e.hd.Post(t.Context(), conv, []connectors.Delivery{delivery(conv, "Auszahlung fehlt\nseit Montag")})
			require.NoError(t, err)
			require.Len(t, ids, 1)
			tk, ok := e.zd.Ticket(ticketID(t, ref))
			require.True(t, ok)
			require.Equal(t, "Auszahlung fehlt", tk.Subject)
			require.Equal(t, "high", tk.Priority, "a breached SLA raises normal one step")
			require.Equal(t, "gateway:"+string(conv.ID), tk.ExternalID)
			require.Subset(t, tk.Tags, []string{"casino", "channel_" + string(conv.ChannelKind), "lang_de", "vip_2"})
			require.ElementsMatch(t, []zendeskfake.CustomField{{ID: 11, Value: "de"}, {ID: 12, Value: "2"},
				{ID: 13, Value: "chan:" + string(conv.Address)}, {ID: 14, Value: "breached"}}, tk.CustomFields)
			u, ok := e.zd.User(tk.RequesterID)
			require.True(t, ok)
			require.Equal(t, "end-user", u.Role)
			require.Equal(t, c.wantEmail, u.Email)
			require.Equal(t, c.wantExt, u.ExternalID)
			require.Equal(t, tk.RequesterID, tk.Comments[0].AuthorID, "the player's message is the requester's comment")
			require.True(t, tk.Comments[0].Public)
		})
	}
}

// TestUpdateSetsFieldsWithInternalNote: an Update changes priority and fields and leaves an
// internal note, never a public comment.
func TestUpdateSetsFieldsWithInternalNote(t *testing.T) {
	e := newEnv(t, func(cfg *Config) { cfg.Fields = Fields{VIPTier: 12} })
	conv := conversation(normalize.KindTelegram, "1")
	ref, _, err := e.hd.Post(t.Context(), conv, []connectors.Delivery{delivery(conv, "hi")})
	require.NoError(t, err)
	conv.Ticket = ref
	up := delivery(conv, "VIP tier now 5")
	up.Kind, up.Author = normalize.KindSystem, normalize.Author{Role: normalize.RoleSystem}
	up.Update = &normalize.Update{Changed: []normalize.Field{normalize.FieldVIPTier}, VIPTier: 5, Priority: normalize.PriorityUrgent}
	_, ids, err := e.hd.Post(t.Context(), conv, []connectors.Delivery{up})
	require.NoError(t, err)
	require.Len(t, ids, 1)
	tk, _ := e.zd.Ticket(ticketID(t, ref))
	require.Equal(t, "urgent", tk.Priority)
	require.Contains(t, tk.CustomFields, zendeskfake.CustomField{ID: 12, Value: "5"})
	last := tk.Comments[len(tk.Comments)-1]
	require.False(t, last.Public, "an Update is an internal note")
	require.Contains(t, last.Body, "VIP tier now 5")
}

// TestClosedTicketFollowUp: a message after the ticket was closed opens a follow-up linked by
// via_followup_source_id; after a solved one it follows closed_ticket.
func TestClosedTicketFollowUp(t *testing.T) {
	cases := []struct {
		name, status string
		policy       settings.ClosedTicket
		wantNew      bool
		wantLinked   bool
	}{
		{"closed, follow_up", "closed", ClosedFollowUp, true, true},
		{"closed, reopen: Zendesk cannot reopen", "closed", ClosedReopen, true, true},
		{"solved, follow_up", "solved", ClosedFollowUp, true, false},
		{"solved, reopen", "solved", ClosedReopen, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, func(cfg *Config) { cfg.ClosedTicket = c.policy })
			conv := conversation(normalize.KindTelegram, "42")
			ref, _, err := e.hd.Post(t.Context(), conv, []connectors.Delivery{delivery(conv, "first")})
			require.NoError(t, err)
			old := ticketID(t, ref)
			require.NoError(t, e.zd.SetStatus(old, e.agent, c.status))

			conv.Ticket, conv.Status = ref, normalize.StatusClosed
			later := []connectors.Delivery{delivery(conv, "again"), delivery(conv, "still there?")}
			got, ids, err := e.hd.Post(t.Context(), conv, later)
			require.NoError(t, err)
			require.Len(t, ids, 2)
			if !c.wantNew {
				require.Equal(t, ref, got)
				tk, _ := e.zd.Ticket(old)
				require.Equal(t, "open", tk.Status, "the requester's comment reopens a solved ticket")
				return
			}
			require.NotEqual(t, ref, got, "a follow-up is a new ticket")
			tk, ok := e.zd.Ticket(ticketID(t, got))
			require.True(t, ok)
			require.Equal(t, "gateway:"+string(conv.ID), tk.ExternalID, "the follow-up belongs to the same conversation")
			require.Contains(t, tk.Subject, "follow-up to #")
			if c.wantLinked {
				require.NotNil(t, tk.ViaFollowupSourceID)
				require.Equal(t, old, *tk.ViaFollowupSourceID)
			}
			require.Len(t, tk.Comments, 2, "both messages on the follow-up, once")

			// The router may not have recorded the new ticket: posting to the old one again
			// finds the follow-up rather than opening a third ticket.
			_, _, err = e.hd.Post(t.Context(), conv, []connectors.Delivery{delivery(conv, "third")})
			require.NoError(t, err)
			require.Len(t, e.zd.Tickets(), 2)
		})
	}
}

// TestFollowUpOfTheStore: the store moved the closed ticket to FollowUpOf and emptied
// Ticket; the next Post opens the follow-up linked to it, and a retry finds that follow-up.
func TestFollowUpOfTheStore(t *testing.T) {
	for _, status := range []string{"closed", "solved"} {
		t.Run(status, func(t *testing.T) {
			e := newEnv(t, func(cfg *Config) { cfg.ClosedTicket = ClosedFollowUp })
			conv := conversation(normalize.KindWebchat, "v-9")
			ref, _, err := e.hd.Post(t.Context(), conv, []connectors.Delivery{delivery(conv, "first")})
			require.NoError(t, err)
			require.NoError(t, e.zd.SetStatus(ticketID(t, ref), e.agent, status))

			conv.FollowUpOf, conv.Ticket, conv.Status = ref, "", normalize.StatusOpen
			msgs := []connectors.Delivery{delivery(conv, "new question")}
			got, ids, err := e.hd.Post(t.Context(), conv, msgs)
			require.NoError(t, err)
			require.NotEqual(t, ref, got)
			tk, _ := e.zd.Ticket(ticketID(t, got))
			require.Contains(t, tk.Subject, "follow-up to #"+string(ref))
			if status == "closed" {
				require.NotNil(t, tk.ViaFollowupSourceID, "a closed ticket is linked as the follow-up's source")
				require.Equal(t, ticketID(t, ref), *tk.ViaFollowupSourceID)
			}
			again, againIDs, err := e.hd.Post(t.Context(), conv, []connectors.Delivery{{Message: msgs[0].Message, Attempt: 2}})
			require.NoError(t, err)
			require.Equal(t, got, again, "a retry finds the follow-up")
			require.Equal(t, ids, againIDs)
			require.Len(t, e.zd.Tickets(), 2)
		})
	}
}

// TestEventsMapped: replies with files, assignments and status changes become outbound
// messages naming the conversation; notes, the player's own comments and the gateway's are
// passed over.
func TestEventsMapped(t *testing.T) {
	e := newEnv(t, nil)
	sink := &conformance.RecordingSink{}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- e.hd.Run(ctx, sink) }()
	t.Cleanup(func() { cancel(); <-done })

	conv := conversation(normalize.KindTelegram, "7")
	ref, _, err := e.hd.Post(t.Context(), conv, []connectors.Delivery{delivery(conv, "hello")})
	require.NoError(t, err)
	id := ticketID(t, ref)
	_, err = e.zd.AgentComment(id, e.agent, "private remark", false)
	require.NoError(t, err)
	_, err = e.zd.AgentComment(id, e.agent, "Here is the receipt", true, zendeskfake.File{Name: "receipt.pdf", Type: "application/pdf", Content: []byte("%PDF-1.4")})
	require.NoError(t, err)
	require.NoError(t, e.zd.Assign(id, e.agent, e.agent))
	require.NoError(t, e.zd.SetStatus(id, e.agent, "solved"))
	require.Eventually(t, func() bool { return e.zd.Notify(id) == nil }, waitFor, tick)

	msgs := sink.Messages()
	require.Len(t, msgs, 3, "%+v", msgs)
	reply, assign, status := msgs[0], msgs[1], msgs[2]
	require.Equal(t, "Here is the receipt", reply.Text)
	require.Equal(t, conv.ID, reply.Conversation)
	require.Equal(t, normalize.RoleAgent, reply.Author.Role)
	require.Equal(t, "Alice Agent", reply.Author.DisplayName)
	require.Len(t, reply.Attachments, 1)
	require.Equal(t, "receipt.pdf", reply.Attachments[0].Name)
	rc, err := e.blobs.Open(t.Context(), reply.Attachments[0].BlobRef)
	require.NoError(t, err)
	defer rc.Close()
	require.NotNil(t, assign.Assignee)
	require.Equal(t, "Alice Agent", assign.Assignee.Name)
	require.Equal(t, normalize.StatusClosed, status.Status)
	require.Equal(t, normalize.KindSystem, status.Kind)

	// A repeated notification delivers nothing new.
	require.NoError(t, e.zd.Notify(id))
	require.Len(t, sink.Messages(), 3)
	for kind, want := range map[string]float64{hdkit.EventReply: 1, hdkit.EventStatus: 1, hdkit.EventAssignment: 1, eventIgnoredNote: 1, eventIgnoredEcho: 1} {
		require.InDelta(t, want, counterValue(t, e.hd.metrics.events, kind), 0, "gateway_zendesk_events_total{kind=%q}", kind)
	}
	require.InDelta(t, 2, counterValue(t, e.hd.metrics.hooks, hookStored), 0)
}

// counterValue reads one value of a curried counter.
func counterValue(t *testing.T, vec *prometheus.CounterVec, value string) float64 {
	t.Helper()
	var m dto.Metric
	require.NoError(t, vec.WithLabelValues(value).Write(&m))
	return m.GetCounter().GetValue()
}

// TestHookRefuses: what a forger or a replayer sends is refused before Zendesk is asked.
func TestHookRefuses(t *testing.T) {
	e := newEnv(t, nil)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- e.hd.Run(ctx, &conformance.RecordingSink{}) }()
	t.Cleanup(func() { cancel(); <-done })
	body := []byte(`{"ticket_id":"1"}`)
	cases := []struct {
		name   string
		secret string
		at     time.Time
		body   []byte
		want   int
	}{
		{"wrong secret", "another-secret-of-enough-length", time.Now(), body, http.StatusUnauthorized},
		{"replayed", testSecret, time.Now().Add(-time.Hour), body, http.StatusUnauthorized},
		{"no ticket", testSecret, time.Now(), []byte(`{"status":"open"}`), http.StatusBadRequest},
		{"unknown ticket", testSecret, time.Now(), []byte(`{"ticket_id":"99999"}`), http.StatusOK},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := zendeskfake.SendSigned(e.hook, []byte(c.secret), c.at, c.body)
			if c.want == http.StatusOK {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, fmt.Sprintf("answered %d", c.want))
		})
	}
	require.Zero(t, e.zd.Calls("GET /api/v2/tickets/{id}/audits"), "refused notifications must not reach Zendesk")
	require.InDelta(t, 2, counterValue(t, e.hd.metrics.hooks, hookUnauthorized), 0)
	require.InDelta(t, 1, counterValue(t, e.hd.metrics.hooks, hookMalformed), 0)
}

// TestPollMode: without a webhook, the incremental export brings agents' replies, from a
// cursor kept in the gateway's store across restarts.
func TestPollMode(t *testing.T) {
	e := newEnv(t, func(cfg *Config) { cfg.Mode, cfg.PollInterval = ModePoll, time.Second })
	e.zd.ExportPage = 1 // every ticket on a page of its own: the cursor moves page by page
	cursors := &conformance.MemCursors{}
	e.hd.cursor = &hdkit.Cursor{Store: cursors, Instance: e.hd.name, Key: cursorKey}
	conv1, conv2 := conversation(normalize.KindTelegram, "1"), conversation(normalize.KindTelegram, "2")
	r1, _, err := e.hd.Post(t.Context(), conv1, []connectors.Delivery{delivery(conv1, "one")})
	require.NoError(t, err)
	r2, _, err := e.hd.Post(t.Context(), conv2, []connectors.Delivery{delivery(conv2, "two")})
	require.NoError(t, err)
	_, err = e.zd.AgentComment(ticketID(t, r1), e.agent, "answer one", true)
	require.NoError(t, err)
	_, err = e.zd.AgentComment(ticketID(t, r2), e.agent, "answer two", true)
	require.NoError(t, err)

	sink := &conformance.RecordingSink{}
	require.NoError(t, e.hd.pollOnce(t.Context(), sink))
	var texts []string
	for _, m := range sink.Messages() {
		texts = append(texts, m.Text)
	}
	require.ElementsMatch(t, []string{"answer one", "answer two"}, texts)
	stored, _ := cursors.Cursor(t.Context(), e.hd.name, cursorKey)
	require.NotEmpty(t, stored, "the cursor is stored")
	// Nothing new: the next poll delivers nothing.
	require.NoError(t, e.hd.pollOnce(t.Context(), sink))
	require.Len(t, sink.Messages(), 2)
	// The hook is off in mode poll.
	require.Error(t, e.zd.Notify(ticketID(t, r1)))
}

// TestRateLimitSlowsDown: with the minute's quota nearly used, requests are spaced rather
// than run into 429s; past it, Post returns Zendesk's wait for the router.
func TestRateLimitSlowsDown(t *testing.T) {
	e := newEnv(t, func(cfg *Config) { cfg.SlowBelow = 1000 })
	e.zd.SetRateLimit(3)
	conv := conversation(normalize.KindTelegram, "9")
	_, ids, err := e.hd.Post(t.Context(), conv, []connectors.Delivery{delivery(conv, "a"), delivery(conv, "b"), delivery(conv, "c")})
	require.Error(t, err)
	wait, ok := connectors.RetryDelay(err)
	require.True(t, ok, "Post() = %v: the quota is nearly gone; the router must wait for the window", err)
	require.Positive(t, wait)
	require.ErrorIs(t, err, ratelimit.ErrPaced, "the connector slowed down before Zendesk had to refuse a request")
	require.Positive(t, counterValue(t, e.hd.metrics.paced, ratelimit.ReasonDeferred))
	require.False(t, connectors.IsPermanent(err))
	require.Less(t, len(ids), 3)
}

// TestQuotaUsedElsewhere: another client used the minute's quota up, Zendesk answers 429
// with Retry-After, and Post hands that wait to the router without posting anything.
func TestQuotaUsedElsewhere(t *testing.T) {
	e := newEnv(t, nil)
	e.zd.SetRateLimit(1)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, e.zd.URL+"/api/v2/users/1", nil)
	require.NoError(t, err)
	req.SetBasicAuth(zendeskfake.Email+"/token", zendeskfake.Token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()

	conv := conversation(normalize.KindTelegram, "10")
	ref, ids, err := e.hd.Post(t.Context(), conv, []connectors.Delivery{delivery(conv, "hello")})
	wait, ok := connectors.RetryDelay(err)
	require.True(t, ok, "Post() = %v: Zendesk answered 429 with Retry-After", err)
	require.Greater(t, wait, 50*time.Second, "the wait Zendesk asked for, up to the minute's end")
	require.NotErrorIs(t, err, ratelimit.ErrPaced, "this one is Zendesk's own refusal")
	require.False(t, connectors.IsPermanent(err))
	require.Empty(t, ref)
	require.Empty(t, ids)
	require.Empty(t, e.zd.Tickets())
}

// TestRequesterGoneInZendesk: an admin deleted (merged) the player's user; the message is
// retried, not dead-lettered, and the retry creates the user afresh.
func TestRequesterGoneInZendesk(t *testing.T) {
	e := newEnv(t, nil)
	conv := conversation(normalize.KindTelegram, "77")
	ref, _, err := e.hd.Post(t.Context(), conv, []connectors.Delivery{delivery(conv, "first")})
	require.NoError(t, err)
	tk, _ := e.zd.Ticket(ticketID(t, ref))
	e.zd.DeleteUser(tk.RequesterID)

	conv.Ticket = ref
	msgs := []connectors.Delivery{delivery(conv, "second")}
	_, ids, err := e.hd.Post(t.Context(), conv, msgs)
	require.Error(t, err)
	require.False(t, connectors.IsPermanent(err), "Post() = %v: the player's user is found again on the retry; the message must not be dead-lettered", err)
	require.Empty(t, ids)
	_, ids, err = e.hd.Post(t.Context(), conv, msgs)
	require.NoError(t, err)
	require.Len(t, ids, 1)
	tk, _ = e.zd.Ticket(ticketID(t, ref))
	require.NotEqual(t, tk.RequesterID, tk.Comments[1].AuthorID, "the comment is by the player's new user")
}

// TestConcurrentCreateIsRetried: Zendesk answers 409 while another request with the same
// Idempotency-Key is in progress; that is retried, never dead-lettered.
func TestConcurrentCreateIsRetried(t *testing.T) {
	e := newEnv(t, nil)
	e.faults.Next(func(r *http.Request) bool { return r.Method == http.MethodPost && r.URL.Path == "/api/v2/tickets" },
		httpfault.Status(http.StatusConflict))
	conv := conversation(normalize.KindTelegram, "88")
	_, _, err := e.hd.Post(t.Context(), conv, []connectors.Delivery{delivery(conv, "hi")})
	require.Error(t, err)
	require.False(t, connectors.IsPermanent(err), "Post() = %v", err)
}

// TestRequestBudget pins what the quota pays per message, as docs/zendesk.md states it: a new
// conversation three requests (its player's user, the external_id look-up, the ticket), each
// later message one, an agent's reply two (the ticket and its audits) once the agent is known.
func TestRequestBudget(t *testing.T) {
	e := newEnv(t, nil)
	sink := &conformance.RecordingSink{}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- e.hd.Run(ctx, sink) }()
	t.Cleanup(func() { cancel(); <-done })
	total := func() int {
		n := 0
		for _, route := range []string{"POST /api/v2/users/create_or_update", "GET /api/v2/tickets", "POST /api/v2/tickets",
			"PUT /api/v2/tickets/{id}", "GET /api/v2/tickets/{id}", "GET /api/v2/tickets/{id}/audits", "GET /api/v2/users/{id}",
			"GET /api/v2/tickets/{id}/comments"} {
			n += e.zd.Calls(route)
		}
		return n
	}

	conv := conversation(normalize.KindTelegram, "99")
	ref, _, err := e.hd.Post(t.Context(), conv, []connectors.Delivery{delivery(conv, "first")})
	require.NoError(t, err)
	require.Equal(t, 3, total(), "a new conversation")
	conv.Ticket = ref
	_, _, err = e.hd.Post(t.Context(), conv, []connectors.Delivery{delivery(conv, "a"), delivery(conv, "b"), delivery(conv, "c")})
	require.NoError(t, err)
	require.Equal(t, 3+3, total(), "one request per later message")

	id := ticketID(t, ref)
	_, err = e.zd.AgentComment(id, e.agent, "first answer", true)
	require.NoError(t, err)
	require.NoError(t, e.zd.Notify(id))
	require.Equal(t, 6+3, total(), "the first reply of an agent: the ticket, its audits, the agent")
	_, err = e.zd.AgentComment(id, e.agent, "second answer", true)
	require.NoError(t, err)
	require.NoError(t, e.zd.Notify(id))
	require.Equal(t, 9+2, total(), "a reply of a known agent: the ticket and its audits")
	require.Len(t, sink.Messages(), 2)
}
