package e2e

import (
	"context"
	"net/http"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestReadyzFailsWhileDraining: a replica told to stop (SIGTERM, as in a rolling upgrade)
// answers /readyz with 503 at once, so that its load balancer takes it out, yet keeps taking
// webhooks for shutdown_delay, so that what the balancer sends meanwhile is not refused by a
// closed port; then it stops cleanly.
func TestReadyzFailsWhileDraining(t *testing.T) {
	const delay = 4 * time.Second
	e := newEnv(t, "  workers: 2")
	e.addConfig("shutdown_delay: 4s\n")
	e.start()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, e.sendPlayer(ctx, "p-before", "m-before", "p-before message before the stop"))

	e.mu.Lock()
	cmd := e.cmd
	e.mu.Unlock()
	exited := make(chan error, 1)
	signalled := time.Now()
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	go func() { exited <- cmd.Wait() }()

	require.Eventually(t, func() bool {
		code, _ := e.get("/readyz")
		return code == http.StatusServiceUnavailable
	}, delay/2, 20*time.Millisecond, "/readyz turns 503 as soon as the stop begins")
	code, body := e.get("/readyz")
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Contains(t, body, "shutting down")
	code, _ = e.get("/healthz")
	require.Equal(t, http.StatusOK, code, "alive while draining: liveness must not restart it")
	require.NoError(t, e.sendPlayer(ctx, "p-during", "m-during", "p-during message sent while the balancer catches up"),
		"intake still open during shutdown_delay")
	require.Less(t, time.Since(signalled), delay, "the checks above ran inside shutdown_delay")

	select {
	case err := <-exited:
		var exit *exec.ExitError
		if err != nil {
			require.ErrorAs(t, err, &exit)
			t.Fatalf("gateway exited %d after SIGTERM", exit.ExitCode())
		}
		require.GreaterOrEqual(t, time.Since(signalled), delay, "kept serving for shutdown_delay")
	case <-time.After(delay + 30*time.Second):
		t.Fatal("gateway did not stop after shutdown_delay")
	}
	e.mu.Lock()
	e.cmd = nil
	e.mu.Unlock()
	_, err := http.Get(e.base + "/healthz")
	require.Error(t, err, "the port is closed once the gateway stopped")

	// Both messages were stored: the one taken while draining is delivered after a restart.
	e.start()
	_, err = e.waitTicket(ctx, "p-during")
	require.NoError(t, err)
}
