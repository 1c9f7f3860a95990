package store_test

import (
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/store"
	"github.com/casino-support/gateway/router/store/pgtest"
)

// stageClock is a clock tests move by hand, safe to read from any goroutine.
type stageClock struct{ now atomic.Int64 }

func newStageClock() *stageClock {
	c := &stageClock{}
	c.now.Store(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC).UnixMilli())
	return c
}

func (c *stageClock) Now() time.Time               { return time.UnixMilli(c.now.Load()).UTC() }
func (c *stageClock) advance(d time.Duration)      { c.now.Add(d.Milliseconds()) }
func (c *stageClock) at(d time.Duration) time.Time { return c.Now().Add(d) }

// dialects are the store's databases.
var dialects = []string{"sqlite", "postgres"}

// openDialect opens a store of dialect on clk.
func openDialect(t *testing.T, dialect string, clk *stageClock) *store.Store {
	t.Helper()
	var st *store.Store
	var err error
	if dialect == "sqlite" {
		st, err = store.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "gw.db"), store.Options{Now: clk.Now})
	} else {
		st, err = store.OpenPostgres(t.Context(), pgtest.DSN(t), store.Options{Now: clk.Now})
	}
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	return st
}

// stagePolicy: a first answer is due in 10 minutes, near its breach at 8; a next answer in 20,
// near at 16.
func stagePolicy(complexFlag bool) store.Assess {
	return func(normalize.Message) store.Assessment {
		return store.Assessment{Helpdesk: "desk", Tags: []string{"group:desk"}, Complex: complexFlag,
			Clock: func(since time.Time, next bool, _ int) (time.Time, time.Time) {
				if next {
					return since.Add(16 * time.Minute), since.Add(20 * time.Minute)
				}
				return since.Add(8 * time.Minute), since.Add(10 * time.Minute)
			}}
	}
}

func agentMessage(conv normalize.ConversationID, ext string) normalize.Message {
	return normalize.Message{Direction: normalize.Outbound, Source: "desk", Conversation: conv, ExternalID: normalize.ExternalID(ext),
		Author: normalize.Author{Role: normalize.RoleAgent}, Text: ext}
}

func systemMessage(conv normalize.ConversationID, ext string) normalize.Message {
	m := agentMessage(conv, ext)
	m.Kind, m.Text = normalize.KindSystem, ""
	return m
}

// The stages of one conversation, in both dialects: first-response near-breach and breach
// marked once each, raising the priority and tagging; the answer that stops the clock; the
// next-response clock after it; an agent's complex flag escalated once to the senior group;
// closing ends the case.
func TestSLAStages(t *testing.T) {
	for _, name := range dialects {
		t.Run(name, func(t *testing.T) {
			clk := newStageClock()
			st := openDialect(t, name, clk)
			ctx := t.Context()
			near := store.SLAMark{Priority: normalize.PriorityHigh, Tags: []string{"sla-near-breach"}}
			breach := store.SLAMark{Priority: normalize.PriorityUrgent, Tags: []string{"sla-breached"}}

			start := clk.Now()
			acc, err := st.Intake(ctx, []normalize.Message{inbound("p1", "m1")}, stagePolicy(false))
			require.NoError(t, err)
			conv := acc[0].Conversation
			c, err := st.Conversation(ctx, conv)
			require.NoError(t, err)
			require.Equal(t, normalize.SLA{AwaitingSince: start, NearBreachAt: start.Add(8 * time.Minute), DueAt: start.Add(10 * time.Minute)}, c.SLA)
			next, err := st.NextSLADue(ctx)
			require.NoError(t, err)
			require.Equal(t, start.Add(8*time.Minute), next, "the near-breach point comes first")

			clk.advance(8*time.Minute - time.Millisecond)
			marked, err := st.MarkSLA(ctx, store.StageNearBreach, near, 10)
			require.NoError(t, err)
			require.Empty(t, marked, "not before the point")
			clk.advance(time.Millisecond)
			marked, err = st.MarkSLA(ctx, store.StageNearBreach, near, 10)
			require.NoError(t, err)
			require.Len(t, marked, 1)
			require.Equal(t, normalize.SLANearBreach, marked[0].SLA.State())
			require.Equal(t, normalize.PriorityHigh, marked[0].Priority)
			require.Equal(t, []string{"group:desk", "sla-near-breach"}, marked[0].Tags)
			marked, err = st.MarkSLA(ctx, store.StageNearBreach, near, 10)
			require.NoError(t, err)
			require.Empty(t, marked, "marked once")
			next, err = st.NextSLADue(ctx)
			require.NoError(t, err)
			require.Equal(t, start.Add(10*time.Minute), next)

			clk.advance(2 * time.Minute)
			marked, err = st.MarkSLA(ctx, store.StageBreach, breach, 10)
			require.NoError(t, err)
			require.Len(t, marked, 1)
			require.Equal(t, normalize.SLABreached, marked[0].SLA.State())
			require.Equal(t, normalize.PriorityUrgent, marked[0].Priority)
			require.Equal(t, []string{"group:desk", "sla-near-breach", "sla-breached"}, marked[0].Tags)
			marked, err = st.MarkSLA(ctx, store.StageBreach, breach, 10)
			require.NoError(t, err)
			require.Empty(t, marked, "marked once")
			next, err = st.NextSLADue(ctx)
			require.NoError(t, err)
			require.True(t, next.IsZero(), "nothing more to mark")

			msgs, err := st.Messages(ctx, conv, 0, 10)
			require.NoError(t, err)
			require.Len(t, msgs, 3, "the player's message and the two stages")
			for i, want := range []string{"first-response target near", "first-response target missed"} {
				u := msgs[1+i].Message
				require.NotNil(t, u.Update)
				require.Equal(t, []normalize.Field{normalize.FieldSLA, normalize.FieldPriority, normalize.FieldTags}, u.Update.Changed)
				require.Contains(t, u.Text, want)
			}

			// The answer stops the clock and says how it went.
			clk.advance(time.Minute)
			acc, err = st.Intake(ctx, []normalize.Message{agentMessage(conv, "r1")}, stagePolicy(false))
			require.NoError(t, err)
			require.Equal(t, &store.Answered{ChannelKind: normalize.KindLoopback, AwaitingSince: start, At: start.Add(11 * time.Minute), Breached: true},
				acc[0].Answered)
			acc, err = st.Intake(ctx, []normalize.Message{agentMessage(conv, "r2")}, stagePolicy(false))
			require.NoError(t, err)
			require.Nil(t, acc[0].Answered, "no clock ran")

			// The player writes again: a next-response clock, answered in time.
			again := clk.Now()
			_, err = st.Intake(ctx, []normalize.Message{inbound("p1", "m2")}, stagePolicy(false))
			require.NoError(t, err)
			c, err = st.Conversation(ctx, conv)
			require.NoError(t, err)
			require.Equal(t, normalize.SLA{AwaitingSince: again, NearBreachAt: again.Add(16 * time.Minute), DueAt: again.Add(20 * time.Minute), Next: true}, c.SLA)
			clk.advance(5 * time.Minute)
			acc, err = st.Intake(ctx, []normalize.Message{agentMessage(conv, "r3")}, stagePolicy(false))
			require.NoError(t, err)
			require.Equal(t, &store.Answered{Next: true, ChannelKind: normalize.KindLoopback, AwaitingSince: again, At: again.Add(5 * time.Minute)},
				acc[0].Answered)

			// An agent flags the case complex; an hour later it goes to the senior group, once.
			flag := systemMessage(conv, "flag")
			flag.Complex = true
			flagged := clk.Now()
			_, err = st.Intake(ctx, []normalize.Message{flag}, stagePolicy(false))
			require.NoError(t, err)
			c, err = st.Conversation(ctx, conv)
			require.NoError(t, err)
			require.Contains(t, c.Tags, store.TagComplex)
			at, err := st.NextComplexFlag(ctx)
			require.NoError(t, err)
			require.Equal(t, flagged, at)
			senior := store.ComplexMark{Group: "senior", Priority: normalize.PriorityUrgent, Tags: []string{"complex-escalated"}}
			marked, err = st.MarkComplexEscalations(ctx, clk.at(-time.Hour), senior, 10)
			require.NoError(t, err)
			require.Empty(t, marked, "not before its hour")
			clk.advance(time.Hour)
			marked, err = st.MarkComplexEscalations(ctx, clk.at(-time.Hour), senior, 10)
			require.NoError(t, err)
			require.Len(t, marked, 1)
			require.Equal(t, []string{"sla-near-breach", "sla-breached", store.TagComplex, "complex-escalated", "group:senior"}, marked[0].Tags,
				"the senior group's tag replaces the desk's")
			marked, err = st.MarkComplexEscalations(ctx, clk.at(-time.Hour), senior, 10)
			require.NoError(t, err)
			require.Empty(t, marked, "escalated once")
			at, err = st.NextComplexFlag(ctx)
			require.NoError(t, err)
			require.True(t, at.IsZero())

			// Closing resolves the case; a rule's flag on a later message starts a new clock,
			// which closing stops too.
			closing := systemMessage(conv, "close")
			closing.Status = normalize.StatusClosed
			_, err = st.Intake(ctx, []normalize.Message{closing}, stagePolicy(false))
			require.NoError(t, err)
			reflagged := clk.Now()
			_, err = st.Intake(ctx, []normalize.Message{inbound("p1", "m3")}, stagePolicy(true))
			require.NoError(t, err)
			at, err = st.NextComplexFlag(ctx)
			require.NoError(t, err)
			require.Equal(t, reflagged, at)
			closing.ExternalID = "close-2"
			_, err = st.Intake(ctx, []normalize.Message{closing}, stagePolicy(false))
			require.NoError(t, err)
			at, err = st.NextComplexFlag(ctx)
			require.NoError(t, err)
			require.True(t, at.IsZero(), "closed: no escalation")
		})
	}
}

// A clock whose breach came before anyone marked its near-breach point is reported breached
// only, and its near-breach point is not due for ever after.
func TestSLANearBreachSkippedAfterBreach(t *testing.T) {
	for _, name := range dialects {
		t.Run(name, func(t *testing.T) {
			clk := newStageClock()
			st := openDialect(t, name, clk)
			ctx := t.Context()
			_, err := st.Intake(ctx, []normalize.Message{inbound("p1", "m1")}, stagePolicy(true))
			require.NoError(t, err)
			clk.advance(time.Hour)
			marked, err := st.MarkSLA(ctx, store.StageNearBreach, store.SLAMark{}, 10)
			require.NoError(t, err)
			require.Empty(t, marked)
			marked, err = st.MarkSLA(ctx, store.StageBreach, store.SLAMark{}, 10)
			require.NoError(t, err)
			require.Len(t, marked, 1)
			require.Equal(t, []string{"group:desk"}, marked[0].Tags, "an empty mark changes nothing")
			next, err := st.NextSLADue(ctx)
			require.NoError(t, err)
			require.True(t, next.IsZero())
		})
	}
}

// Replicas marking near-breaches, breaches and complex escalations at once on one
// PostgreSQL database report each once between them.
func TestSLAStagesMarkedOnceByReplicas(t *testing.T) {
	const convs, replicas = 30, 3
	dsn := pgtest.DSN(t)
	clk := newStageClock()
	var stores []*store.Store
	for range replicas {
		st, err := store.OpenPostgres(t.Context(), dsn, store.Options{Now: clk.Now})
		require.NoError(t, err)
		t.Cleanup(func() { st.Close() })
		stores = append(stores, st)
	}
	for i := range convs {
		_, err := stores[0].Intake(t.Context(), []normalize.Message{inbound(fmt.Sprintf("p%d", i), fmt.Sprintf("m%d", i))}, stagePolicy(true))
		require.NoError(t, err)
	}
	mark := map[string]func(*store.Store) ([]normalize.Conversation, error){
		"near": func(st *store.Store) ([]normalize.Conversation, error) {
			return st.MarkSLA(t.Context(), store.StageNearBreach, store.SLAMark{Tags: []string{"near"}}, 3)
		},
		"breach": func(st *store.Store) ([]normalize.Conversation, error) {
			return st.MarkSLA(t.Context(), store.StageBreach, store.SLAMark{Tags: []string{"breached"}}, 3)
		},
		"complex": func(st *store.Store) ([]normalize.Conversation, error) {
			return st.MarkComplexEscalations(t.Context(), clk.at(-time.Hour), store.ComplexMark{Group: "senior"}, 3)
		},
	}
	for _, step := range []struct {
		stage   string
		advance time.Duration
	}{{"near", 9 * time.Minute}, {"breach", 2 * time.Minute}, {"complex", time.Hour}} {
		clk.advance(step.advance)
		seen := markConcurrently(t, stores, mark[step.stage])
		require.Len(t, seen, convs, "%s: every conversation is marked", step.stage)
		for id, n := range seen {
			require.Equal(t, 1, n, "%s: conversation %s marked %d times", step.stage, id, n)
		}
	}
	for i := range convs {
		c, err := stores[0].ConversationAt(t.Context(), "chat", normalize.Address(fmt.Sprintf("p%d", i)))
		require.NoError(t, err)
		msgs, err := stores[0].Messages(t.Context(), c.ID, 0, 100)
		require.NoError(t, err)
		require.Len(t, msgs, 4, "the player's message and one Update per stage")
	}
}

// markConcurrently runs mark on every store at once until none marks more, and counts how
// often each conversation was marked.
func markConcurrently(t *testing.T, stores []*store.Store, mark func(*store.Store) ([]normalize.Conversation, error)) map[normalize.ConversationID]int {
	var mu sync.Mutex
	seen := map[normalize.ConversationID]int{}
	var wg sync.WaitGroup
	for _, st := range stores {
		wg.Go(func() {
			for {
				// Small batches, so that the replicas' transactions overlap.
				marked, err := mark(st)
				if err != nil {
					t.Errorf("mark: %v", err)
					return
				}
				if len(marked) == 0 {
					return
				}
				mu.Lock()
				for _, c := range marked {
					seen[c.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return seen
}
