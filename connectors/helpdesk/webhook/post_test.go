package webhook_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/callback"
	"github.com/casino-support/gateway/connectors/helpdesk/webhook"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/test/webhookreceiver"
)

func deliveries(msgs []normalize.Message, attempt int) []connectors.Delivery {
	out := make([]connectors.Delivery, len(msgs))
	for i, m := range msgs {
		out[i] = connectors.Delivery{Message: m, Attempt: attempt}
	}
	return out
}

func TestPostOpensOnceAndSendsInOrder(t *testing.T) {
	e := newEnv(t, nil)
	conv, msgs := conversation(3)
	ticket, ids, err := e.hd.Post(t.Context(), conv, deliveries(msgs[:2], 1))
	require.NoError(t, err, "Post()")
	require.Equal(t, normalize.Ref("T-1"), ticket)
	require.Equal(t, []normalize.ExternalID{"ext-" + normalize.ExternalID(msgs[0].ID), "ext-" + normalize.ExternalID(msgs[1].ID)}, ids)

	conv.Ticket = ticket
	again, ids, err := e.hd.Post(t.Context(), conv, deliveries(msgs[2:], 1))
	require.NoError(t, err, "Post() on the ticket")
	require.Equal(t, ticket, again)
	require.Len(t, ids, 1)

	events := e.recv.Events()
	require.Len(t, events, 4)
	require.Equal(t, webhook.EventConversationOpened, events[0].Event.Event)
	require.Equal(t, "open-"+string(conv.ID), events[0].Key)
	require.Equal(t, string(conv.ID), events[0].Event.Conversation.ID)
	require.Equal(t, webhook.Player{DisplayName: "Max", Language: "de", PlayerID: "P-4711", VIPTier: 3}, events[0].Event.Conversation.Player)
	for i, ev := range events[1:] {
		require.Equal(t, webhook.EventMessageCreated, ev.Event.Event)
		require.Equal(t, string(msgs[i].ID), ev.Key, "idempotency key is the message ID")
		require.Equal(t, msgs[i].Text, ev.Event.Message.Text)
		require.Equal(t, string(ticket), ev.Event.Conversation.Ticket)
	}
	require.Equal(t, []string{string(msgs[0].ID), string(msgs[1].ID), string(msgs[2].ID)}, e.recv.Messages()[string(conv.ID)])
}

func TestPostRetryKeepsIdempotencyKeys(t *testing.T) {
	e := newEnv(t, nil)
	conv, msgs := conversation(2)
	// open succeeds, message 1 succeeds, message 2 fails once.
	e.recv.Inject(webhookreceiver.Fault{}, webhookreceiver.Fault{}, webhookreceiver.Fault{Status: 503})
	ticket, ids, err := e.hd.Post(t.Context(), conv, deliveries(msgs, 1))
	require.Error(t, err)
	require.False(t, connectors.IsPermanent(err))
	require.Equal(t, normalize.Ref("T-1"), ticket, "the ticket is returned with the error")
	require.Len(t, ids, 1, "external IDs are the prefix posted")

	// The router retries the rest; then, as after a crash, everything once more from scratch.
	conv.Ticket = ticket
	_, rest, err := e.hd.Post(t.Context(), conv, deliveries(msgs[1:], 2))
	require.NoError(t, err)
	conv.Ticket = ""
	again, all, err := e.hd.Post(t.Context(), conv, deliveries(msgs, 3))
	require.NoError(t, err)
	require.Equal(t, ticket, again, "a repeated open answers the same ticket")
	require.Equal(t, append(ids, rest...), all, "repeats get the first answers")
	require.Equal(t, []string{string(msgs[0].ID), string(msgs[1].ID)}, e.recv.Messages()[string(conv.ID)])
	require.Equal(t, 3+1+3, e.recv.Requests(), "open, msg, failed msg; retried msg; open, msg, msg")
}

func TestPostStatusMapping(t *testing.T) {
	tests := []struct {
		name      string
		fault     webhookreceiver.Fault
		permanent bool
		retry     time.Duration // 0: no RetryAfter error
	}{
		{"500 is retried", webhookreceiver.Fault{Status: 500}, false, 0},
		{"502 is retried", webhookreceiver.Fault{Status: 502}, false, 0},
		{"408 is retried", webhookreceiver.Fault{Status: 408}, false, 0},
		{"429 waits Retry-After", webhookreceiver.Fault{Status: 429, RetryAfter: "7"}, false, 7 * time.Second},
		{"429 without Retry-After waits 1s", webhookreceiver.Fault{Status: 429}, false, time.Second},
		{"400 is permanent", webhookreceiver.Fault{Status: 400}, true, 0},
		{"404 is permanent", webhookreceiver.Fault{Status: 404}, true, 0},
		{"422 is permanent", webhookreceiver.Fault{Status: 422}, true, 0},
		{"timeout is retried", webhookreceiver.Fault{Delay: time.Second}, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, func(c *webhook.Config) { c.Timeout = 100 * time.Millisecond })
			conv, msgs := conversation(1)
			e.recv.Inject(tt.fault)
			_, ids, err := e.hd.Post(t.Context(), conv, deliveries(msgs, 1))
			require.Error(t, err, "Post()")
			require.Empty(t, ids)
			require.Equal(t, tt.permanent, connectors.IsPermanent(err), "IsPermanent(%v)", err)
			delay, ok := connectors.RetryDelay(err)
			require.Equal(t, tt.retry != 0, ok, "RetryDelay(%v)", err)
			require.Equal(t, tt.retry, delay)
			if tt.fault.Delay > 0 {
				require.True(t, errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "deadline"), "timeout error: %v", err)
			}
			// Retrying after the fault succeeds with the same keys and one ticket.
			_, ids, err = e.hd.Post(t.Context(), conv, deliveries(msgs, 2))
			require.NoError(t, err, "Post() after the fault")
			require.Len(t, ids, 1)
			require.Len(t, e.recv.Messages()[string(conv.ID)], 1)
		})
	}
}

func TestPostEmptyAnswerUsesMessageID(t *testing.T) {
	// A receiver that answers 204 for messages: the message ID becomes the external ID.
	e := newEnv(t, nil)
	conv, msgs := conversation(1)
	conv.Ticket = "T-x"
	srv := noContentServer(t)
	hd, err := webhook.New(testName, webhook.Config{URL: srv, Secret: testSecret, APIToken: testToken, Timeout: time.Second,
		MaxSkew: time.Minute, AttachmentURLTTL: time.Hour}, webhook.Deps{Blobs: e.blobs})
	require.NoError(t, err)
	_, ids, err := hd.Post(t.Context(), conv, deliveries(msgs, 1))
	require.NoError(t, err)
	require.Equal(t, []normalize.ExternalID{normalize.ExternalID(msgs[0].ID)}, ids)
}

// updateOf returns an Update message of conv, as the store enqueues one before the message
// that revealed the change (or alone, for an SLA breach).
func updateOf(conv normalize.Conversation, u normalize.Update) normalize.Message {
	now := time.Now().UTC().Truncate(time.Second)
	return normalize.Message{ID: normalize.NewMessageID(), Direction: normalize.Inbound, Source: conv.Channel,
		ExternalID: normalize.ExternalID("update-" + string(conv.ID)), Conversation: conv.ID, Channel: conv.Channel,
		ChannelKind: conv.ChannelKind, Address: conv.Address, Author: normalize.Author{Role: normalize.RoleSystem},
		Kind: normalize.KindSystem, Text: "Conversation updated.", Update: &u, SentAt: now, ReceivedAt: now}
}

func TestPostUpdateOpensTheConversationFirst(t *testing.T) {
	e := newEnv(t, nil)
	conv, msgs := conversation(1)
	since := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	conv.SLA = normalize.SLA{AwaitingSince: since, DueAt: since.Add(15 * time.Minute), BreachedAt: since.Add(15 * time.Minute)}
	upd := updateOf(conv, normalize.Update{Changed: []normalize.Field{normalize.FieldSLA}, Language: "de", PlayerID: "P-4711",
		VIPTier: 3, Priority: normalize.PriorityHigh, SLA: conv.SLA})

	ticket, ids, err := e.hd.Post(t.Context(), conv, deliveries([]normalize.Message{upd, msgs[0]}, 1))
	require.NoError(t, err, "Post()")
	require.Equal(t, normalize.Ref("T-1"), ticket)
	require.Equal(t, []normalize.ExternalID{"ext-" + normalize.ExternalID(upd.ID), "ext-" + normalize.ExternalID(msgs[0].ID)}, ids,
		"the operator's {id} is the update's external ID, as for messages")

	events := e.recv.Events()
	require.Len(t, events, 3)
	require.Equal(t, webhook.EventConversationOpened, events[0].Event.Event)
	require.Equal(t, webhook.Player{DisplayName: "Max", Language: "de", PlayerID: "P-4711", VIPTier: 3}, events[0].Event.Conversation.Player)
	got := events[1]
	require.Equal(t, webhook.EventConversationUpdated, got.Event.Event)
	require.Equal(t, string(upd.ID), got.Key, "idempotency key is the update's message ID")
	require.Nil(t, got.Event.Message)
	require.Equal(t, string(ticket), got.Event.Conversation.Ticket)
	wantSLA := webhook.SLA{State: "breached", AwaitingSince: since, DueAt: since.Add(15 * time.Minute), BreachedAt: since.Add(15 * time.Minute)}
	require.Equal(t, &webhook.Update{Changed: []string{"sla"}, Language: "de", PlayerID: "P-4711", VIPTier: 3, Priority: "high", SLA: wantSLA},
		got.Event.Update)
	require.Equal(t, wantSLA, got.Event.Conversation.SLA)
	require.Equal(t, webhook.EventMessageCreated, events[2].Event.Event)
	require.Equal(t, []string{string(upd.ID)}, e.recv.Updates()[string(conv.ID)])
	require.Equal(t, []string{string(msgs[0].ID)}, e.recv.Messages()[string(conv.ID)], "an update is not a message of the ticket")

	// A retry, as after a crash, sends the same keys and gets the first answers.
	conv.Ticket = ticket
	_, again, err := e.hd.Post(t.Context(), conv, deliveries([]normalize.Message{upd}, 2))
	require.NoError(t, err)
	require.Equal(t, ids[:1], again)
	require.Len(t, e.recv.Events(), 3)
}

// An update opening a conversation that knows no player yet must not present the gateway
// (the update's author) as the player.
func TestPostUpdateIsNotThePlayer(t *testing.T) {
	e := newEnv(t, nil)
	conv, _ := conversation(0)
	conv.Player = normalize.Author{}
	upd := updateOf(conv, normalize.Update{Changed: []normalize.Field{normalize.FieldPriority}, Priority: normalize.PriorityUrgent})
	_, _, err := e.hd.Post(t.Context(), conv, deliveries([]normalize.Message{upd}, 1))
	require.NoError(t, err)
	require.Equal(t, webhook.Player{}, e.recv.Events()[0].Event.Conversation.Player)
}

func TestPostUpdateEmptyAnswerUsesMessageID(t *testing.T) {
	conv, _ := conversation(0)
	conv.Ticket = "T-x"
	upd := updateOf(conv, normalize.Update{Changed: []normalize.Field{normalize.FieldLanguage}, Language: "en", Priority: normalize.PriorityNormal})
	hd, err := webhook.New(testName, webhook.Config{URL: noContentServer(t), Secret: testSecret, APIToken: testToken, Timeout: time.Second,
		MaxSkew: time.Minute, AttachmentURLTTL: time.Hour}, webhook.Deps{})
	require.NoError(t, err)
	_, ids, err := hd.Post(t.Context(), conv, deliveries([]normalize.Message{upd}, 1))
	require.NoError(t, err)
	require.Equal(t, []normalize.ExternalID{normalize.ExternalID(upd.ID)}, ids)
}

// TestConversationCarriesStatusSLAAndAssignee checks what every event says about the
// conversation beside its identity; the receiver validates each against the contract.
func TestConversationCarriesStatusSLAAndAssignee(t *testing.T) {
	since := time.Date(2026, 11, 22, 10, 0, 0, 0, time.FixedZone("CET", 3600))
	due := since.Add(time.Hour)
	tests := []struct {
		name string
		// the conversation
		status   normalize.Status
		sla      normalize.SLA
		assignee *normalize.Agent
		// what the operator sees
		wantStatus   string
		wantSLA      webhook.SLA
		wantAssignee *webhook.Agent
	}{
		{name: "nobody waits, nobody assigned", status: normalize.StatusOpen,
			wantStatus: "open", wantSLA: webhook.SLA{State: "none"}},
		{name: "waiting without a target", status: normalize.StatusOpen, sla: normalize.SLA{AwaitingSince: since},
			wantStatus: "open", wantSLA: webhook.SLA{State: "waiting", AwaitingSince: since.UTC()}},
		{name: "waiting with a target", status: normalize.StatusOpen, sla: normalize.SLA{AwaitingSince: since, DueAt: due},
			wantStatus: "open", wantSLA: webhook.SLA{State: "waiting", AwaitingSince: since.UTC(), DueAt: due.UTC()}},
		{name: "breached, assigned and parked", status: normalize.StatusPending,
			sla: normalize.SLA{AwaitingSince: since, DueAt: due, BreachedAt: due}, assignee: &normalize.Agent{ID: "a-7", Name: "Anna"},
			wantStatus: "pending", wantSLA: webhook.SLA{State: "breached", AwaitingSince: since.UTC(), DueAt: due.UTC(), BreachedAt: due.UTC()},
			wantAssignee: &webhook.Agent{ID: "a-7", Name: "Anna"}},
		{name: "an empty assignee is none", status: normalize.StatusOpen, assignee: &normalize.Agent{},
			wantStatus: "open", wantSLA: webhook.SLA{State: "none"}},
		{name: "no status is open", wantStatus: "open", wantSLA: webhook.SLA{State: "none"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			conv, msgs := conversation(1)
			conv.Status, conv.SLA, conv.Assignee = tt.status, tt.sla, tt.assignee
			_, _, err := e.hd.Post(t.Context(), conv, deliveries(msgs, 1))
			require.NoError(t, err)
			events := e.recv.Events()
			require.Len(t, events, 2, "opened and created")
			for _, ev := range events {
				c := ev.Event.Conversation
				require.Equal(t, tt.wantStatus, c.Status, ev.Event.Event)
				require.Equal(t, tt.wantSLA, c.SLA, ev.Event.Event)
				require.Equal(t, tt.wantAssignee, c.Assignee, ev.Event.Event)
			}
		})
	}
}

// A redirect that turns the POST into a GET (301, 302, 303) drops the event: whatever answers
// the GET never saw it, so its 2xx must not count as delivery. 307 and 308 resend the event
// and still reach the operator.
func TestPostRedirects(t *testing.T) {
	tests := []struct {
		status    int
		delivered bool
	}{
		{http.StatusMovedPermanently, false},
		{http.StatusFound, false},
		{http.StatusSeeOther, false},
		{http.StatusTemporaryRedirect, true},
		{http.StatusPermanentRedirect, true},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.status), func(t *testing.T) {
			recv := webhookreceiver.New(loadContract(t), testSecret, 5*time.Minute)
			var landed atomic.Int32
			mux := http.NewServeMux()
			mux.Handle("POST /gateway-events", recv)
			mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) {
				target := "/gateway-events"
				if !tt.delivered {
					target = "/landing"
				}
				http.Redirect(w, r, target, tt.status)
			})
			mux.HandleFunc("/landing", func(w http.ResponseWriter, r *http.Request) {
				landed.Add(1)
				w.WriteHeader(http.StatusOK) // a page, not the operator's endpoint
			})
			srv := httptest.NewServer(mux)
			t.Cleanup(srv.Close)
			// A client like the gateway's shared one, which follows redirects by default.
			hd, err := webhook.New(testName, webhook.Config{URL: srv.URL + "/moved", Secret: testSecret, APIToken: testToken,
				Timeout: time.Second, MaxSkew: time.Minute, AttachmentURLTTL: time.Hour}, webhook.Deps{Client: &http.Client{}})
			require.NoError(t, err)
			conv, msgs := conversation(1)
			if tt.delivered {
				ticket, ids, err := hd.Post(t.Context(), conv, deliveries(msgs, 1))
				require.NoError(t, err)
				require.Equal(t, normalize.Ref("T-1"), ticket)
				require.Len(t, ids, 1)
				require.Len(t, recv.Events(), 2, "both events reached the operator")
				require.Empty(t, recv.Errors())
				return
			}
			// On a ticket only message.created is sent, whose empty 2xx answer is success.
			conv.Ticket = "T-x"
			_, ids, err := hd.Post(t.Context(), conv, deliveries(msgs, 1))
			require.Error(t, err, "the event went nowhere; landed on a GET %d times", landed.Load())
			require.False(t, connectors.IsPermanent(err), "a redirect may be fixed; the router retries")
			require.Empty(t, ids)
			require.Empty(t, recv.Events())
		})
	}
}

// An e-mail player's address reaches the operator as the requester's, in every event, and a
// mail's subject with its message.
func TestPostCarriesThePlayersEmail(t *testing.T) {
	e := newEnv(t, nil)
	conv, msgs := conversation(1)
	conv.ChannelKind = normalize.KindEmail
	conv.Player.Email = "ann@player.example"
	msgs[0].Subject = "Withdrawal delayed"
	_, _, err := e.hd.Post(t.Context(), conv, deliveries(msgs, 1))
	require.NoError(t, err)
	events := e.recv.Events()
	require.NotEmpty(t, events)
	for _, ev := range events {
		require.Equal(t, "ann@player.example", ev.Event.Conversation.Player.Email, ev.Event.Event)
		if ev.Event.Message != nil {
			require.Equal(t, "Withdrawal delayed", ev.Event.Message.Subject)
		}
	}
}

// A call-back request carries its flag, and the contract describes it: the receiver checks
// every event against docs/webhook-openapi.yaml.
func TestPostCarriesTheCallbackRequest(t *testing.T) {
	e := newEnv(t, nil)
	conv, msgs := conversation(2)
	callback.Mark(&msgs[0], normalize.Callback{Phone: "+491701234567", PreferredTime: "nach 18 Uhr"}, "the web chat")
	callback.Mark(&msgs[1], normalize.Callback{}, "the phone menu of +4930123456")
	_, _, err := e.hd.Post(t.Context(), conv, deliveries(msgs, 1))
	require.NoError(t, err)
	var got []*webhook.Callback
	for _, ev := range e.recv.Events() {
		if ev.Event.Message != nil {
			got = append(got, ev.Event.Message.Callback)
			require.True(t, strings.HasPrefix(ev.Event.Message.Text, callback.Prefix))
		}
	}
	require.Equal(t, []*webhook.Callback{{Phone: "+491701234567", PreferredTime: "nach 18 Uhr"}, {}}, got)
}
