package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/test/gatewayproc"
)

// cluster is the replicas of the gateway, one configuration each, all on one schema.
type cluster struct {
	replicas []*gatewayproc.Process
	logs     []string

	mu  sync.Mutex
	rng *rand.Rand // picks replicas for requests; its order is not part of the seed's replay
}

func startCluster(ctx context.Context, t *testing.T, bin, dir string, n int, setup gatewayproc.Setup, seed uint64) *cluster {
	t.Helper()
	c := &cluster{rng: rand.New(rand.NewPCG(seed, 1))}
	for i := range n {
		s := setup
		s.DataDir = filepath.Join(dir, fmt.Sprintf("data-%d", i))
		port, err := gatewayproc.FreePort()
		require.NoError(t, err)
		s.Port = port
		configPath := filepath.Join(dir, fmt.Sprintf("gateway-%d.yaml", i))
		require.NoError(t, s.WriteConfig(configPath))
		logPath := filepath.Join(dir, fmt.Sprintf("gateway-%d.log", i))
		logFile, err := os.Create(logPath)
		require.NoError(t, err)
		t.Cleanup(func() { logFile.Close() })
		p := gatewayproc.NewProcess(bin, configPath, port, logFile)
		t.Cleanup(p.Kill)
		c.replicas = append(c.replicas, p)
		c.logs = append(c.logs, logPath)
	}
	for i, p := range c.replicas {
		require.NoError(t, p.Start(ctx), "replica %d", i)
	}
	return c
}

// pick returns the URL of a random running replica; a request to it may still fail when the
// replica is killed meanwhile, and is then sent again elsewhere.
func (c *cluster) pick() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var up []string
	for _, p := range c.replicas {
		if p.Running() {
			up = append(up, p.Base)
		}
	}
	if len(up) == 0 {
		return c.replicas[0].Base
	}
	return up[c.rng.IntN(len(up))]
}

// killAtRandom SIGKILLs a random replica kills times, each after a random pause, and starts
// it again after another: one replica at most is down at a time, so never all of them. It
// returns the moments of the kills.
func (c *cluster) killAtRandom(ctx context.Context, t *testing.T, rng *rand.Rand, kills int) []time.Time {
	var at []time.Time
	for range kills {
		if !sleep(ctx, time.Second+time.Duration(rng.Int64N(int64(3*time.Second)))) {
			return at
		}
		i := rng.IntN(len(c.replicas))
		c.replicas[i].Kill()
		at = append(at, time.Now())
		t.Logf("chaos: SIGKILL replica %d", i)
		if !sleep(ctx, time.Duration(rng.Int64N(int64(2*time.Second)))) {
			return at
		}
		if err := c.replicas[i].Start(ctx); err != nil {
			t.Errorf("restart replica %d after SIGKILL: %v", i, err)
			return at
		}
	}
	return at
}

func (c *cluster) killAll() {
	for _, p := range c.replicas {
		p.Kill()
	}
}

// logTails logs the end of each replica's log, so a failure in CI shows why.
func (c *cluster) logTails(t *testing.T, lines int) {
	for i, path := range c.logs {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Logf("replica %d log: %v", i, err)
			continue
		}
		all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
		t.Logf("replica %d, last %d lines of %s:\n%s", i, min(lines, len(all)), path, strings.Join(all[max(len(all)-lines, 0):], "\n"))
	}
}

// sleep waits d; false when ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}
