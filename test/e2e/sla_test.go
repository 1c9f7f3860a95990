package e2e

import (
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/escalation"
	"github.com/casino-support/gateway/test/escalationfake"
	"github.com/casino-support/gateway/test/loopback"
)

// TestSLAStagesThroughTheBinary: a player left waiting on a chat goes near-breach, then
// breached, each raising the priority, tagging the conversation, telling the helpdesk and
// calling the signed escalation webhook once; the late answer counts as a breached first
// response. A case a route flags complex goes to the senior group once its time is out.
func TestSLAStagesThroughTheBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test builds and runs the binary")
	}
	const secret = "escalation-secret-of-16+"
	rc := escalationfake.New(secret)
	escSrv := httptest.NewServer(rc)
	t.Cleanup(escSrv.Close)
	e := newEnv(t, "  backoff_base: 100ms")
	e.addConfig(fmt.Sprintf("escalation:\n  url: %s\n  secret: %q\n", escSrv.URL, secret) +
		"sla:\n  first_response: {chat: 2s}\n  near_breach: 50%\n  near_breach_priority: high\n  breach_priority: urgent\n" +
		"  complex: {after: 3s, group: senior}\n" +
		"routes:\n  - match: {keywords: [chargeback]}\n    helpdesk: desk\n    group: payments\n    complex: true\n")
	e.start()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	require.NoError(t, e.sendAs(ctx, loopback.PlayerMessage{ID: "s1-1", Address: "s1", Text: "s1 message 00"}))
	ticket, err := e.waitTicket(ctx, "s1")
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(rc.Taken()) >= 2 }, time.Minute, 20*time.Millisecond)
	got := rc.Taken()
	require.Equal(t, "sla_near_breach", got[0].Reason)
	require.Equal(t, "sla_breach", got[1].Reason)
	require.Equal(t, got[0].Conversation, got[1].Conversation)
	require.Empty(t, rc.Errors(), "every call was signed with the configured secret")
	conv := e.conversationOf(t, ticket)
	require.Equal(t, normalize.SLABreached, conv.SLA.State())
	require.Equal(t, normalize.PriorityUrgent, conv.Priority)
	require.Equal(t, []string{"sla-near-breach", "sla-breached"}, conv.Tags)
	posted := e.waitPosted(t, ticket, 3)
	require.Contains(t, posted[1].Text, "first-response target near")
	require.Contains(t, posted[2].Text, "first-response target missed")

	require.NoError(t, e.agentReply(ctx, ticket, "sla-r-1", "Sorry for the wait"))
	e.waitMetrics(t, `gateway_sla_responses_total{class="chat",response="first",result="breached",tier="standard"} 1`,
		`gateway_sla_near_breaches_total{class="chat"} 1`)

	require.NoError(t, e.sendAs(ctx, loopback.PlayerMessage{ID: "s2-1", Address: "s2", Text: "s2 message 00: my chargeback"}))
	complexTicket, err := e.waitTicket(ctx, "s2")
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		return slices.ContainsFunc(rc.Taken(), func(x escalation.Escalation) bool { return x.Reason == "complex" })
	}, time.Minute, 20*time.Millisecond)
	require.Eventually(t, func() bool {
		return slices.Contains(e.conversationOf(t, complexTicket).Tags, "group:senior")
	}, 30*time.Second, 20*time.Millisecond)
	c := e.conversationOf(t, complexTicket)
	require.NotContains(t, c.Tags, "group:payments", "the senior group replaces the route's")
	require.Contains(t, c.Tags, "complex")
	e.waitMetrics(t, "gateway_complex_escalations_total 1")
}
