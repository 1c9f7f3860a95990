package main

import (
	"context"
	"runtime"
	"runtime/metrics"
	"syscall"
	"time"
)

// Go's scheduler, while a P is idle, wakes a second thread for nearly every goroutine that a
// running one readies; that thread spins, mostly finds the goroutine taken already, and sleeps
// again. A gateway carrying a few hundred messages a second passes each message between a
// dozen goroutines, and on the virtual machines of issue 16 those sleeps and wake-ups were the
// largest single cost of a paced message: GOMAXPROCS=1 took 10-26 % off its CPU, but halves
// the rate of a burst. So the gateway runs on one P while one is enough and on all of them as
// soon as it is not (docs/performance.md, thirteenth round).
//
// An operator who sets GOMAXPROCS keeps exactly that: the governor does not run. Metrics show
// the number in use as go_sched_gomaxprocs_threads.

// procsLimits are the governor's thresholds. CPU is the whole process's, user and system time,
// in CPUs: the garbage collector's counts, and so does time in system calls.
type procsLimits struct {
	// every is how often the process's CPU time and its scheduler's waits are read.
	every time.Duration
	// full is the CPU one interval on one P must use to take all Ps. On a busy host a burst
	// may get no more than 0.8 of a CPU: busy is the other way to see it.
	full float64
	// busy takes all Ps when an interval on one P used this much CPU and at least queued of
	// the goroutines made runnable in it waited a millisecond or more for the P.
	busy, queued float64
	// light is the CPU the process must use less of, on average over lightFor on all Ps, to
	// go back to one. It is lower than full by more than the extra P's wake-ups cost, and
	// above what a load that keeps one P busy needs on two, so a steady load does not flap
	// between the two.
	light    float64
	lightFor time.Duration
}

// defaultProcsLimits: at 500 paced messages a second the gateway used 0.2-0.45 of a CPU on
// one P, from a quiet host to a busy one, a few of its goroutines in a hundred waiting a
// millisecond for the P; and 0.3-0.6 on two. A burst's first interval on one P used 0.6 of a
// CPU on a busy host, with 31 % of the waits over a millisecond. The interval is short
// because a burst runs on one P until its end: 100 ms cost a burst 4 % of its rate.
var defaultProcsLimits = procsLimits{every: 50 * time.Millisecond, full: 0.8, busy: 0.5, queued: 0.1,
	light: 0.7, lightFor: 2 * time.Second}

// procsReading is what the governor reads each interval, every count since the process began.
type procsReading struct {
	cpu time.Duration
	// waits counts the scheduler's sampled waits of runnable goroutines for a P, late those of
	// a millisecond or more.
	waits, late uint64
}

// procsGovernor sets GOMAXPROCS to 1 or max from the process's CPU use and its scheduler's
// waits (see above).
type procsGovernor struct {
	limits procsLimits
	// max is the number of Ps under load: GOMAXPROCS as the runtime chose it at start.
	max  int
	read func() procsReading
	// set changes GOMAXPROCS.
	set func(int)

	procs int
	// used and spent are the CPU used and the time spent on max Ps since lightFor's window began.
	used, spent time.Duration
}

// startProcsGovernor runs the governor until ctx ends, from one P, unless GOMAXPROCS is the
// operator's or there is one CPU only; it returns at once either way.
func startProcsGovernor(ctx context.Context, env lookupEnv) {
	if _, set := env("GOMAXPROCS"); set {
		return
	}
	max := runtime.GOMAXPROCS(0)
	if max < 2 {
		return
	}
	g := &procsGovernor{limits: defaultProcsLimits, max: max, read: newProcsReader(), set: func(n int) { runtime.GOMAXPROCS(n) }}
	g.set(1)
	g.procs = 1
	go g.run(ctx)
}

// run reads every limits.every and adjusts GOMAXPROCS until ctx ends, leaving it at max.
func (g *procsGovernor) run(ctx context.Context) {
	defer func() {
		if g.procs != g.max {
			g.set(g.max)
		}
	}()
	tick := time.NewTicker(g.limits.every)
	defer tick.Stop()
	last, at := g.read(), time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			r := g.read()
			if r.cpu >= last.cpu && r.waits >= last.waits && r.late >= last.late && now.After(at) {
				if n := g.next(r.cpu-last.cpu, now.Sub(at), share(r.late-last.late, r.waits-last.waits)); n != g.procs {
					g.set(n)
					g.procs = n
				}
			} // else the system did not tell: the interval does not count
			last, at = r, now
		}
	}
}

// next is the number of Ps to run on after an interval of length spent that used used of CPU
// and in which queued of the waits for a P took a millisecond or more.
func (g *procsGovernor) next(used, spent time.Duration, queued float64) int {
	if g.procs < g.max {
		c := cpus(used, spent)
		if c >= g.limits.full || c >= g.limits.busy && queued >= g.limits.queued {
			return g.max
		}
		return g.procs
	}
	g.used += used
	g.spent += spent
	if g.spent < g.limits.lightFor {
		return g.procs
	}
	light := cpus(g.used, g.spent) < g.limits.light
	g.used, g.spent = 0, 0
	if light {
		return 1
	}
	return g.procs
}

func cpus(used, spent time.Duration) float64 { return float64(used) / float64(spent) }

func share(part, whole uint64) float64 {
	if whole == 0 {
		return 0
	}
	return float64(part) / float64(whole)
}

// newProcsReader reads the process's CPU time (getrusage) and the runtime's histogram of
// scheduling latencies; a reading the system refuses is of CPU 0, which run does not count.
func newProcsReader() func() procsReading {
	sample := []metrics.Sample{{Name: "/sched/latencies:seconds"}}
	return func() procsReading {
		var r procsReading
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
			r.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		}
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindFloat64Histogram {
			return r
		}
		h := sample[0].Value.Float64Histogram()
		for i, n := range h.Counts {
			r.waits += n
			if h.Buckets[i] >= 1e-3 { // the bucket's lower bound
				r.late += n
			}
		}
		return r
	}
}
