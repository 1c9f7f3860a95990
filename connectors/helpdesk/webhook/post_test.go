package webhook_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/config"
	"github.com/casino-support/gateway/connectors"
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
			e := newEnv(t, func(c *config.Webhook) { c.Timeout = 100 * time.Millisecond })
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
	hd, err := webhook.New(testName, config.Webhook{URL: srv, Secret: testSecret, APIToken: testToken, Timeout: time.Second,
		MaxSkew: time.Minute, AttachmentURLTTL: time.Hour}, webhook.Deps{Blobs: e.blobs})
	require.NoError(t, err)
	_, ids, err := hd.Post(t.Context(), conv, deliveries(msgs, 1))
	require.NoError(t, err)
	require.Equal(t, []normalize.ExternalID{normalize.ExternalID(msgs[0].ID)}, ids)
}
