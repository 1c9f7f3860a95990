package router_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router"
	"github.com/casino-support/gateway/router/store"
)

// cutChannel's Send runs until the drain cancels it, then reports what the channel made of
// the message: sent after all (the answer was on its way, or the connector does not stop
// mid-send), or the cancellation.
type cutChannel struct {
	started chan struct{}
	sent    bool
}

func (c *cutChannel) Run(ctx context.Context, _ connectors.Sink) error { <-ctx.Done(); return nil }

func (c *cutChannel) Send(ctx context.Context, _ normalize.Conversation, m normalize.Message) (normalize.ExternalID, error) {
	close(c.started)
	<-ctx.Done()
	if c.sent {
		return normalize.ExternalID("ch-" + string(m.ID)), nil
	}
	return "", ctx.Err()
}

// When the drain runs out, what the target took is still recorded (else it goes out again
// after restart), and the cut itself is not counted against the message.
func TestDrainCutRecordsWhatWasDelivered(t *testing.T) {
	tests := []struct {
		name  string
		sent  bool
		state normalize.DeliveryState
	}{
		{"sent as the drain ran out", true, normalize.StateSent},
		{"cancelled by the drain", false, normalize.StateQueued},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const drain = 10 * time.Millisecond
				clk := newClock()
				st, err := store.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "gw.db"), store.Options{Now: clk.Now})
				require.NoError(t, err)
				t.Cleanup(func() { st.Close() })
				hd := &memHelpdesk{tickets: map[normalize.ConversationID][]normalize.MessageID{}}
				ch := &cutChannel{started: make(chan struct{}), sent: tc.sent}
				// One attempt only: a cut counted as a failure would dead-letter the reply.
				r := router.New(st, map[normalize.InstanceName]connectors.Channel{"chat": ch},
					map[normalize.InstanceName]connectors.Helpdesk{"desk": hd}, router.Rules{Default: "desk"},
					router.Options{MaxAttempts: 1, DrainTimeout: drain, PollInterval: 5 * time.Millisecond, Clock: clk},
					prometheus.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)))
				ctx, cancel := context.WithCancel(t.Context())
				done := make(chan struct{})
				go func() { r.Run(ctx); close(done) }()
				t.Cleanup(func() { cancel(); <-done })

				require.NoError(t, r.Deliver(ctx, inbound("p", 1)))
				synctest.Wait()
				cs, err := st.Conversations(ctx, 1, store.ConversationsCursor{})
				require.NoError(t, err)
				require.Len(t, cs, 1)
				conv := cs[0]
				require.NotEmpty(t, conv.Ticket, "the opening message was posted")
				require.NoError(t, r.Deliver(ctx, normalize.Message{Direction: normalize.Outbound, Source: "desk", ExternalID: "r-1",
					Ticket: conv.Ticket, Author: normalize.Author{Role: normalize.RoleAgent}, Text: "hello"}))
				<-ch.started
				cancel()
				synctest.Wait()
				select {
				case <-done:
					t.Fatal("Run() returned before the drain ran out")
				default:
				}
				clk.Advance(drain)
				<-done

				msgs, err := st.Messages(t.Context(), conv.ID, 0, 10)
				require.NoError(t, err)
				require.Len(t, msgs, 2)
				require.Equal(t, tc.state, msgs[1].Message.State)
			})
		})
	}
}
