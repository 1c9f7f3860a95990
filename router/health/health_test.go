package health

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
)

func newBoard(t *testing.T) (*Board, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	return New(reg, slog.New(slog.DiscardHandler), nil), reg
}

func TestBoardKeepsEachSourceApart(t *testing.T) {
	b, _ := newBoard(t)
	b.Add("channel", "telegram", "tg")
	b.Add("helpdesk", "inbox", "inbox")
	require.NoError(t, b.Problems())

	steps := []struct {
		source  Source
		problem error
		ready   bool
		reason  string
	}{
		{SourceRemote, errors.New("getUpdates: token rejected (401)"), false, "remote: getUpdates: token rejected (401)"},
		{SourceDelivery, errors.New("sendMessage: 401"), false, "remote: getUpdates: token rejected (401); delivery: sendMessage: 401"},
		{SourceRemote, nil, false, "delivery: sendMessage: 401"},
		{SourceDelivery, nil, true, ""},
		{SourceDelivery, nil, true, ""}, // clearing what is clear changes nothing
	}
	for i, s := range steps {
		b.Report("tg", s.source, s.problem)
		got := b.Statuses()
		require.Len(t, got, 2)
		require.Equal(t, "channel", got[0].Family, "channels first")
		require.Equal(t, s.ready, got[0].Ready, "step %d", i)
		require.Equal(t, s.reason, got[0].Reason, "step %d", i)
		require.True(t, got[1].Ready, "step %d: the inbox is not touched by the channel's problems", i)
	}
}

func TestBoardProblemsNameTheConnector(t *testing.T) {
	b, _ := newBoard(t)
	b.Add("channel", "telegram", "tg")
	b.Report("tg", SourceRemote, errors.New("the bot token was rejected (401)"))
	b.Report("unknown", SourceRemote, errors.New("ignored")) // not on the board
	err := b.Problems()
	require.EqualError(t, err, "channel tg: remote: the bot token was rejected (401)")
}

func TestBoardMetrics(t *testing.T) {
	b, reg := newBoard(t)
	b.Add("channel", "telegram", "tg")
	require.Equal(t, 1.0, metric(t, reg, "gateway_connector_up"))
	b.Report("tg", SourceRemote, errors.New("401"))
	b.Report("tg", SourceRemote, errors.New("401 again")) // still the same outage: counted once
	require.Equal(t, 0.0, metric(t, reg, "gateway_connector_up"))
	require.Equal(t, 1.0, metric(t, reg, "gateway_connector_problems_total"))
	b.Report("tg", SourceRemote, nil)
	require.Equal(t, 1.0, metric(t, reg, "gateway_connector_up"))
}

// metric returns the value of the one series of the metric name.
func metric(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		require.Len(t, f.GetMetric(), 1, name)
		m := f.GetMetric()[0]
		if f.GetType() == dto.MetricType_COUNTER {
			return m.GetCounter().GetValue()
		}
		return m.GetGauge().GetValue()
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// fastBackoff keeps the supervisor tests to milliseconds of real time.
var fastBackoff = Backoff{Min: 5 * time.Millisecond, Max: 20 * time.Millisecond}

func TestSuperviseRestartsAFailingRunAlone(t *testing.T) {
	b, _ := newBoard(t)
	b.Add("channel", "telegram", "tg")
	b.Add("channel", "webchat", "web")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var runs atomic.Int32
	failures := 3
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.Supervise(ctx, "tg", fastBackoff, func(ctx context.Context) error {
			if int(runs.Add(1)) <= failures {
				return errors.New("the bot token was rejected (401)")
			}
			<-ctx.Done()
			return nil
		})
	}()
	require.Eventually(t, func() bool { return runs.Load() > int32(failures) }, 5*time.Second, time.Millisecond)
	require.Eventually(t, func() bool { return b.Problems() == nil }, 5*time.Second, time.Millisecond,
		"a restarted Run that keeps running is ready again")
	cancel()
	<-done
	require.Equal(t, int32(failures+1), runs.Load(), "Run restarts after each failure, and not after its context ended")
}

func TestSuperviseReportsTheFailureWhileWaiting(t *testing.T) {
	b, _ := newBoard(t)
	b.Add("helpdesk", "rt", "rt")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.Supervise(ctx, "rt", Backoff{Min: time.Hour, Max: time.Hour}, func(ctx context.Context) error {
			return nil // returns before the gateway stops: a failure too
		})
	}()
	require.Eventually(t, func() bool { return b.Problems() != nil }, 5*time.Second, time.Millisecond)
	reason := b.Statuses()[0].Reason
	require.True(t, strings.HasPrefix(reason, "run: Run returned before the gateway stopped (restarting in 1h0m0s)"), reason)
	cancel()
	<-done // the wait ends with the context
}

func TestSuperviseHealthyReportProvesARestart(t *testing.T) {
	b, _ := newBoard(t)
	b.Add("channel", "telegram", "tg")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var runs atomic.Int32
	go b.Supervise(ctx, "tg", Backoff{Min: 5 * time.Millisecond, Max: time.Hour}, func(ctx context.Context) error {
		if runs.Add(1) == 1 {
			return errors.New("boom")
		}
		<-ctx.Done()
		return nil
	})
	// The second run would need an hour to count as proven; the connector's own report
	// proves it at once.
	require.Eventually(t, func() bool { return runs.Load() == 2 }, 5*time.Second, time.Millisecond)
	require.Error(t, b.Problems())
	b.Report("tg", SourceRemote, nil)
	require.NoError(t, b.Problems())
}
