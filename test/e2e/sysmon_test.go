package e2e

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestServeRunsWithSysmonSetting checks that `serve` re-executes itself with the GODEBUG
// setting that keeps the runtime's sysmon from polling after each idle period
// (cmd/gateway/sysmon.go): the process keeps its PID, keeps the operator's other settings,
// serves and stops on SIGTERM as before; one that names schedtrace itself is left alone.
func TestServeRunsWithSysmonSetting(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test builds and runs the binary")
	}
	environ := func(e *env) string {
		e.mu.Lock()
		pid := e.cmd.Process.Pid
		e.mu.Unlock()
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		require.NoError(t, err)
		for _, kv := range strings.Split(string(b), "\x00") {
			if v, ok := strings.CutPrefix(kv, "GODEBUG="); ok {
				return v
			}
		}
		return ""
	}

	t.Setenv("GODEBUG", "madvdontneed=1")
	e := newEnv(t, "  workers: 2")
	e.start()
	require.Equal(t, "madvdontneed=1,schedtrace=2147483647", environ(e))
	require.Equal(t, 0, e.terminate())
	require.NotContains(t, e.logs.String(), "running without GODEBUG")

	t.Setenv("GODEBUG", "schedtrace=0")
	e.start()
	require.Equal(t, "schedtrace=0", environ(e))
	require.Equal(t, 0, e.terminate())
}
