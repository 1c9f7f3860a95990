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
// in CPUs: the garbage collector's counts, and so does time in system calls. A wait is a
// runnable goroutine's wait for a P, as the runtime samples them; a late wait is one of
// 250 µs or more.
type procsLimits struct {
	// every is how often the process's CPU time and its scheduler's waits are read.
	every time.Duration
	// full is the CPU one interval on one P must use to take all Ps.
	full float64
	// jammed takes all Ps after one interval on one P that used jammed.cpu and in which
	// jammed.late of the waits were late: a burst on a busy host, which may get no more than
	// 0.6-0.8 of a CPU.
	jammed procsLoad
	// pressed takes all Ps after intervals in a row for pressedFor on one P that each used
	// pressed.cpu with pressed.late of the waits late: a burst whose work is mostly the
	// database's (PostgreSQL), which needs half a CPU and the second P for its latency. A
	// collection makes as many waits late for an interval or two.
	pressed    procsLoad
	pressedFor time.Duration
	// light is the CPU the process must use less of, on average over lightFor on all Ps, to
	// go back to one. It is lower than full by more than the extra P's wake-ups cost, and
	// above what a load that keeps one P busy needs on two, so a steady load does not flap
	// between the two. Each time one P did not last lightFor, the next wait is twice as long,
	// up to maxLightFor: a long burst that needs two Ps at little CPU keeps them.
	light                 float64
	lightFor, maxLightFor time.Duration
}

// procsLoad is an interval's CPU, and the share of its waits that were late.
type procsLoad struct {
	cpu, late float64
}

// at reports whether an interval that used cpu with late of its waits late is as loaded.
func (l procsLoad) at(cpu, late float64) bool { return cpu >= l.cpu && late >= l.late }

// defaultProcsLimits: at 500 paced messages a second the gateway used 0.2-0.45 of a CPU on
// one P, from a quiet host to a busy one, and 0.3-0.6 on two, with fewer than 1 % of its
// waits late on average and one interval in 20-60 with more than 5 % (a collection, two
// intervals in a row at most). A burst's first interval on one P on a busy host used 0.6 of
// a CPU with over 30 % of its waits late; a PostgreSQL burst 0.5 (0.3-0.6) with 10 % (5 % or
// more in 40 of 44 intervals). The interval is short because a burst runs on one P until the
// governor sees it: 100 ms cost a SQLite burst 4 % of its rate.
var defaultProcsLimits = procsLimits{
	every:      50 * time.Millisecond,
	full:       0.8,
	jammed:     procsLoad{cpu: 0.5, late: 0.2},
	pressed:    procsLoad{cpu: 0.3, late: 0.05},
	pressedFor: 120 * time.Millisecond, // three intervals
	light:      0.7, lightFor: 2 * time.Second, maxLightFor: time.Minute,
}

// procsReading is what the governor reads each interval, every count since the process began.
type procsReading struct {
	cpu time.Duration
	// waits counts the scheduler's sampled waits, late those of them that were late.
	waits, late uint64
}

// procsGovernor sets GOMAXPROCS to 1 or max from the process's CPU use and its scheduler's
// waits (see above).
type procsGovernor struct {
	limits procsLimits
	// max is the number of Ps under load: GOMAXPROCS as the runtime chose it at start (from
	// the CPUs and the cgroup's CPU limit). Setting GOMAXPROCS stops the runtime's own
	// updates, so a limit changed later is not followed.
	max  int
	read func() procsReading
	// set changes GOMAXPROCS.
	set func(int)

	procs int
	// On one P: how long the intervals in a row up to the last one were pressed, and how
	// long since going to one P (or maxLightFor at the start).
	pressed, onOne time.Duration
	// On max Ps: the CPU used and the time spent since the window of lightFor began.
	used, spent time.Duration
	// lightFor is the light time that goes back to one P now (limits.lightFor, or longer
	// after one P did not last).
	lightFor time.Duration
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
	g := newProcsGovernor(defaultProcsLimits, max, newProcsReader(), func(n int) { runtime.GOMAXPROCS(n) })
	go g.run(ctx)
}

// newProcsGovernor sets GOMAXPROCS to 1 and returns the governor that takes it from there.
func newProcsGovernor(limits procsLimits, max int, read func() procsReading, set func(int)) *procsGovernor {
	set(1)
	// The start is not a return to one P that did not last.
	return &procsGovernor{limits: limits, max: max, read: read, set: set, procs: 1, onOne: limits.maxLightFor,
		lightFor: limits.lightFor}
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
			if r.cpu < last.cpu || r.waits < last.waits || r.late < last.late || !now.After(at) {
				continue // the system did not tell: the next reading spans this interval too
			}
			if n := g.next(r.cpu-last.cpu, now.Sub(at), share(r.late-last.late, r.waits-last.waits)); n != g.procs {
				g.set(n)
				g.procs = n
			}
			last, at = r, now
		}
	}
}

// next is the number of Ps to run on after an interval of length spent that used used of CPU
// and in which late of the waits for a P were late.
func (g *procsGovernor) next(used, spent time.Duration, late float64) int {
	c := cpus(used, spent)
	if g.procs < g.max {
		g.onOne += spent
		g.pressed += spent
		if !g.limits.pressed.at(c, late) {
			g.pressed = 0
		}
		if c < g.limits.full && !g.limits.jammed.at(c, late) && g.pressed < g.limits.pressedFor {
			return g.procs
		}
		if g.onOne < g.lightFor {
			g.lightFor = min(2*g.lightFor, g.limits.maxLightFor)
		} else {
			g.lightFor = g.limits.lightFor
		}
		g.pressed, g.used, g.spent = 0, 0, 0
		return g.max
	}
	g.used += used
	g.spent += spent
	if g.spent < g.lightFor {
		return g.procs
	}
	light := cpus(g.used, g.spent) < g.limits.light
	g.used, g.spent = 0, 0
	if !light {
		return g.procs
	}
	g.onOne = 0
	return 1
}

func cpus(used, spent time.Duration) float64 { return float64(used) / float64(spent) }

func share(part, whole uint64) float64 {
	if whole == 0 {
		return 0
	}
	return float64(part) / float64(whole)
}

// newProcsReader reads the process's CPU time (getrusage) and the runtime's histogram of
// scheduling latencies; a reading the system refuses is of CPU 0, which run skips.
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
			if h.Buckets[i] >= 250e-6 { // the bucket's lower bound
				r.late += n
			}
		}
		return r
	}
}
