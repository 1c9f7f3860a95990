package router_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router"
	"github.com/casino-support/gateway/router/store"
)

// hangingChannel's Send never returns until the test ends: a channel whose remote hangs, or
// whose sender waits out a rate limit, for every conversation.
type hangingChannel struct {
	mu      sync.Mutex
	entered int
	release chan struct{}
}

func (c *hangingChannel) Run(ctx context.Context, _ connectors.Sink) error { <-ctx.Done(); return nil }

func (c *hangingChannel) Send(ctx context.Context, _ normalize.Conversation, _ normalize.Message) (normalize.ExternalID, error) {
	c.mu.Lock()
	c.entered++
	c.mu.Unlock()
	select {
	case <-c.release:
	case <-ctx.Done():
	}
	return "", fmt.Errorf("hanging channel: %w", context.Canceled)
}

func (c *hangingChannel) sends() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.entered
}

// A channel that hangs in Send for every conversation holds the outbound workers only:
// players' messages, of the same conversations and of new ones, still reach the helpdesk.
func TestHangingChannelDoesNotStopDeliveryToTheHelpdesk(t *testing.T) {
	for name, open := range replicaStores {
		t.Run(name, func(t *testing.T) {
			const convs, outboundWorkers = 6, 2
			st, _ := open(t, time.Now)
			hd := &memHelpdesk{tickets: map[normalize.ConversationID][]normalize.MessageID{}}
			ch := &hangingChannel{release: make(chan struct{})}
			// Fewer workers of both kinds together than conversations with a reply waiting: in
			// one shared pool, the replies would take every worker.
			opts := router.Options{Workers: 2, OutboundWorkers: outboundWorkers, PollInterval: 20 * time.Millisecond, Lease: time.Minute}
			r := router.New(st, map[normalize.InstanceName]connectors.Channel{"chat": ch},
				map[normalize.InstanceName]connectors.Helpdesk{"desk": hd}, router.Rules{Default: "desk"}, opts,
				prometheus.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)))
			ctx, cancel := context.WithCancel(t.Context())
			var running sync.WaitGroup
			t.Cleanup(func() { close(ch.release); cancel(); running.Wait() })
			running.Go(func() { r.Run(ctx) })

			delivered := func() int {
				hd.mu.Lock()
				defer hd.mu.Unlock()
				n := 0
				for _, ids := range hd.tickets {
					n += len(ids)
				}
				return n
			}
			for c := range convs {
				require.NoError(t, r.Deliver(ctx, inbound(fmt.Sprintf("p%d", c), 0)))
			}
			var cs []normalize.Conversation
			require.Eventually(t, func() bool {
				var err error
				cs, err = st.Conversations(ctx, convs, store.ConversationsCursor{})
				if err != nil || len(cs) != convs {
					return false
				}
				for _, c := range cs {
					if c.Ticket == "" {
						return false
					}
				}
				return true
			}, 60*time.Second, 10*time.Millisecond, "every conversation has its ticket recorded")
			for i, conv := range cs {
				require.NoError(t, r.Deliver(ctx, normalize.Message{Direction: normalize.Outbound, Source: "desk",
					ExternalID: normalize.ExternalID(fmt.Sprintf("r-%d", i)), Ticket: conv.Ticket,
					Author: normalize.Author{Role: normalize.RoleAgent}, Text: "an answer"}))
			}
			require.Eventually(t, func() bool { return ch.sends() == outboundWorkers }, 60*time.Second, 10*time.Millisecond,
				"the outbound workers are all held by the hanging channel")

			for c := range convs + 1 { // the same players again, and a new one
				require.NoError(t, r.Deliver(ctx, inbound(fmt.Sprintf("p%d", c), 1)))
			}
			require.Eventually(t, func() bool { return delivered() == 2*convs+1 }, 60*time.Second, 10*time.Millisecond,
				"players' messages reach the helpdesk while every reply hangs")
			require.Equal(t, outboundWorkers, ch.sends(), "replies went to the channel beyond the outbound workers")
			hd.mu.Lock()
			defer hd.mu.Unlock()
			require.Equal(t, convs+1, hd.created, "one ticket per conversation")
		})
	}
}
