package playerdir_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/playerdir"
)

// scripted answers each address as told: a player, ErrNotFound, an error, or nothing until
// the question's context ends.
type scripted map[normalize.Address]error

func (s scripted) Lookup(ctx context.Context, q playerdir.Query) (playerdir.Player, error) {
	err, ok := s[q.Address]
	switch {
	case !ok:
		return playerdir.Player{PlayerID: "P-" + string(q.Address)}, nil
	case err == context.DeadlineExceeded:
		<-ctx.Done()
		return playerdir.Player{}, errors.New("connection closed") // whatever the client says then
	}
	return playerdir.Player{}, err
}

// TestCacheMetrics (issue 17): each look-up counts by its outcome (cache, hit, miss, error,
// timeout), each question to the directory is timed, and failures are logged at most once a
// minute, the next line saying how many it stands for.
func TestCacheMetrics(t *testing.T) {
	var logs bytes.Buffer
	clk := &clock{now: time.Unix(1_800_000_000, 0)}
	src := scripted{"unknown": playerdir.ErrNotFound, "broken": errors.New("503 Service Unavailable"),
		"broken2": errors.New("503 Service Unavailable"), "slow": context.DeadlineExceeded, "broken3": errors.New("EOF")}
	c := playerdir.NewCache(src, playerdir.CacheOptions{Budget: time.Minute, Timeout: 50 * time.Millisecond, Now: clk.Now},
		slog.New(slog.NewTextHandler(&logs, nil)))
	reg := prometheus.NewRegistry()
	require.NoError(t, reg.Register(c))
	ctx := t.Context()
	ask := func(addr string) bool {
		_, found := c.Lookup(ctx, playerdir.Query{Channel: "tg", ChannelKind: normalize.KindTelegram, Address: normalize.Address(addr)})
		return found
	}
	require.True(t, ask("ana"))
	require.True(t, ask("ana"), "from the cache")
	require.False(t, ask("unknown"))
	require.False(t, ask("unknown"), "from the cache: an unknown player is remembered")
	require.False(t, ask("broken"))
	require.False(t, ask("broken2"))
	require.False(t, ask("slow"))
	clk.Advance(time.Minute)
	require.False(t, ask("broken3"))

	counts, timed := map[string]float64{}, map[string]uint64{}
	families, err := reg.Gather()
	require.NoError(t, err)
	for _, f := range families {
		for _, m := range f.GetMetric() {
			switch f.GetName() {
			case "gateway_player_directory_lookups_total":
				counts[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
			case "gateway_player_directory_latency_seconds":
				timed[m.GetLabel()[0].GetValue()] = m.GetHistogram().GetSampleCount()
			case "gateway_player_directory_over_budget_total":
				require.Zero(t, m.GetCounter().GetValue())
			}
		}
	}
	require.Equal(t, map[string]float64{"cache": 2, "hit": 1, "miss": 1, "error": 3, "timeout": 1}, counts)
	require.Equal(t, map[string]uint64{"hit": 1, "miss": 1, "error": 3, "timeout": 1}, timed)

	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	require.Len(t, lines, 2, "errors and the timeout within a minute make one line:\n%s", logs.String())
	require.Contains(t, lines[0], "outcome=error")
	require.Contains(t, lines[0], "times=1")
	require.Contains(t, lines[1], "times=3", "the line after a minute stands for itself and the two held back")
}
