package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/router/store/pgtest"
	"github.com/casino-support/gateway/test/gatewayproc"
)

func TestSummary(t *testing.T) {
	s := time.Second
	for _, tt := range []struct {
		samples       []time.Duration
		median, worst time.Duration
	}{
		{[]time.Duration{9 * s}, 9 * s, 9 * s},
		{[]time.Duration{11 * s, 8 * s, 10 * s}, 10 * s, 11 * s},
		{[]time.Duration{8 * s, 12 * s, 9 * s, 10 * s}, 9500 * time.Millisecond, 12 * s},
	} {
		median, worst := summary(tt.samples)
		require.Equal(t, tt.median, median, "%v", tt.samples)
		require.Equal(t, tt.worst, worst, "%v", tt.samples)
	}
}

func TestParseFlags(t *testing.T) {
	o, err := parseFlags([]string{"-runs", "3", "-seed", "5"}, &bytes.Buffer{})
	require.NoError(t, err)
	require.Equal(t, 3, o.runs)
	require.Equal(t, uint64(5), o.seed)
	for _, bad := range [][]string{{"-runs", "0"}, {"extra"}} {
		_, err := parseFlags(bad, &bytes.Buffer{})
		require.Error(t, err, "%v", bad)
	}
}

// TestOneTakeover is the command in miniature, so it cannot rot: two replicas of the real
// binary, the holder SIGKILLed, and the other one polls the fake Telegram, never both at once.
// It asserts the takeover happened, not how fast.
func TestOneTakeover(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the gateway binary")
	}
	dsn := pgtest.DSN(t)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	bin, err := gatewayproc.Build(ctx, dir)
	require.NoError(t, err)
	var stdout, stderr bytes.Buffer
	// A takeover past 15 s makes the command exit 1; this test only wants it to happen.
	samples, err := measure(ctx, options{gateway: bin, postgresDSN: dsn, runs: 1, seed: 1, workDir: dir}, &stdout)
	require.NoError(t, err, "%s%s", stdout.String(), stderr.String())
	require.Len(t, samples, 1)
	require.Positive(t, samples[0])
	require.True(t, strings.Contains(stdout.String(), "polled"), stdout.String())
}
