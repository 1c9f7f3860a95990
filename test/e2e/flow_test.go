package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const (
	conversations   = 50
	perConversation = 20 // 1,000 player messages in all
	repliesPerConv  = 2
)

// TestThousandMessagesExactlyOnce pushes 1,000 messages over 50 conversations through the
// real binary and checks exactly-once, per-conversation order, one ticket per conversation
// and replies delivered back exactly once.
func TestThousandMessagesExactlyOnce(t *testing.T) {
	runFlow(t, 0)
}

// TestSIGKILLLosesAndDoublesNothing runs the same flow while the gateway is killed with
// SIGKILL at random moments and restarted; senders retry until acknowledged, as channels do.
func TestSIGKILLLosesAndDoublesNothing(t *testing.T) {
	runFlow(t, 4)
}

func runFlow(t *testing.T, kills int) {
	if testing.Short() {
		t.Skip("end-to-end test builds and runs the binary")
	}
	e := newEnv(t, "  backoff_base: 50ms\n  backoff_max: 500ms")
	e.start()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	if kills > 0 {
		// Responses lost after the helpdesk committed: only idempotency keeps these single.
		e.helpdesk.LoseNext(3)
	}
	killerDone := make(chan error, 1)
	go func() {
		// Kill at spread-out points of delivery progress, a few random milliseconds after
		// crossing each, so every kill lands while intake and delivery are in flight.
		total := conversations * perConversation
		for k := range kills {
			threshold := total * (k + 1) / (kills + 2)
			for e.helpdeskMessages() < threshold {
				time.Sleep(time.Millisecond)
			}
			time.Sleep(time.Duration(rand.IntN(20)) * time.Millisecond)
			e.kill()
			if err := e.startErr(); err != nil {
				killerDone <- err
				return
			}
		}
		killerDone <- nil
	}()

	var wg sync.WaitGroup
	errs := make(chan error, conversations)
	for c := range conversations {
		wg.Add(1)
		go func() {
			defer wg.Done()
			addr := fmt.Sprintf("player-%02d", c)
			for i := range perConversation {
				if err := e.sendPlayer(ctx, addr, fmt.Sprintf("%s-m%02d", addr, i), playerText(addr, i)); err != nil {
					errs <- fmt.Errorf("%s message %d: %w", addr, i, err)
					return
				}
			}
			ticket, err := e.waitTicket(ctx, addr)
			if err != nil {
				errs <- err
				return
			}
			for r := range repliesPerConv {
				if err := e.agentReply(ctx, ticket, fmt.Sprintf("%s-r%d", addr, r), replyText(addr, r)); err != nil {
					errs <- fmt.Errorf("%s reply %d: %w", addr, r, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.NoError(t, <-killerDone)

	// Wait for the outboxes to drain, then check what each remote holds.
	require.Eventually(t, func() bool {
		return e.helpdeskMessages() == conversations*perConversation && e.channel.Total() == conversations*repliesPerConv
	}, 2*time.Minute, 50*time.Millisecond, "helpdesk holds %d of %d messages, channel %d of %d replies",
		e.helpdeskMessages(), conversations*perConversation, e.channel.Total(), conversations*repliesPerConv)

	tickets := e.helpdesk.Tickets()
	require.Len(t, tickets, conversations, "exactly one ticket per conversation")
	seen := map[string]bool{}
	for _, tk := range tickets {
		require.NotEmpty(t, tk.Messages)
		addr := addressOf(tk.Messages[0].Text)
		require.False(t, seen[addr], "second ticket for %s", addr)
		seen[addr] = true
		var got, want []string
		for i, m := range tk.Messages {
			got = append(got, m.Text)
			want = append(want, playerText(addr, i))
		}
		require.Equal(t, want[:perConversation], got, "ticket of %s: every message once, in order", addr)
	}
	for c := range conversations {
		addr := fmt.Sprintf("player-%02d", c)
		var got []string
		for _, s := range e.channel.Received(addr) {
			got = append(got, s.Text)
		}
		require.Equal(t, []string{replyText(addr, 0), replyText(addr, 1)}, got, "replies to %s", addr)
	}
	var convs struct {
		Conversations []struct{ ID string } `json:"conversations"`
	}
	require.Equal(t, 200, e.api("GET", "/api/v1/conversations?limit=500", nil, &convs))
	require.Len(t, convs.Conversations, conversations)
	if kills > 0 {
		require.Positive(t, e.helpdesk.Repeats()+e.helpdesk.TicketRepeats(), "lost responses must have been retried")
	}
	t.Logf("kills=%d: redeliveries absorbed by idempotency keys: helpdesk messages %d, tickets %d, channel %d",
		kills, e.helpdesk.Repeats(), e.helpdesk.TicketRepeats(), e.channel.Repeats())
}

func playerText(addr string, i int) string { return fmt.Sprintf("%s message %02d", addr, i) }
func replyText(addr string, r int) string  { return fmt.Sprintf("reply %d to %s", r, addr) }

// addressOf recovers the player address from a playerText.
func addressOf(text string) string {
	var addr string
	fmt.Sscanf(text, "%s message", &addr)
	return addr
}

func (e *env) helpdeskMessages() int {
	n := 0
	for _, tk := range e.helpdesk.Tickets() {
		n += len(tk.Messages)
	}
	return n
}

// waitTicket returns the ticket holding addr's messages once the helpdesk has created it.
func (e *env) waitTicket(ctx context.Context, addr string) (string, error) {
	for {
		for _, tk := range e.helpdesk.Tickets() {
			if len(tk.Messages) > 0 && addressOf(tk.Messages[0].Text) == addr {
				return tk.ID, nil
			}
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("no ticket for %s: %w", addr, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}
