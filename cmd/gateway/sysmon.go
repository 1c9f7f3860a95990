package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
)

// The Go runtime's monitor thread (sysmon) sleeps deeply while every P is idle, and any
// system call wakes it into polling every 20 µs for a millisecond or more before it backs off
// again (golang/go#18236). A gateway carrying a few hundred messages a second goes idle and
// wakes for every message, so sysmon never leaves its shortest sleeps: on the 2-CPU machines
// of issue 16 its nanosleeps were half of the process's 30 context switches per message, and
// 12 % of its CPU at 500 messages/s.
//
// With GODEBUG's schedtrace set, sysmon never sleeps deeply and backs off to its longest
// sleep, 10 ms, unless it has work. schedtrace's own purpose, a line of scheduler state on
// stderr every N ms, is kept out of the way by the largest N the runtime takes: about 24.8
// days, counted from the host's boot (a host up longer prints one line at start, then one
// every 24.8 days; a fatal error also prints the scheduler's state). Measured side by side
// (docs/performance.md, tenth round): paced CPU per message 12-21 % lower, tails shorter,
// bursts no slower; an idle gateway spends about 5 ms of CPU a second more, 100 wake-ups.
//
// GODEBUG is read once, before any Go code runs, so `serve` re-executes itself with it. A
// GODEBUG that names schedtrace already (schedtrace=0 turns this off) is left as it is.
const sysmonSetting = "schedtrace=2147483647"

// sysmonEnv returns env with sysmonSetting added to GODEBUG, and false when env names
// schedtrace already.
func sysmonEnv(env []string) ([]string, bool) {
	out := make([]string, 0, len(env)+1)
	found := false
	for _, kv := range env {
		v, ok := strings.CutPrefix(kv, "GODEBUG=")
		if !ok {
			out = append(out, kv)
			continue
		}
		for _, setting := range strings.Split(v, ",") {
			if strings.HasPrefix(setting, "schedtrace=") {
				return env, false
			}
		}
		found = true
		if v != "" {
			v += ","
		}
		out = append(out, "GODEBUG="+v+sysmonSetting)
	}
	if !found {
		out = append(out, "GODEBUG="+sysmonSetting)
	}
	return out, true
}

// reexecForSysmon re-executes the running binary with sysmonSetting (see above) and returns
// only when it does not: the setting is there already, or the exec failed, which it reports
// on stderr; the gateway then runs as it would without it.
func reexecForSysmon(stderr io.Writer) {
	env, change := sysmonEnv(os.Environ())
	if !change {
		return
	}
	self, err := os.Executable()
	if err != nil && strings.Contains(os.Args[0], "/") {
		// No /proc (a bare chroot): the path it was started by does as well.
		self, err = os.Args[0], nil
	}
	if err == nil {
		err = syscall.Exec(self, os.Args, env)
	}
	fmt.Fprintf(stderr, "gateway: running without GODEBUG=%s (re-executing failed: %v)\n", sysmonSetting, err)
}
