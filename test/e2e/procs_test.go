package e2e

import (
	"os"
	"runtime"
	"testing"
)

// TestIdleGatewayRunsOnOneProcessor checks that the binary runs its GOMAXPROCS governor
// (cmd/gateway/procs.go): a gateway with nothing to do runs its Go code on one P.
func TestIdleGatewayRunsOnOneProcessor(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test builds and runs the binary")
	}
	if runtime.NumCPU() < 2 {
		t.Skip("one CPU: the gateway runs on one P with or without the governor")
	}
	if _, set := os.LookupEnv("GOMAXPROCS"); set {
		t.Skip("GOMAXPROCS is set, and the gateway keeps it")
	}
	e := (&env{}).configure(t, `channels:
  - name: web
    type: webchat
helpdesks:
  - name: inbox
    type: inbox
default_helpdesk: inbox
`)
	e.start()
	e.waitMetrics(t, "go_sched_gomaxprocs_threads 1\n")
}
