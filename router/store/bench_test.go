package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/store"
	"github.com/casino-support/gateway/router/store/pgtest"
)

// The store's two dialects side by side (docs/postgres.md has the numbers): durable intake
// from concurrent producers and in batches, and the delivery queue's claim/complete cycle.
// SQLite runs with synchronous=FULL, PostgreSQL with its default synchronous_commit=on: both
// flush every commit to disk.

var benchDialects = []struct {
	name string
	open func(b *testing.B) *store.Store
}{
	{"sqlite", func(b *testing.B) *store.Store {
		st, err := store.OpenSQLite(b.Context(), filepath.Join(b.TempDir(), "gw.db"), store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		return st
	}},
	{"postgres", func(b *testing.B) *store.Store {
		st, err := store.OpenPostgres(b.Context(), pgtest.DSN(b), store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		return st
	}},
}

// BenchmarkIntake: one message per call from 32 concurrent producers (webhooks), whose
// writes the group commit gathers into shared transactions.
func BenchmarkIntake(b *testing.B) {
	for _, d := range benchDialects {
		b.Run(d.name, func(b *testing.B) {
			st := d.open(b)
			var n atomic.Int64
			b.SetParallelism(32)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					if _, err := st.Intake(context.Background(), []normalize.Message{inbound(fmt.Sprintf("p%d", i%200), fmt.Sprintf("m%d", i))}, assess); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkIntakeBatch: batches of 100, as a Telegram getUpdates response hands them over.
func BenchmarkIntakeBatch(b *testing.B) {
	for _, d := range benchDialects {
		b.Run(d.name, func(b *testing.B) {
			st := d.open(b)
			batch := make([]normalize.Message, 100)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for j := range batch {
					batch[j] = inbound(fmt.Sprintf("p%d", j%50), fmt.Sprintf("m%d-%d", i, j))
				}
				if _, err := st.Intake(context.Background(), batch, assess); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkClaimComplete: 8 workers claim one lane at a time (up to 20 messages) and
// record it delivered (claims/s counts the claims that found a lane), until b.N queued messages in 500 conversations are all delivered;
// the first claim of a conversation hands out its opening message alone, as in production.
func BenchmarkClaimComplete(b *testing.B) {
	for _, d := range benchDialects {
		b.Run(d.name, func(b *testing.B) {
			st := d.open(b)
			ctx := context.Background()
			const chunk = 500
			for i := 0; i < b.N; i += chunk {
				msgs := make([]normalize.Message, 0, chunk)
				for j := i; j < min(i+chunk, b.N); j++ {
					msgs = append(msgs, inbound(fmt.Sprintf("p%d", j%500), fmt.Sprintf("m%d", j)))
				}
				if _, err := st.Intake(ctx, msgs, assess); err != nil {
					b.Fatal(err)
				}
			}
			var delivered, claims atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			for w := range 8 {
				wg.Go(func() {
					owner := fmt.Sprintf("w%d", w)
					for delivered.Load() < int64(b.N) {
						lanes, err := st.Claim(ctx, owner, store.Budget{Inbound: 1}, 20, time.Minute)
						if err != nil {
							b.Error(err)
							return
						}
						claims.Add(int64(len(lanes)))
						for _, l := range lanes {
							o := store.Outcome{Conversation: l.Conversation.ID, Direction: l.Direction, Owner: owner, Token: l.Token,
								Target: "desk", Ticket: normalize.Ref("T-" + string(l.Conversation.ID))}
							for _, p := range l.Pending {
								o.Delivered = append(o.Delivered, store.Delivered{Seq: p.Seq, ID: p.Message.ID, TargetID: normalize.ExternalID("hd-" + string(p.Message.ID))})
							}
							if err := st.Complete(ctx, o); err != nil {
								b.Error(err)
								return
							}
							delivered.Add(int64(len(o.Delivered)))
						}
					}
				})
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			b.ReportMetric(float64(claims.Load())/b.Elapsed().Seconds(), "claims/s")
		})
	}
}

// BenchmarkClaimNothingDue: a claim when every lane is idle or leased, as most of the router's
// claims at a steady message rate are (it claims after each intake and each finished lane);
// 200 conversations, 16 of them leased, the rest delivered.
func BenchmarkClaimNothingDue(b *testing.B) {
	for _, d := range benchDialects {
		b.Run(d.name, func(b *testing.B) {
			st := d.open(b)
			ctx := context.Background()
			msgs := make([]normalize.Message, 0, 200)
			for i := range 200 {
				msgs = append(msgs, inbound(fmt.Sprintf("p%d", i), fmt.Sprintf("m%d", i)))
			}
			if _, err := st.Intake(ctx, msgs, assess); err != nil {
				b.Fatal(err)
			}
			held := 0
			for {
				lanes, err := st.Claim(ctx, "w", store.Budget{Inbound: 50}, 20, time.Hour)
				if err != nil {
					b.Fatal(err)
				}
				if len(lanes) == 0 {
					break
				}
				for _, l := range lanes {
					if held < 16 {
						held++ // stays leased: due, but not claimable
						continue
					}
					o := store.Outcome{Conversation: l.Conversation.ID, Direction: l.Direction, Owner: "w", Token: l.Token, Target: "desk"}
					for _, p := range l.Pending {
						o.Delivered = append(o.Delivered, store.Delivered{Seq: p.Seq, ID: p.Message.ID, TargetID: "hd"})
					}
					if err := st.Complete(ctx, o); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ResetTimer()
			for b.Loop() {
				lanes, err := st.Claim(ctx, "w2", store.Budget{Inbound: 16, Outbound: 8}, 20, time.Hour)
				if err != nil || len(lanes) > 0 {
					b.Fatal(err, len(lanes))
				}
			}
		})
	}
}

// BenchmarkIntakeHandoff: the cycle at a steady rate, where each conversation's lane is idle
// when its message comes: an intake of n messages from n conversations hands their lanes
// over in its transaction (up to 16), and each lane's completion records its message. One
// message per intake is the paced load's cycle. cpu-us/msg is the process's CPU (getrusage):
// the gateway's share, where elapsed time on SQLite is mostly fsync.
func BenchmarkIntakeHandoff(b *testing.B) {
	for _, d := range benchDialects {
		for _, n := range []int{1, 10} {
			b.Run(fmt.Sprintf("%s/%d", d.name, n), func(b *testing.B) {
				st := d.open(b)
				ctx := context.Background()
				h := store.Handoff{Owner: "w", Max: store.Budget{Inbound: 16, Outbound: 16}, Batch: 20, Lease: time.Minute}
				batch := make([]normalize.Message, n)
				cpu := processCPU(b)
				b.ResetTimer()
				for i := 0; b.Loop(); i++ {
					for j := range batch {
						batch[j] = inbound(fmt.Sprintf("p%d", j), fmt.Sprintf("m%d-%d", i, j))
					}
					_, lanes, err := st.IntakeHandoff(ctx, batch, assess, h)
					if err != nil {
						b.Fatal(err)
					}
					for _, l := range lanes {
						o := store.Outcome{Conversation: l.Conversation.ID, Direction: l.Direction, Owner: "w", Token: l.Token,
							Target: "desk", Ticket: normalize.Ref("T-" + string(l.Conversation.ID))}
						for _, p := range l.Pending {
							o.Delivered = append(o.Delivered, store.Delivered{Seq: p.Seq, ID: p.Message.ID, TargetID: normalize.ExternalID("hd-" + string(p.Message.ID))})
						}
						if err := st.Complete(ctx, o); err != nil {
							b.Fatal(err)
						}
					}
				}
				msgs := float64(b.N * n)
				b.ReportMetric(msgs/b.Elapsed().Seconds(), "msgs/s")
				b.ReportMetric(float64((processCPU(b)-cpu).Microseconds())/msgs, "cpu-us/msg")
			})
		}
	}
}

// processCPU is the process's user and system CPU time so far.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
