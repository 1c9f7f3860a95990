package loopback_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	chanloop "github.com/casino-support/gateway/connectors/channel/loopback"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/test/loopback"
)

// The router decides by error class: permanent → dead letter, RetryAfter → wait without
// counting a failure, unauthorized → wait and report the connector not ready, anything else
// → back-off. These tables pin the HTTP mapping (connectors.ClassifyStatus).

type wantErr struct {
	permanent    bool
	unauthorized bool
	delay        time.Duration // 0: no RetryAfter
}

var statusCases = []struct {
	name       string
	status     int
	retryAfter time.Duration
	want       wantErr
}{
	{"429 with Retry-After", http.StatusTooManyRequests, 3 * time.Second, wantErr{delay: 3 * time.Second}},
	{"429 without Retry-After", http.StatusTooManyRequests, 0, wantErr{delay: time.Second}},
	{"500", http.StatusInternalServerError, 0, wantErr{}},
	{"503 with Retry-After", http.StatusServiceUnavailable, 2 * time.Second, wantErr{delay: 2 * time.Second}},
	{"503 without Retry-After", http.StatusServiceUnavailable, 0, wantErr{}},
	{"401", http.StatusUnauthorized, 0, wantErr{unauthorized: true}},
	{"403", http.StatusForbidden, 0, wantErr{unauthorized: true}},
	{"408", http.StatusRequestTimeout, 0, wantErr{}},
	{"422", http.StatusUnprocessableEntity, 0, wantErr{permanent: true}},
	{"400", http.StatusBadRequest, 0, wantErr{permanent: true}},
	{"404", http.StatusNotFound, 0, wantErr{permanent: true}},
}

func requireClass(t *testing.T, err error, want wantErr) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, want.permanent, connectors.IsPermanent(err), "IsPermanent(%v)", err)
	require.Equal(t, want.unauthorized, connectors.IsUnauthorized(err), "IsUnauthorized(%v)", err)
	delay, ok := connectors.RetryDelay(err)
	require.Equal(t, want.delay != 0, ok, "RetryDelay(%v)", err)
	require.Equal(t, want.delay, delay)
}

func TestSendStatusMapping(t *testing.T) {
	for _, tc := range statusCases {
		t.Run(tc.name, func(t *testing.T) {
			env := newChannelEnv(t)
			conv := normalize.Conversation{ID: "c-1", Address: "player-7"}
			msg := normalize.Message{ID: "m-1", Kind: normalize.KindText, Text: "hello"}
			env.remote.FailNext(1, tc.status, tc.retryAfter)

			_, err := env.ch.Send(t.Context(), conv, msg)
			requireClass(t, err, tc.want)
			require.ErrorContains(t, err, "loopback chan-loop: send to "+env.send)
			require.Zero(t, env.remote.Total(), "a failed send is not delivered")

			id, err := env.ch.Send(t.Context(), conv, msg)
			require.NoError(t, err, "Send() after the fault")
			require.Equal(t, normalize.ExternalID("sent-1"), id)
		})
	}
}

func TestSendNetworkErrorIsRetried(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	ch := chanloop.New("chan-loop", chanloop.Config{SendURL: srv.URL}, nil, testLogger(t))
	_, err := ch.Send(t.Context(), normalize.Conversation{Address: "p"}, normalize.Message{ID: "m-1"})
	requireClass(t, err, wantErr{})
}

// TestSendWrongSecretIsUnauthorized: a secret the remote refuses is fixed in the
// configuration; the reply must wait for that, not become a dead letter.
func TestSendWrongSecretIsUnauthorized(t *testing.T) {
	env := newChannelEnv(t)
	ch := chanloop.New("chan-loop", chanloop.Config{SendURL: env.send, Secret: "wrong"}, nil, testLogger(t))
	_, err := ch.Send(t.Context(), normalize.Conversation{Address: "p"}, normalize.Message{ID: "m-1"})
	requireClass(t, err, wantErr{unauthorized: true})
	require.ErrorContains(t, err, "HTTP 401")
}

func TestSendPayload(t *testing.T) {
	env := newChannelEnv(t)
	conv := normalize.Conversation{ID: "c-9", Address: "player-7"}
	msg := normalize.Message{ID: "m-5", Kind: normalize.KindText, Text: "Your payout is sent",
		Author: normalize.Author{Role: normalize.RoleAgent, DisplayName: "Bob"}}
	id, err := env.ch.Send(t.Context(), conv, msg)
	require.NoError(t, err)
	require.Equal(t, []loopback.Sent{{ID: string(id), MessageID: "m-5", ConversationID: "c-9", Address: "player-7",
		Text: "Your payout is sent", Kind: "text", Author: "Bob"}}, env.remote.Received("player-7"))

	// A lost answer makes the router retry; the idempotency key keeps the player from a double.
	env.remote.LoseNext(1)
	lost := normalize.Message{ID: "m-6", Kind: normalize.KindText, Text: "second"}
	_, err = env.ch.Send(t.Context(), conv, lost)
	requireClass(t, err, wantErr{})
	again, err := env.ch.Send(t.Context(), conv, lost)
	require.NoError(t, err)
	require.Equal(t, normalize.ExternalID("sent-2"), again)
	require.Equal(t, 2, env.remote.Total())
	require.Equal(t, 1, env.remote.Repeats())
}

func TestPostStatusMapping(t *testing.T) {
	for _, tc := range statusCases {
		t.Run("ticket "+tc.name, func(t *testing.T) {
			env := newHelpdeskEnv(t)
			conv := normalize.Conversation{ID: "c-1", Channel: "chan", Address: "player-7"}
			env.remote.FailNext(1, tc.status, tc.retryAfter)
			ticket, ids, err := env.hd.Post(t.Context(), conv, deliveries("m-1", "m-2"))
			requireClass(t, err, tc.want)
			require.ErrorContains(t, err, "loopback desk-loop: create ticket at ")
			require.Empty(t, ticket)
			require.Empty(t, ids)
			require.Zero(t, env.remote.TicketCount())
		})
		t.Run("message "+tc.name, func(t *testing.T) {
			env := newHelpdeskEnv(t)
			conv := normalize.Conversation{ID: "c-1", Channel: "chan", Address: "player-7"}
			ticket, _, err := env.hd.Post(t.Context(), conv, deliveries("m-1"))
			require.NoError(t, err)
			conv.Ticket = ticket
			env.remote.FailNext(1, tc.status, tc.retryAfter)
			got, ids, err := env.hd.Post(t.Context(), conv, deliveries("m-2", "m-3"))
			requireClass(t, err, tc.want)
			require.ErrorContains(t, err, "loopback desk-loop: post message m-2 to ")
			require.Equal(t, ticket, got, "the ticket is returned with the error")
			require.Empty(t, ids)
		})
	}
}

// TestPostReturnsPrefix: a failure in the middle of a batch reports the messages before it, so
// the router records them and retries only the rest.
func TestPostReturnsPrefix(t *testing.T) {
	env := newHelpdeskEnv(t)
	env.remote.RejectText("poison", http.StatusUnprocessableEntity)
	conv := normalize.Conversation{ID: "c-1", Channel: "chan", Address: "player-7"}
	msgs := deliveries("m-1", "m-2", "m-3")
	msgs[1].Text = "this is poison"

	ticket, ids, err := env.hd.Post(t.Context(), conv, msgs)
	requireClass(t, err, wantErr{permanent: true})
	require.Equal(t, normalize.Ref("T-1"), ticket)
	require.Equal(t, []normalize.ExternalID{"c-1"}, ids)
	require.Len(t, env.remote.Tickets()["c-1"].Messages, 1)
}

// TestPostLostAnswers: every answer lost once (ticket and message) and retried by the router
// still yields one ticket with one copy of each message.
func TestPostLostAnswers(t *testing.T) {
	env := newHelpdeskEnv(t)
	conv := normalize.Conversation{ID: "c-1", Channel: "chan", Address: "player-7"}
	msgs := deliveries("m-1", "m-2")

	env.remote.LoseNext(1)
	_, _, err := env.hd.Post(t.Context(), conv, msgs)
	requireClass(t, err, wantErr{})
	ticket, ids, err := env.hd.Post(t.Context(), conv, msgs)
	require.NoError(t, err)
	require.Len(t, ids, 2)
	env.remote.LoseNext(1)
	conv.Ticket = ticket
	_, _, err = env.hd.Post(t.Context(), conv, msgs[1:])
	requireClass(t, err, wantErr{})
	_, again, err := env.hd.Post(t.Context(), conv, msgs[1:])
	require.NoError(t, err)
	require.Equal(t, ids[1:], again)

	require.Equal(t, 1, env.remote.TicketCount())
	require.Equal(t, 1, env.remote.TicketRepeats())
	require.Equal(t, 2, env.remote.Repeats())
	require.Len(t, env.remote.Tickets()["c-1"].Messages, 2)
}

func TestPostUnknownTicketIsPermanent(t *testing.T) {
	env := newHelpdeskEnv(t)
	conv := normalize.Conversation{ID: "c-1", Ticket: "T-404"}
	ticket, ids, err := env.hd.Post(t.Context(), conv, deliveries("m-1"))
	requireClass(t, err, wantErr{permanent: true})
	require.ErrorContains(t, err, "HTTP 404")
	require.Equal(t, normalize.Ref("T-404"), ticket)
	require.Empty(t, ids)
}

func TestPostPayload(t *testing.T) {
	env := newHelpdeskEnv(t)
	conv := normalize.Conversation{ID: "c-1", Channel: "chan", Address: "player-7",
		Player: normalize.Author{Role: normalize.RolePlayer, DisplayName: "Ann"}}
	msgs := deliveries("m-1")
	msgs[0].Text = "  My   withdrawal\nis stuck and has been for a very long while, please look into it soon, thank you"
	msgs[0].Author.DisplayName = "Ann"
	msgs[0].Attachments = []normalize.Attachment{{Name: "receipt.png", MediaType: "image/png", Size: 3, SHA256: "abc", BlobRef: "abc"}}
	_, _, err := env.hd.Post(t.Context(), conv, msgs)
	require.NoError(t, err)

	got := env.remote.Tickets()["c-1"]
	require.Equal(t, "chan", got.Channel)
	require.Equal(t, "player-7", got.Address)
	require.Equal(t, "My withdrawal is stuck and has been for a very long while, please look into it…", got.Subject,
		"the subject is the first message's text on one line, at most 80 characters")
	require.Equal(t, []loopback.Posted{{ID: "c-1", MessageID: "m-1", Text: msgs[0].Text, Author: "Ann", Kind: "text", Attachments: 1}}, got.Messages)
}

func TestPostNothingIsNoop(t *testing.T) {
	env := newHelpdeskEnv(t)
	ticket, ids, err := env.hd.Post(t.Context(), normalize.Conversation{ID: "c-1"}, nil)
	require.NoError(t, err)
	require.Empty(t, ticket)
	require.Empty(t, ids)
	require.Zero(t, env.remote.Requests())
}

func deliveries(ids ...normalize.MessageID) []connectors.Delivery {
	out := make([]connectors.Delivery, len(ids))
	for i, id := range ids {
		out[i] = connectors.Delivery{Attempt: 1, Message: normalize.Message{ID: id, Direction: normalize.Inbound,
			Kind: normalize.KindText, Text: "text of " + string(id)}}
	}
	return out
}
