package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/test/loopback"
)

// TestMetadataAndSLAReachTheHelpdesk: what the helpdesk should know travels in order with the
// messages through the binary. A player who turns out to be a German-speaking VIP gets an
// update before their message; a player left waiting past the target gets one more, once,
// even across a SIGKILL; an agent's answer stops the clock.
func TestMetadataAndSLAReachTheHelpdesk(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test builds and runs the binary")
	}
	e := newEnv(t, "  backoff_base: 100ms")
	// The target is short: both messages are stored in one request, before any clock can run
	// out, and the breach is queued behind them whenever it comes.
	e.addConfig("sla:\n  first_response: {chat: 300ms}\n")
	e.start()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	require.NoError(t, e.sendAs(ctx, loopback.PlayerMessage{ID: "p1-1", Address: "p1", Text: "p1 message 00"},
		loopback.PlayerMessage{ID: "p1-2", Address: "p1", Text: "p1 message 01", Language: "de", VIP: 2}))
	ticket, err := e.waitTicket(ctx, "p1")
	require.NoError(t, err)

	posted := e.waitPosted(t, ticket, 4) // opening, update, message, SLA breach
	require.Equal(t, "p1 message 00", posted[0].Text)
	require.Equal(t, "system", posted[1].Kind)
	require.Equal(t, "Conversation updated: language de; VIP tier 2; priority high.", posted[1].Text)
	require.Equal(t, "p1 message 01", posted[2].Text)
	require.Equal(t, "system", posted[3].Kind)
	require.Contains(t, posted[3].Text, "first-response target missed")
	e.waitMetrics(t, `gateway_sla_breaches_total{channel="chat"} 1`)

	conv := e.conversationOf(t, ticket)
	require.Equal(t, "de", conv.Language)
	require.Equal(t, normalize.PriorityHigh, conv.Priority)
	require.Equal(t, 2, conv.Player.VIPTier)
	require.Equal(t, normalize.SLABreached, conv.SLA.State())

	// A breach is reported once, also by the next process, whose SLA watcher looks for
	// breaches as soon as it starts.
	e.kill()
	e.start()
	time.Sleep(300 * time.Millisecond)
	require.Len(t, e.postedTo(ticket), 4, "no second report of the same wait")

	require.NoError(t, e.agentReply(ctx, ticket, "r-1", "Hallo!"))
	require.Eventually(t, func() bool { return e.conversationOf(t, ticket).SLA.State() == normalize.SLANone }, 30*time.Second, 20*time.Millisecond,
		"an agent's answer stops the clock")
}

// addConfig appends top-level keys to the configuration file.
func (e *env) addConfig(yaml string) {
	e.t.Helper()
	f, err := os.OpenFile(e.configPath, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(e.t, err)
	defer f.Close()
	_, err = f.WriteString(yaml)
	require.NoError(e.t, err)
}

// sendAs posts player messages as given, in one request, until the gateway acknowledges them.
func (e *env) sendAs(ctx context.Context, msgs ...loopback.PlayerMessage) error {
	body, _ := json.Marshal(loopback.Inbound{Messages: msgs})
	return retry(ctx, func() error {
		resp, err := http.Post(e.base+"/hooks/chat", "application/json", bytes.NewReader(body))
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("hook answered %d", resp.StatusCode)
		}
		return nil
	})
}

func (e *env) postedTo(ticket string) []loopback.Posted {
	for _, tk := range e.helpdesk.Tickets() {
		if tk.ID == ticket {
			return tk.Messages
		}
	}
	return nil
}

// waitPosted waits until ticket holds n messages and returns them.
func (e *env) waitPosted(t *testing.T, ticket string, n int) []loopback.Posted {
	t.Helper()
	require.Eventually(t, func() bool { return len(e.postedTo(ticket)) >= n }, 30*time.Second, 20*time.Millisecond,
		"ticket %s has %d messages, want %d", ticket, len(e.postedTo(ticket)), n)
	return e.postedTo(ticket)
}

// conversationOf reads the conversation of ticket from the admin API.
func (e *env) conversationOf(t *testing.T, ticket string) normalize.Conversation {
	t.Helper()
	// The helpdesk has the ticket as soon as its Post returned; the gateway records the
	// ticket's reference on the conversation a moment later.
	var found normalize.Conversation
	var seen int
	ok := assert.Eventually(t, func() bool {
		var list struct {
			Conversations []normalize.Conversation `json:"conversations"`
		}
		if e.api("GET", "/api/v1/conversations", nil, &list) != http.StatusOK {
			return false
		}
		seen = len(list.Conversations)
		for _, c := range list.Conversations {
			if string(c.Ticket) == ticket {
				found = c
				return true
			}
		}
		return false
	}, 30*time.Second, 20*time.Millisecond)
	if !ok {
		t.Fatalf("no conversation with ticket %s among %d", ticket, seen)
	}
	return found
}
