package zammad

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
	"github.com/casino-support/gateway/test/zammadfake"
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

// run runs the helpdesk with a recording sink until the test ends.
func run(t *testing.T, hd *Helpdesk) *conformance.RecordingSink {
	sink := &conformance.RecordingSink{}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- hd.Run(ctx, sink) }()
	t.Cleanup(func() { cancel(); <-done })
	return sink
}

func TestConfigValidate(t *testing.T) {
	valid := func() *Config {
		c := DefaultConfig()
		c.URL, c.Token, c.WebhookToken = "https://support.casino.example", "tok", testToken
		return c
	}
	cases := []struct {
		name  string
		tweak func(*Config)
		want  []string
	}{
		{"valid", func(*Config) {}, nil},
		{"no token", func(c *Config) { c.Token = "" }, []string{"token"}},
		{"short webhook token", func(c *Config) { c.WebhookToken = "short" }, []string{"webhook_token"}},
		{"poll needs no webhook token", func(c *Config) { c.Mode, c.WebhookToken = ModePoll, "" }, nil},
		{"unknown mode", func(c *Config) { c.Mode = "push" }, []string{"mode"}},
		{"no group", func(c *Config) { c.Group = " " }, []string{"group"}},
		{"login prefix like an address", func(c *Config) { c.LoginPrefix = "x@" }, []string{"login_prefix"}},
		{"no conversation attribute", func(c *Config) { c.Attributes.Conversation = "" }, []string{"attributes.conversation"}},
		{"bad attribute name", func(c *Config) { c.Attributes.Language = "Lang Tag" }, []string{"attributes.language"}},
		{"no priority name", func(c *Config) { c.Priorities.High = "" }, []string{"priorities.high"}},
		{"bad tag", func(c *Config) { c.Tags = []string{"a,b"} }, []string{"tags[0]"}},
		{"closed ticket policy", func(c *Config) { c.ClosedTicket = "ignore" }, []string{"closed_ticket"}},
		{"reconcile too often", func(c *Config) { c.ReconcileInterval = time.Second }, []string{"reconcile_interval"}},
		{"tiny file cap", func(c *Config) { c.MaxFileBytes = 1 }, []string{"max_file_bytes"}},
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

// TestTicketCarriesMetadata: the ticket is created with title, priority, tags and the mapped
// attributes, for a customer found by e-mail or by a login of channel and address; the first
// article is the customer's, later ones are written as the customer (From).
func TestTicketCarriesMetadata(t *testing.T) {
	cases := []struct {
		name      string
		conv      func() normalize.Conversation
		wantEmail string
		wantLogin string
	}{
		{"messenger player", func() normalize.Conversation { return conversation(normalize.KindTelegram, "4711") }, "", "gateway:chan:4711"},
		{"player with e-mail", func() normalize.Conversation {
			c := conversation(normalize.KindWebchat, "w-1")
			c.Player.Email = "Max@Example.com"
			return c
		}, "max@example.com", "max@example.com"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, func(cfg *Config) {
				cfg.Attributes = Attributes{Conversation: "gateway_conversation", Language: "player_language", VIPTier: "vip_tier",
					Channel: "player_channel", SLA: "sla_state", PlayerID: "player_id"}
				cfg.Tags = []string{"casino"}
			})
			conv := c.conv()
			conv.Priority = normalize.PriorityHigh
			conv.Player.PlayerID = "P-77"
			first, second := delivery(conv, "My withdrawal is stuck\nsince Monday"), delivery(conv, "any news?")
			ref, ids, err := e.hd.Post(t.Context(), conv, []connectors.Delivery{first, second})
			require.NoError(t, err)
			require.Len(t, ids, 2)
			tk, ok := e.zm.Ticket(ticketID(t, ref))
			require.True(t, ok)
			require.Equal(t, "My withdrawal is stuck", tk.Title)
			require.Equal(t, "Users", tk.Group)
			require.Equal(t, "3 high", tk.Priority)
			require.Equal(t, []string{"casino", "channel_" + string(conv.ChannelKind), "lang_de", "vip_2"}, tk.Tags)
			require.Equal(t, map[string]any{"gateway_conversation": string(conv.ID), "player_language": "de", "vip_tier": "2",
				"player_channel": "chan:" + string(conv.Address), "sla_state": "none", "player_id": "P-77"}, tk.Attributes)
			cust, ok := e.zm.User(tk.CustomerID)
			require.True(t, ok)
			require.Equal(t, c.wantEmail, cust.Email, "never a made-up address")
			require.Equal(t, c.wantLogin, cust.Login)
			require.Equal(t, []string{"Customer"}, cust.Roles)
			require.Len(t, tk.Articles, 2)
			for _, a := range tk.Articles {
				require.Equal(t, "Customer", a.Sender)
				require.False(t, a.Internal)
			}
			require.Equal(t, tk.CustomerID, *tk.Articles[0].OriginByID, "the first article is written for the customer")
			require.Equal(t, tk.CustomerID, tk.Articles[1].CreatedByID, "later articles are written as the customer")

			// The same player's next conversation reuses the customer.
			other := c.conv()
			_, _, err = e.hd.Post(t.Context(), other, []connectors.Delivery{delivery(other, "again")})
			require.NoError(t, err)
			require.Equal(t, 1, e.zm.Calls("POST /api/v1/users"))
		})
	}
}

// TestUpdateSetsAttributesWithInternalNote: a metadata Update changes the ticket's priority
// and attributes and leaves an internal note, which the hook never forwards.
func TestUpdateSetsAttributesWithInternalNote(t *testing.T) {
	e := newEnv(t, func(cfg *Config) { cfg.Attributes.SLA, cfg.Attributes.VIPTier = "sla_state", "vip_tier" })
	sink := run(t, e.hd)
	conv := conversation(normalize.KindTelegram, "5")
	ref, _, err := e.hd.Post(t.Context(), conv, []connectors.Delivery{delivery(conv, "hi")})
	require.NoError(t, err)
	conv.Ticket = ref
	upd := delivery(conv, "VIP tier raised to 4")
	upd.Kind = normalize.KindSystem
	upd.Update = &normalize.Update{Priority: normalize.PriorityUrgent, VIPTier: 4, Language: "de"}
	_, ids, err := e.hd.Post(t.Context(), conv, []connectors.Delivery{upd})
	require.NoError(t, err)
	tk, _ := e.zm.Ticket(ticketID(t, ref))
	require.Equal(t, "3 high", tk.Priority)
	require.Equal(t, "4", tk.Attributes["vip_tier"])
	last := tk.Articles[len(tk.Articles)-1]
	require.Equal(t, string(ids[0]), itoa(last.ID))
	require.True(t, last.Internal)
	require.NoError(t, e.zm.Notify(tk.ID))
	require.Empty(t, sink.Messages())
}

// TestClosedTicket: under follow_up a player writing after the close gets a new ticket
// linked to the closed one, also when the router did not know it was closed and Zammad's
// group refuses the follow-up; under reopen the message goes onto the closed ticket, which
// Zammad reopens.
func TestClosedTicket(t *testing.T) {
	t.Run("follow_up refused by the group", func(t *testing.T) {
		e := newEnv(t, nil)
		e.zm.SetGroup("Users", zammadfake.FollowUpNewTicket)
		conv := conversation(normalize.KindTelegram, "8")
		ref, _, err := e.hd.Post(t.Context(), conv, []connectors.Delivery{delivery(conv, "first")})
		require.NoError(t, err)
		require.NoError(t, e.zm.SetState(ticketID(t, ref), e.agent, "closed"))
		conv.Ticket = ref // the router has not heard of the close
		next, ids, err := e.hd.Post(t.Context(), conv, []connectors.Delivery{delivery(conv, "again")})
		require.NoError(t, err)
		require.Len(t, ids, 1)
		require.NotEqual(t, ref, next)
		require.Equal(t, []int64{ticketID(t, ref)}, e.zm.Links(ticketID(t, next)))
		tk, _ := e.zm.Ticket(ticketID(t, next))
		old, _ := e.zm.Ticket(ticketID(t, ref))
		require.Contains(t, tk.Title, "follow-up to #"+old.Number, "agents know tickets by number")
	})
	t.Run("reopen", func(t *testing.T) {
		e := newEnv(t, func(cfg *Config) { cfg.ClosedTicket = ClosedReopen })
		conv := conversation(normalize.KindTelegram, "9")
		ref, _, err := e.hd.Post(t.Context(), conv, []connectors.Delivery{delivery(conv, "first")})
		require.NoError(t, err)
		require.NoError(t, e.zm.SetState(ticketID(t, ref), e.agent, "closed"))
		conv.Ticket, conv.Status = ref, normalize.StatusClosed
		again, _, err := e.hd.Post(t.Context(), conv, []connectors.Delivery{delivery(conv, "again")})
		require.NoError(t, err)
		require.Equal(t, ref, again)
		tk, _ := e.zm.Ticket(ticketID(t, ref))
		require.Equal(t, "open", tk.State)
		require.Len(t, e.zm.Tickets(), 1)
	})
}

// TestEventsMapped: an agent's reply with a file, an owner change and a close reach the sink
// in order; an internal note and the customer's articles do not.
func TestEventsMapped(t *testing.T) {
	e := newEnv(t, nil)
	sink := run(t, e.hd)
	conv := conversation(normalize.KindTelegram, "7")
	ref, _, err := e.hd.Post(t.Context(), conv, []connectors.Delivery{delivery(conv, "hello")})
	require.NoError(t, err)
	id := ticketID(t, ref)
	_, err = e.zm.AgentArticle(id, e.agent, "private remark", true)
	require.NoError(t, err)
	_, err = e.zm.AgentArticle(id, e.agent, "<div>Here is the <b>receipt</b></div>", false,
		zammadfake.File{Name: "receipt.pdf", Type: "application/pdf", Content: []byte("%PDF-1.4")})
	require.NoError(t, err)
	require.NoError(t, e.zm.Assign(id, e.agent, e.agent))
	require.NoError(t, e.zm.SetState(id, e.agent, "closed"))
	require.Eventually(t, func() bool { return e.zm.Notify(id) == nil }, waitFor, tick)

	msgs := sink.Messages()
	require.Len(t, msgs, 3, "%+v", msgs)
	reply, assign, status := msgs[0], msgs[1], msgs[2]
	require.Equal(t, "Here is the receipt", reply.Text)
	require.Equal(t, conv.ID, reply.Conversation)
	require.Equal(t, normalize.RoleAgent, reply.Author.Role)
	require.Equal(t, "Alice Agent", reply.Author.DisplayName)
	require.Len(t, reply.Attachments, 1)
	require.Equal(t, "receipt.pdf", reply.Attachments[0].Name)
	require.Equal(t, "application/pdf", reply.Attachments[0].MediaType)
	require.NotNil(t, assign.Assignee)
	require.Equal(t, "Alice Agent", assign.Assignee.Name)
	require.Equal(t, normalize.StatusClosed, status.Status)
	require.Equal(t, normalize.KindSystem, status.Kind)

	// A repeated webhook delivers nothing new.
	require.NoError(t, e.zm.Notify(id))
	require.Len(t, sink.Messages(), 3)
	for kind, want := range map[string]float64{hdkit.EventReply: 1, hdkit.EventStatus: 1, hdkit.EventAssignment: 1, eventIgnoredNote: 1, eventIgnoredEcho: 1} {
		require.InDelta(t, want, counterValue(t, e.hd.metrics.events, kind), 0, "gateway_zammad_events_total{kind=%q}", kind)
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

// TestHookRefuses: what a forger sends is refused before Zammad is asked.
func TestHookRefuses(t *testing.T) {
	e := newEnv(t, nil)
	run(t, e.hd)
	body := []byte(`{"ticket":{"id":1},"article":{}}`)
	cases := []struct {
		name   string
		secret string
		body   []byte
		want   int
	}{
		{"wrong token", "another-token-of-enough-length", body, http.StatusUnauthorized},
		{"unsigned", "", body, http.StatusUnauthorized},
		{"not json", testToken, []byte(`ticket=1`), http.StatusBadRequest},
		{"no ticket", testToken, []byte(`{"article":{"id":3}}`), http.StatusBadRequest},
		{"unknown ticket", testToken, []byte(`{"ticket":{"id":99999}}`), http.StatusOK},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := zammadfake.SendSigned(e.hook, []byte(c.secret), "d-1", c.body)
			if c.want == http.StatusOK {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, fmt.Sprintf("answered %d", c.want))
		})
	}
	require.Zero(t, e.zm.Calls("GET /api/v1/ticket_articles/by_ticket/{id}"), "refused webhooks must not reach Zammad")
	require.InDelta(t, 2, counterValue(t, e.hd.metrics.hooks, hookUnauthorized), 0)
	require.InDelta(t, 2, counterValue(t, e.hd.metrics.hooks, hookMalformed), 0)
}

// TestPollMode: without a webhook, the search for updated tickets brings agents' replies,
// from a cursor kept in the gateway's store.
func TestPollMode(t *testing.T) {
	e := newEnv(t, func(cfg *Config) { cfg.Mode, cfg.PollInterval = ModePoll, time.Second })
	cursors := &conformance.MemCursors{}
	e.hd.cursor = &hdkit.Cursor{Store: cursors, Instance: e.hd.name, Key: cursorKey}
	conv1, conv2 := conversation(normalize.KindTelegram, "1"), conversation(normalize.KindTelegram, "2")
	r1, _, err := e.hd.Post(t.Context(), conv1, []connectors.Delivery{delivery(conv1, "one")})
	require.NoError(t, err)
	r2, _, err := e.hd.Post(t.Context(), conv2, []connectors.Delivery{delivery(conv2, "two")})
	require.NoError(t, err)
	_, err = e.zm.AgentArticle(ticketID(t, r1), e.agent, "answer one", false)
	require.NoError(t, err)
	_, err = e.zm.AgentArticle(ticketID(t, r2), e.agent, "answer two", false)
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
	require.NoError(t, e.hd.pollOnce(t.Context(), sink))
	require.Len(t, sink.Messages(), 2, "nothing new: the next poll delivers nothing")
	require.Error(t, e.zm.Notify(ticketID(t, r1)), "the hook is off in mode poll")
}

// TestRateLimit: with the quota a proxy announces nearly used, requests are spaced rather
// than run into 429s; a 429 from elsewhere hands Post the wait for the router.
func TestRateLimit(t *testing.T) {
	t.Run("slows down", func(t *testing.T) {
		e := newEnv(t, func(cfg *Config) { cfg.SlowBelow = 1000 })
		e.zm.SetRateLimit(4)
		conv := conversation(normalize.KindTelegram, "9")
		_, ids, err := e.hd.Post(t.Context(), conv, []connectors.Delivery{delivery(conv, "a"), delivery(conv, "b"), delivery(conv, "c")})
		require.Error(t, err)
		wait, ok := connectors.RetryDelay(err)
		require.True(t, ok, "Post() = %v: the quota is nearly gone; the router must wait for the window", err)
		require.Positive(t, wait)
		require.ErrorIs(t, err, ratelimit.ErrPaced, "the connector slowed down before Zammad's proxy had to refuse a request")
		require.Positive(t, counterValue(t, e.hd.metrics.paced, ratelimit.ReasonDeferred))
		require.Less(t, len(ids), 3)
	})
	t.Run("429 from elsewhere", func(t *testing.T) {
		e := newEnv(t, nil)
		e.zm.SetRateLimit(1)
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, e.zm.URL+"/api/v1/users/1", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Token token="+zammadfake.Token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		conv := conversation(normalize.KindTelegram, "10")
		_, ids, err := e.hd.Post(t.Context(), conv, []connectors.Delivery{delivery(conv, "a")})
		wait, ok := connectors.RetryDelay(err)
		require.True(t, ok, "Post() = %v", err)
		require.Greater(t, wait, 30*time.Second)
		require.Empty(t, ids)
		require.Zero(t, e.zm.Calls("POST /api/v1/tickets"))
	})
}

// TestWithoutSearchIndex: a Zammad without Elasticsearch searches users by plain text only;
// a player created before (by another replica, or before a restart) is still found, not
// created twice.
func TestWithoutSearchIndex(t *testing.T) {
	e := newEnv(t, nil)
	e.zm.SetSearchIndex(false)
	conv := conversation(normalize.KindTelegram, "4242")
	_, _, err := e.hd.Post(t.Context(), conv, []connectors.Delivery{delivery(conv, "one")})
	require.NoError(t, err)
	// A restart forgets the customer; the next conversation of the player finds them.
	e.hd.customers = hdkit.Memo[string, int64]{}
	other := conversation(normalize.KindTelegram, "4242")
	_, _, err = e.hd.Post(t.Context(), other, []connectors.Delivery{delivery(other, "two")})
	require.NoError(t, err)
	customers := 0
	for _, u := range e.zm.Users() {
		if u.Login == "gateway:chan:4242" {
			customers++
		}
	}
	require.Equal(t, 1, customers)
}

// TestLoginKeepsCase: Zammad lowercases logins; addresses differing only in case stay apart.
func TestLoginKeepsCase(t *testing.T) {
	lower, upper := conversation(normalize.KindWebchat, "visitor:abc"), conversation(normalize.KindWebchat, "visitor:ABC")
	require.Equal(t, "gateway:chan:visitor:abc", login("gateway:", lower))
	require.Regexp(t, `^gateway:chan:visitor:abc~[0-9a-f]{8}$`, login("gateway:", upper))
	require.Equal(t, login("gateway:", upper), login("gateway:", upper))
}
