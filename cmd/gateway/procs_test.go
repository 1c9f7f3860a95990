package main

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

// interval is one of the governor's readings: CPU used over limits.every, and the share of
// waits for a P that took a millisecond or more.
type interval struct {
	cpus, queued float64
}

func TestProcsGovernorNext(t *testing.T) {
	tick := defaultProcsLimits.every
	light := int(defaultProcsLimits.lightFor / tick)
	repeat := func(n int, i interval) []interval {
		out := make([]interval, n)
		for k := range out {
			out[k] = i
		}
		return out
	}
	tests := []struct {
		name  string
		from  int
		steps []interval
		want  []int // the Ps after each step; the last one repeats
	}{
		{"a burst fills the one P", 1, []interval{{0.85, 0}}, []int{2}},
		{"a burst on a busy host: less CPU, but goroutines wait for the P", 1, []interval{{0.6, 0.31}}, []int{2}},
		{"paced: the P is mostly free", 1, repeat(50, interval{0.45, 0.01}), []int{1}},
		{"a collection's waits at low CPU stay on one P", 1, []interval{{0.39, 0.14}}, []int{1}},
		{"much CPU but few waits stays on one P", 1, []interval{{0.7, 0.05}}, []int{1}},
		{"light on two Ps goes back to one after lightFor", 2, repeat(light, interval{0.5, 0}), append(fill(light-1, 2), 1)},
		{"a load that needs two Ps keeps them", 2, repeat(3*light, interval{0.9, 0}), []int{2}},
		{"the average decides, not one quiet interval", 2, append(repeat(light/2, interval{1.2, 0}), repeat(light/2, interval{0.3, 0})...), []int{2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := &procsGovernor{limits: defaultProcsLimits, max: 2, procs: tt.from}
			for i, s := range tt.steps {
				g.procs = g.next(time.Duration(s.cpus*float64(tick)), tick, s.queued)
				want := tt.want[min(i, len(tt.want)-1)]
				require.Equal(t, want, g.procs, "after step %d (%+v)", i, s)
			}
		})
	}
}

func fill(n, v int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = v
	}
	return out
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
		g := &procsGovernor{limits: defaultProcsLimits, max: 2, read: f.read, set: f.set, procs: 1}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { defer close(done); g.run(ctx) }()
		every := defaultProcsLimits.every

		// Light: one P is enough.
		for range 10 {
			f.use(every/4, 100, 1)
			time.Sleep(every)
		}
		require.Empty(t, f.sets())

		// A burst: all Ps after its first interval.
		f.use(every*9/10, 300, 100)
		time.Sleep(every)
		synctest.Wait()
		require.Equal(t, []int{2}, f.sets())

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
		require.Equal(t, []int{2, 1}, f.sets())

		// A reading the system refused (CPU going back) does not count as light or busy.
		f.mu.Lock()
		f.now.cpu = 0
		f.mu.Unlock()
		time.Sleep(every)
		synctest.Wait()
		require.Equal(t, []int{2, 1}, f.sets())

		// Stopping leaves all Ps.
		cancel()
		<-done
		require.Equal(t, []int{2, 1, 2}, f.sets())
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
