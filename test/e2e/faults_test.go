package e2e

import (
	"context"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestHelpdeskOutageRetryAfterAndDeadLetterReplay: 500s and 429s delay delivery but lose
// nothing; a permanent rejection dead-letters the message, the admin API lists it, and
// `gateway replay` re-queues it.
func TestHelpdeskOutageRetryAfterAndDeadLetterReplay(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test builds and runs the binary")
	}
	e := newEnv(t, "  backoff_base: 100ms\n  backoff_max: 400ms\n  max_attempts: 50")
	e.start()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// 500 five times: retried with back-off, then delivered.
	e.helpdesk.FailNext(5, http.StatusInternalServerError, 0)
	require.NoError(t, e.sendPlayer(ctx, "p1", "p1-1", "p1 message 00"))
	require.Eventually(t, func() bool { return e.helpdeskMessages() == 1 }, 30*time.Second, 20*time.Millisecond)
	// The helpdesk has the message a moment before the gateway records the outcome.
	e.waitMetrics(t,
		`gateway_delivery_failures_total{instance="desk",kind="retry"} 5`,
		`gateway_messages_received_total{direction="inbound",instance="chat"} 1`,
		`gateway_messages_delivered_total{direction="inbound",instance="desk"} 1`,
		`gateway_delivery_latency_seconds_count{direction="inbound",instance="desk"} 1`,
		`gateway_queue_depth{direction="inbound"} 0`)

	// 429 with Retry-After: 1 (the shortest a header can ask): the gateway waits as asked,
	// longer than its back-off would (100ms), and counts no failed attempt.
	e.helpdesk.FailNext(1, http.StatusTooManyRequests, time.Second)
	start := time.Now()
	require.NoError(t, e.sendPlayer(ctx, "p1", "p1-2", "p1 message 01"))
	require.Eventually(t, func() bool { return e.helpdeskMessages() == 2 }, 30*time.Second, 20*time.Millisecond)
	require.GreaterOrEqual(t, time.Since(start), time.Second, "Retry-After not honoured")
	e.waitMetrics(t, `gateway_delivery_failures_total{instance="desk",kind="retry_after"} 1`)

	// A permanent rejection: dead letter, listed by the API, replayed by the CLI.
	e.helpdesk.RejectText("poison", http.StatusUnprocessableEntity)
	require.NoError(t, e.sendPlayer(ctx, "p2", "p2-1", "p2 poison pill"))
	var dead struct {
		DeadLetters []struct {
			Message struct {
				Text string `json:"text"`
			} `json:"message"`
			Error string `json:"last_error"`
		} `json:"dead_letters"`
	}
	require.Eventually(t, func() bool {
		return e.api("GET", "/api/v1/dead-letters", nil, &dead) == 200 && len(dead.DeadLetters) == 1
	}, 30*time.Second, 20*time.Millisecond)
	require.Equal(t, "p2 poison pill", dead.DeadLetters[0].Message.Text)
	require.Contains(t, dead.DeadLetters[0].Error, "422")
	require.Contains(t, e.metrics(), "gateway_dead_letters 1")

	e.helpdesk.AcceptAll()
	out, err := exec.Command(e.bin, "replay", "--config", e.configPath, "--all").CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), "re-queued 1")
	require.Eventually(t, func() bool { return e.helpdeskMessages() == 3 }, 30*time.Second, 20*time.Millisecond)
	require.Equal(t, 200, e.api("GET", "/api/v1/dead-letters", nil, &dead))
	require.Empty(t, dead.DeadLetters)
}

// TestSIGTERMDrainsAndExitsZero: a graceful stop finishes in-flight work and exits 0; what
// was acknowledged is delivered after the restart at the latest.
func TestSIGTERMDrainsAndExitsZero(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test builds and runs the binary")
	}
	e := newEnv(t, "  backoff_base: 50ms")
	e.start()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i := range 20 {
		require.NoError(t, e.sendPlayer(ctx, "p", "p-"+string(rune('a'+i)), playerText("p", i)))
	}
	require.Equal(t, 0, e.terminate())
	require.True(t, e.logs.Contains(`"msg":"gateway stopped"`))
	e.start()
	require.Eventually(t, func() bool { return e.helpdeskMessages() == 20 }, 30*time.Second, 20*time.Millisecond)
}

// TestAdminAPIRequiresToken: the admin API exposes players' messages; no token, no data.
func TestAdminAPIRequiresToken(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test builds and runs the binary")
	}
	e := newEnv(t, "  workers: 4")
	e.start()
	for _, auth := range []string{"", "Bearer wrong", "Basic " + adminToken} {
		req, _ := http.NewRequest("GET", e.base+"/api/v1/conversations", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "auth %q", auth)
	}
	resp, err := http.Get(e.base + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	resp, err = http.Post(e.base+"/hooks/nosuch", "application/json", strings.NewReader("{}"))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)

	// Malformed input is refused, and the refusal is counted per instance.
	resp, err = http.Post(e.base+"/hooks/chat", "application/json", strings.NewReader("{not json"))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	e.waitMetrics(t, `gateway_http_responses_total{code="400",instance="chat",pattern="/hooks/{instance}"} 1`)
}

// waitMetrics waits until /metrics shows every line of want.
func (e *env) waitMetrics(t *testing.T, want ...string) {
	t.Helper()
	var missing []string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		m := e.metrics()
		missing = missing[:0]
		for _, w := range want {
			if !strings.Contains(m, w) {
				missing = append(missing, w)
			}
		}
		if len(missing) == 0 {
			return
		}
	}
	t.Fatalf("metrics missing after 10s: %q", missing)
}

func (e *env) metrics() string {
	e.t.Helper()
	resp, err := http.Get(e.base + "/metrics")
	require.NoError(e.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	return string(b)
}
