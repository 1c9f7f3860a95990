package main

import (
	"context"
	"runtime"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

// interval is one of the governor's readings: CPU used over limits.every, and the share of
// waits for a P that were late.
type interval struct {
	cpus, late float64
}

func TestProcsGovernorNext(t *testing.T) {
	tick := defaultProcsLimits.every
	light := int(defaultProcsLimits.lightFor / tick)
	repeat := func(n int, i interval) []interval { return slices.Repeat([]interval{i}, n) }
	fill := func(n, procs int) []int { return slices.Repeat([]int{procs}, n) }
	tests := []struct {
		name  string
		from  int
		steps []interval
		want  []int // the Ps after each step; the last one repeats
	}{
		{"a burst fills the one P", 1, []interval{{0.85, 0}}, []int{2}},
		{"a burst on a busy host: less CPU, but many late waits", 1, []interval{{0.6, 0.31}}, []int{2}},
		{"paced: the P is mostly free", 1, repeat(50, interval{0.45, 0.01}), []int{1}},
		{"a collection's late waits in one interval stay on one P", 1, []interval{{0.39, 0.18}, {0.4, 0.01}, {0.42, 0.06}, {0.4, 0}}, []int{1}},
		{"much CPU but few late waits stays on one P", 1, []interval{{0.7, 0.04}}, []int{1}},
		{"a database's burst: half a CPU, late waits for three intervals in a row", 1, []interval{{0.5, 0.1}, {0.45, 0.07}, {0.5, 0.06}}, []int{1, 1, 2}},
		{"late waits twice in a row, a collection, stay on one P", 1, []interval{{0.35, 0.07}, {0.37, 0.12}, {0.4, 0.01}, {0.33, 0.3}, {0.4, 0.05}, {0.4, 0}}, []int{1}},
		{"late waits at little CPU stay on one P", 1, repeat(10, interval{0.2, 0.3}), []int{1}},
		{"light on two Ps goes back to one after lightFor", 2, repeat(light, interval{0.5, 0}), append(fill(light-1, 2), 1)},
		{"a load that needs two Ps keeps them", 2, repeat(3*light, interval{0.9, 0}), []int{2}},
		{"the average decides, not one quiet interval", 2, slices.Concat(repeat(light/2, interval{1.2, 0}), repeat(light/2, interval{0.3, 0})), []int{2}},
		{"one P that did not last: two Ps for twice as long", 2,
			slices.Concat(repeat(light, interval{0.5, 0}), repeat(3, interval{0.5, 0.1}), repeat(2*light, interval{0.5, 0})),
			slices.Concat(fill(light-1, 2), []int{1, 1, 1, 2}, fill(2*light-1, 2), []int{1})},
		{"one P that lasted: back to lightFor", 2,
			slices.Concat(repeat(light, interval{0.5, 0}), repeat(3, interval{0.5, 0.1}), repeat(2*light, interval{0.5, 0}),
				repeat(2*light, interval{0.1, 0}), []interval{{0.9, 0}}, repeat(light, interval{0.5, 0})),
			slices.Concat(fill(light-1, 2), []int{1, 1, 1, 2}, fill(2*light-1, 2), []int{1}, fill(2*light, 1), []int{2}, fill(light-1, 2), []int{1})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var procs []int
			g := newProcsGovernor(defaultProcsLimits, 2, nil, func(n int) { procs = append(procs, n) })
			g.procs = tt.from
			for i, s := range tt.steps {
				g.procs = g.next(time.Duration(s.cpus*float64(tick)), tick, s.late)
				want := tt.want[min(i, len(tt.want)-1)]
				require.Equal(t, want, g.procs, "after step %d (%+v)", i, s)
			}
			require.Equal(t, []int{1}, procs, "the governor starts on one P")
		})
	}
}

// fakeProcs is the process as the governor's run sees it: readings the test moves on, and the
// GOMAXPROCS it was set to.
type fakeProcs struct {
	mu    sync.Mutex
	now   procsReading
	procs []int
}

func (f *fakeProcs) read() procsReading {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeProcs) set(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.procs = append(f.procs, n)
}

// use adds an interval's worth of CPU and waits to the readings.
func (f *fakeProcs) use(cpu time.Duration, waits, late uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now.cpu += cpu
	f.now.waits += waits
	f.now.late += late
}

func (f *fakeProcs) sets() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int(nil), f.procs...)
}

func TestProcsGovernorRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeProcs{}
		g := newProcsGovernor(defaultProcsLimits, 2, f.read, f.set)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { defer close(done); g.run(ctx) }()
		every := defaultProcsLimits.every

		// Light: one P is enough.
		for range 10 {
			f.use(every/4, 100, 1)
			time.Sleep(every)
		}
		require.Equal(t, []int{1}, f.sets(), "the governor starts on one P")

		// A burst: all Ps after its first interval.
		f.use(every*9/10, 300, 100)
		time.Sleep(every)
		synctest.Wait()
		require.Equal(t, []int{1, 2}, f.sets())

		// The burst goes on, then ends: one P once it has been light for lightFor.
		for range 5 {
			f.use(every*19/10, 400, 10)
			time.Sleep(every)
		}
		for range int(defaultProcsLimits.lightFor/every) - 1 {
			f.use(every/10, 50, 0)
			time.Sleep(every)
		}
		synctest.Wait()
		require.Equal(t, []int{1, 2, 1}, f.sets())

		// A reading the system refused (CPU 0) counts as neither light nor busy, and the next
		// one spans both intervals: 0.1 of a CPU, not all the CPU the process ever used.
		f.mu.Lock()
		before := f.now.cpu
		f.now.cpu = 0
		f.mu.Unlock()
		time.Sleep(every)
		synctest.Wait()
		f.mu.Lock()
		f.now.cpu = before + every/5
		f.mu.Unlock()
		time.Sleep(every)
		synctest.Wait()
		require.Equal(t, []int{1, 2, 1}, f.sets())

		// Stopping leaves all Ps.
		cancel()
		<-done
		require.Equal(t, []int{1, 2, 1, 2}, f.sets())
	})
}

func TestProcsGovernorLeavesTheOperatorsSetting(t *testing.T) {
	before := runtime.GOMAXPROCS(0)
	startProcsGovernor(t.Context(), func(k string) (string, bool) {
		if k == "GOMAXPROCS" {
			return "2", true
		}
		return "", false
	})
	require.Equal(t, before, runtime.GOMAXPROCS(0))
}

func TestProcsReaderReadsTheProcess(t *testing.T) {
	read := newProcsReader()
	first := read()
	deadline := time.Now().Add(50 * time.Millisecond)
	for time.Now().Before(deadline) { // spend CPU, and let the scheduler sample waits
		runtime.Gosched()
	}
	second := read()
	require.Greater(t, second.cpu, first.cpu)
	require.GreaterOrEqual(t, second.waits, first.waits)
	require.GreaterOrEqual(t, second.waits, second.late)
}
