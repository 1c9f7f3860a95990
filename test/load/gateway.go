package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/casino-support/gateway/test/gatewayproc"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat: 100 on every Linux
// architecture Go builds for.
const clockTicks = 100

// usage is what the gateway's processes used, summed (CPU) or at most (memory) across
// restarts.
type usage struct {
	cpu      time.Duration
	peakRSSk int64 // VmHWM, kB
	// peakAnonk is the largest RssAnon sampled, kB: the process's own memory. VmHWM also
	// counts the pages of the 180 MB executable that happen to be resident (see
	// evictFromPageCache).
	peakAnonk int64
	starts    int
}

// gateway runs the binary with one configuration, restarting it on demand, and samples the
// running process's /proc entries.
type gateway struct {
	bin, configPath, base string
	log                   io.Writer

	mu      sync.Mutex
	cmd     *exec.Cmd
	current usage // of the running process, from its last sample
	done    usage // of the processes that ended
	stop    chan struct{}
}

func newGateway(bin, configPath string, port int, log io.Writer) *gateway {
	return &gateway{bin: bin, configPath: configPath, base: fmt.Sprintf("http://127.0.0.1:%d", port), log: log}
}

// start runs the gateway and waits until /readyz answers 200.
func (g *gateway) start(ctx context.Context) error {
	if err := evictFromPageCache(g.bin); err != nil {
		return err
	}
	cmd := exec.Command(g.bin, "serve", "--config", g.configPath)
	cmd.Stdout, cmd.Stderr = g.log, g.log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start gateway: %w", err)
	}
	stop := make(chan struct{})
	g.mu.Lock()
	g.cmd, g.stop, g.current = cmd, stop, usage{}
	g.done.starts++
	g.mu.Unlock()
	go g.sample(cmd.Process.Pid, stop)
	return gatewayproc.WaitReady(ctx, g.base)
}

// evictFromPageCache drops the executable's pages from the page cache, so that every start
// faults them in from the disk alike. VmHWM counts the executable's resident pages, and a
// page fault maps the pages around it that happen to be cached: a binary just built or just
// run (all of it cached) showed 5 MB more of them at a burst's peak, 32-33 MB against 27-28,
// than the same binary read from the disk.
func evictFromPageCache(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("evict the gateway from the page cache: %w", err)
	}
	defer f.Close()
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		return fmt.Errorf("evict %s from the page cache: %w", path, err)
	}
	return nil
}

// sample reads the process's usage every 100 ms until stop closes, so a process that dies
// on its own still leaves its figures.
func (g *gateway) sample(pid int, stop chan struct{}) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		g.sampleOnce(pid)
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}

func (g *gateway) sampleOnce(pid int) {
	u, err := readUsage(pid)
	if err != nil {
		return // the process is gone; its last sample stands
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.cmd != nil && g.cmd.Process.Pid == pid {
		u.peakAnonk = max(u.peakAnonk, g.current.peakAnonk)
		g.current = u
	}
}

// kill ends the running gateway with SIGKILL (no shutdown code runs), after a last sample.
func (g *gateway) kill() { g.end(os.Kill) }

// terminate ends the running gateway with SIGTERM, as an operator stops it.
func (g *gateway) terminate() { g.end(os.Interrupt) }

func (g *gateway) end(sig os.Signal) {
	g.mu.Lock()
	cmd := g.cmd
	g.mu.Unlock()
	if cmd == nil {
		return
	}
	g.sampleOnce(cmd.Process.Pid)
	_ = cmd.Process.Signal(sig)
	_ = cmd.Wait()
	g.mu.Lock()
	defer g.mu.Unlock()
	close(g.stop)
	g.done.cpu += g.current.cpu
	g.done.peakRSSk = max(g.done.peakRSSk, g.current.peakRSSk)
	g.done.peakAnonk = max(g.done.peakAnonk, g.current.peakAnonk)
	g.cmd, g.current = nil, usage{}
}

// forgetEnded drops the figures of the processes that ended, so that the running one and
// those after it (a run after seeding) are measured alone.
func (g *gateway) forgetEnded() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.done = usage{starts: 1}
}

// pid is the running process's ID, 0 when none runs.
func (g *gateway) pid() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.cmd == nil {
		return 0
	}
	return g.cmd.Process.Pid
}

// usage sums the ended processes and the running one's last sample.
func (g *gateway) usage() usage {
	g.mu.Lock()
	defer g.mu.Unlock()
	u := g.done
	u.cpu += g.current.cpu
	u.peakRSSk = max(u.peakRSSk, g.current.peakRSSk)
	u.peakAnonk = max(u.peakAnonk, g.current.peakAnonk)
	return u
}

// readUsage reads a process's CPU time so far and its peak resident set.
func readUsage(pid int) (usage, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return usage{}, err
	}
	cpu, err := parseStatCPU(string(stat))
	if err != nil {
		return usage{}, err
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return usage{}, err
	}
	hwm, err := statusKB(string(status), "VmHWM")
	if err != nil {
		return usage{}, err
	}
	anon, err := statusKB(string(status), "RssAnon")
	if err != nil {
		return usage{}, err
	}
	return usage{cpu: cpu, peakRSSk: hwm, peakAnonk: anon}, nil
}

// parseStatCPU returns utime+stime of a /proc/PID/stat line (proc(5): fields 14 and 15).
func parseStatCPU(stat string) (time.Duration, error) {
	st, err := parseStat(stat)
	return st.own, err
}

// procStat is what the load command reads of a /proc/PID/stat line.
type procStat struct {
	ppid int
	// own is the process's utime+stime, reaped its waited-for children's cutime+cstime.
	own, reaped time.Duration
}

// parseStat reads a /proc/PID/stat line (proc(5): ppid is field 4, utime, stime, cutime and
// cstime fields 14 to 17). The command name in parentheses may hold spaces, so fields are
// counted after its last ')'.
func parseStat(stat string) (procStat, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return procStat{}, errors.New("stat: no command name")
	}
	f := strings.Fields(stat[i+1:]) // field 3 (state) is f[0]
	if len(f) < 15 {
		return procStat{}, fmt.Errorf("stat: %d fields after the command name", len(f))
	}
	var n [5]int64
	for j, s := range []string{f[1], f[11], f[12], f[13], f[14]} {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return procStat{}, fmt.Errorf("stat: field %q: %w", s, err)
		}
		n[j] = v
	}
	ticks := func(t int64) time.Duration { return time.Duration(t) * time.Second / clockTicks }
	return procStat{ppid: int(n[0]), own: ticks(n[1] + n[2]), reaped: ticks(n[3] + n[4])}, nil
}

// statusKB returns the field of /proc/PID/status named name, in kB: VmHWM is the peak
// resident set, RssAnon the anonymous memory resident now.
func statusKB(status, name string) (int64, error) {
	for line := range strings.Lines(status) {
		rest, ok := strings.CutPrefix(line, name+":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("status: %s %q", name, strings.TrimSpace(rest))
		}
		return strconv.ParseInt(f[0], 10, 64)
	}
	return 0, fmt.Errorf("status: no %s", name)
}
