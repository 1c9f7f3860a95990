package ratelog_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors/ratelog"
)

func TestAllowLetsOneLinePerKeyAndIntervalThrough(t *testing.T) {
	now := time.Date(2026, 12, 6, 22, 0, 0, 0, time.UTC)
	l := ratelog.New(time.Minute, func() time.Time { return now })
	type step struct {
		after time.Duration
		key   string
		n     int
		ok    bool
	}
	for i, s := range []step{
		{0, "forged", 1, true},
		{time.Second, "forged", 0, false},
		{time.Second, "expired", 1, true}, // another key has its own minute
		{time.Second, "forged", 0, false},
		{time.Minute, "forged", 3, true}, // this one and the two held back
		{time.Second, "forged", 0, false},
	} {
		now = now.Add(s.after)
		n, ok := l.Allow(s.key)
		require.Equal(t, s.ok, ok, "step %d", i)
		require.Equal(t, s.n, n, "step %d", i)
	}
}
