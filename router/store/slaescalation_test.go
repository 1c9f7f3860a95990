package store_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/escalation"
	"github.com/casino-support/gateway/router/store"
	"github.com/casino-support/gateway/test/escalationfake"
)

// stagedBy writes the escalation of reason with each mark, as the router does with the real
// queue.
func stagedBy(q *escalation.Queue, reason string) store.StageRecords {
	return func(c normalize.Conversation, at time.Time) ([]store.StageRecord, error) {
		st, err := q.Stage(escalation.Escalation{Key: reason + "-" + string(c.ID), Reason: reason, Conversation: c.ID, At: at})
		if err != nil {
			return nil, err
		}
		return []store.StageRecord{{Instance: st.Instance, Key: st.Key, Value: st.Value, Unless: st.Done, Expires: st.Expires}}, nil
	}
}

// A crash between marking a stage and queueing its escalation loses nothing, in both
// dialects: the queue's record is written in the marking's transaction, so a failure to
// write it (injected after the mark's update) leaves the stage unmarked and due, and a
// process that stops right after the mark (the sender never ran) leaves the call queued
// for the next process, which sends it once. Marking again queues nothing more.
func TestSLAStageEscalationSurvivesACrash(t *testing.T) {
	for _, name := range dialects {
		t.Run(name, func(t *testing.T) {
			clk := newStageClock()
			st := openDialect(t, name, clk)
			ctx := t.Context()
			recv := escalationfake.New("escalation-secret-0123456789")
			srv := httptest.NewServer(recv)
			t.Cleanup(srv.Close)
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			newQueue := func() *escalation.Queue {
				return escalation.New(st, srv.URL, []byte("escalation-secret-0123456789"), escalation.Options{Poll: 10 * time.Millisecond}, log)
			}

			acc, err := st.Intake(ctx, []normalize.Message{inbound("p1", "m1")}, stagePolicy(false))
			require.NoError(t, err)
			conv := acc[0].Conversation
			clk.advance(10 * time.Minute)

			broken := errors.New("records unavailable")
			failing := store.SLAMark{Tags: []string{"sla-breached"}, Records: func(normalize.Conversation, time.Time) ([]store.StageRecord, error) {
				return nil, broken
			}}
			_, err = st.MarkSLA(ctx, store.StageBreach, failing, 10)
			require.ErrorIs(t, err, broken)
			c, err := st.Conversation(ctx, conv)
			require.NoError(t, err)
			require.NotEqual(t, normalize.SLABreached, c.SLA.State(), "the mark rolled back with its record")
			require.NotContains(t, c.Tags, "sla-breached")
			msgs, err := st.Messages(ctx, conv, 0, 10)
			require.NoError(t, err)
			require.Len(t, msgs, 1, "no Update queued either")

			// The process that marks it stops before its sender runs.
			marked, err := st.MarkSLA(ctx, store.StageBreach, store.SLAMark{Tags: []string{"sla-breached"},
				Records: stagedBy(newQueue(), escalation.ReasonSLABreach)}, 10)
			require.NoError(t, err)
			require.Len(t, marked, 1)
			queued, err := st.ListRecords(ctx, "escalation", "q/", "", 10)
			require.NoError(t, err)
			require.Len(t, queued, 1, "queued with the mark")
			marked, err = st.MarkSLA(ctx, store.StageBreach, store.SLAMark{Records: stagedBy(newQueue(), escalation.ReasonSLABreach)}, 10)
			require.NoError(t, err)
			require.Empty(t, marked, "marked once")

			// The next process sends it, once.
			runCtx, cancel := context.WithCancel(ctx)
			var wg sync.WaitGroup
			wg.Go(func() { newQueue().Run(runCtx) })
			require.Eventually(t, func() bool {
				done, err := st.ListRecords(ctx, "escalation", "done/", "", 10)
				if err != nil || len(done) != 1 {
					return false
				}
				queued, err := st.ListRecords(ctx, "escalation", "q/", "", 10)
				return err == nil && len(queued) == 0
			}, 10*time.Second, 5*time.Millisecond)
			cancel()
			wg.Wait()
			require.Equal(t, 1, recv.Requests(), "one call")
			taken := recv.Taken()
			require.Len(t, taken, 1)
			require.Equal(t, escalation.ReasonSLABreach, taken[0].Reason)
			require.Equal(t, conv, taken[0].Conversation)

			// A mark that would queue the same escalation again (its key) while it is done
			// does not: the done record stops it in the store.
			_, err = st.Intake(ctx, []normalize.Message{agentMessage(conv, "a1")}, stagePolicy(false))
			require.NoError(t, err)
			_, err = st.Intake(ctx, []normalize.Message{inbound("p1", "m2")}, stagePolicy(false))
			require.NoError(t, err)
			clk.advance(20 * time.Minute)
			marked, err = st.MarkSLA(ctx, store.StageBreach, store.SLAMark{Records: stagedBy(newQueue(), escalation.ReasonSLABreach)}, 10)
			require.NoError(t, err)
			require.Len(t, marked, 1)
			queued, err = st.ListRecords(ctx, "escalation", "q/", "", 10)
			require.NoError(t, err)
			require.Empty(t, queued, "the same key is not queued twice")
		})
	}
}
