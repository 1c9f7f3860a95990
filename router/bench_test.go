package router_test

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router"
)

// BenchmarkDeliver measures durable intake (synchronous=FULL, one fsync per group commit):
// serially, and from 32 concurrent producers whose writes share commits.
func BenchmarkDeliver(b *testing.B) {
	for _, producers := range []int{1, 32} {
		b.Run(fmt.Sprintf("producers=%d", producers), func(b *testing.B) {
			f := newFixtureRun(b, router.Options{}, false) // no delivery workers: intake alone
			var n atomic.Int64
			b.ResetTimer()
			if producers == 1 {
				for i := 0; b.Loop(); i++ {
					if err := f.r.Deliver(f.ctx, inbound(fmt.Sprintf("p%d", i%50), i)); err != nil {
						b.Fatal(err)
					}
				}
			} else {
				b.SetParallelism(producers / max(1, runtimeProcs()))
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						i := int(n.Add(1))
						if err := f.r.Deliver(f.ctx, inbound(fmt.Sprintf("p%d", i%50), i)); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// BenchmarkDeliverBatch measures intake of batches of 100, as a Telegram getUpdates
// response or an IMAP fetch hands them over: one commit per batch.
func BenchmarkDeliverBatch(b *testing.B) {
	f := newFixtureRun(b, router.Options{}, false)
	batch := make([]normalize.Message, 100)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		for j := range batch {
			batch[j] = inbound(fmt.Sprintf("p%d", j%50), i*100+j)
		}
		if err := f.r.Deliver(f.ctx, batch...); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkFullLoop measures intake through delivery to a helpdesk: b.N messages over 50
// conversations from 32 producers, timed until the helpdesk holds all of them.
func BenchmarkFullLoop(b *testing.B) {
	f := newFixture(b, router.Options{})
	var n atomic.Int64
	b.SetParallelism(32 / max(1, runtimeProcs()))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(n.Add(1))
			if err := f.r.Deliver(f.ctx, inbound(fmt.Sprintf("p%d", i%50), i)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	for f.hd.count() < int(n.Load()) {
		time.Sleep(time.Millisecond)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

func (h *memHelpdesk) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	total := 0
	for _, ids := range h.tickets {
		total += len(ids)
	}
	return total
}

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }
