package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/router/store/pgtest"
	"github.com/casino-support/gateway/test/gatewayproc"
)

func TestParseStatCPU(t *testing.T) {
	// proc(5): utime and stime are fields 14 and 15; the command name may hold ") (".
	line := "4242 (gate way) (x) S 1 4242 4242 0 -1 4194560 1200 0 0 0 250 130 0 0 20 0 9 0 100 0 0 0 0"
	got, err := parseStatCPU(line)
	require.NoError(t, err)
	require.Equal(t, 3800*time.Millisecond, got, "(250+130) ticks of 1/100 s")

	_, err = parseStatCPU("4242 (gateway) S 1 2")
	require.Error(t, err, "too few fields")
}

func TestParseStat(t *testing.T) {
	line := "4242 (post gres) (x) S 77 4242 4242 0 -1 4194560 1200 0 0 0 250 130 40 60 20 0 9 0 100 0 0 0 0"
	got, err := parseStat(line)
	require.NoError(t, err)
	require.Equal(t, procStat{ppid: 77, own: 3800 * time.Millisecond, reaped: time.Second}, got,
		"ppid is field 4; utime+stime 250+130 and cutime+cstime 40+60 ticks of 1/100 s")
	_, err = parseStat("4242 (postgres) S 77 4242 4242 0 -1 4194560 1200 0 0 0 250 130")
	require.Error(t, err, "no cutime and cstime")
}

// The server's CPU is its postmaster's, its children's (backends, background processes), and
// what it reaped of the children that exited; nobody else's.
func TestServerCPUSumsThePostmastersChildren(t *testing.T) {
	proc := t.TempDir()
	write := func(pid, ppid, utime, stime, cutime, cstime int) {
		dir := filepath.Join(proc, strconv.Itoa(pid))
		require.NoError(t, os.MkdirAll(dir, 0o700))
		line := fmt.Sprintf("%d (postgres) S %d 1 1 0 -1 0 0 0 0 0 %d %d %d %d 20 0 1 0 0 0 0", pid, ppid, utime, stime, cutime, cstime)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "stat"), []byte(line), 0o600))
	}
	write(100, 1, 10, 5, 20, 10) // the postmaster: 15 own, 30 reaped
	write(101, 100, 3, 2, 0, 0)  // a backend
	write(102, 100, 1, 0, 7, 7)  // the checkpointer; what it reaped is not the server's twice
	write(200, 1, 500, 500, 0, 0)
	write(201, 101, 9, 9, 0, 0) // not the postmaster's child
	require.NoError(t, os.MkdirAll(filepath.Join(proc, "self"), 0o700))
	require.NoError(t, os.MkdirAll(filepath.Join(proc, "300"), 0o700)) // exited meanwhile

	got, err := serverCPU{proc: proc, postmaster: 100}.cpu()
	require.NoError(t, err)
	require.Equal(t, 510*time.Millisecond, got, "15+30 ticks of the postmaster, 5 and 1 of its children")

	_, err = serverCPU{proc: proc, postmaster: 999}.cpu()
	require.Error(t, err, "the postmaster is gone")
}

func TestStatusKB(t *testing.T) {
	status := "Name:\tgateway\nVmPeak:\t  900000 kB\nVmHWM:\t   51234 kB\nVmRSS:\t   40000 kB\nRssAnon:\t   12345 kB\n"
	got, err := statusKB(status, "VmHWM")
	require.NoError(t, err)
	require.Equal(t, int64(51234), got)
	got, err = statusKB(status, "RssAnon")
	require.NoError(t, err)
	require.Equal(t, int64(12345), got)
	_, err = statusKB("Name:\tgateway\n", "VmHWM")
	require.Error(t, err)
}

func TestReadUsageOfThisProcess(t *testing.T) {
	u, err := readUsage(os.Getpid())
	require.NoError(t, err)
	require.Positive(t, u.peakRSSk, "a running process has a resident set")
}

func TestMeasure(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	sends := []sent{{0, at(0)}, {1, at(0)}, {2, at(10)}, {3, at(10)}, {4, time.Time{}}}
	arrivals := []arrival{
		{0, "a", at(5)}, {1, "b", at(20)}, {0, "a", at(30)}, // 0 again under its ID: a re-send
		{2, "c", at(40)}, {2, "c2", at(50)}, // 2 again under a new ID: a duplicate
	}
	d := measure(sends, arrivals, 1, nil, nil)
	require.Equal(t, Direction{Sent: 5, Delivered: 3, PerSecond: 3 / 0.040, TakenPerSecond: 4 / 0.010, P50ms: 20, P95ms: 30, P99ms: 30,
		Lost: 2, Duplicated: 1, Resent: 1, Unexplained: []string{"message 2: c at " + clock(at(40)) + " (recorded false); c2 at " + clock(at(50)) + " (recorded false); kills at"}},
		d, "3 never arrived or never left; latencies 5, 20 and 30 ms over 40 ms; 4 left in 10 ms")

	d = measure(sends, arrivals, 1, []time.Time{at(45)}, map[string]bool{"a": true, "b": true, "c2": true})
	require.Equal(t, 1, d.AtKill, "a kill after 2's unrecorded first copy explains the duplicate")
	require.Zero(t, d.Duplicated)
	require.Empty(t, d.Unexplained)
	d = measure(sends, arrivals, 1, []time.Time{at(45)}, map[string]bool{"a": true, "b": true, "c": true, "c2": true})
	require.Equal(t, 1, d.Duplicated, "a copy the gateway recorded and sent again is a real duplicate")
	// What a failed run prints: the data that tells a duplicate from a miscount.
	require.Equal(t, []string{"message 2: c at " + clock(at(40)) + " (recorded true); c2 at " + clock(at(50)) + " (recorded true); kills at " + clock(at(45))}, d.Unexplained)
}

func clock(t time.Time) string { return t.Format("15:04:05.000000") }

func TestDuplicatesAtKill(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	tests := []struct {
		name     string
		copies   []arrival
		kills    []time.Time
		recorded []string
		want     int
	}{
		{"unrecorded before the kill, again after it", []arrival{{1, "a", at(9.5)}, {1, "b", at(11)}}, []time.Time{at(10)}, []string{"b"}, 1},
		{"the first copy was recorded: a real duplicate", []arrival{{1, "a", at(9.5)}, {1, "b", at(11)}}, []time.Time{at(10)}, []string{"a", "b"}, 0},
		{"no kill after the unrecorded copy", []arrival{{1, "a", at(10.5)}, {1, "b", at(11)}}, []time.Time{at(10)}, []string{"b"}, 0},
		{"the killed process's copy handled just after the kill's time", []arrival{{1, "a", at(10.01)}, {1, "b", at(11)}}, []time.Time{at(10)}, []string{"b"}, 1},
		{"no kill", []arrival{{1, "a", at(9.5)}, {1, "b", at(11)}}, nil, []string{"b"}, 0},
		{"one copy only", []arrival{{1, "a", at(9.5)}}, []time.Time{at(10)}, nil, 0},
		{"two kills, two unrecorded copies", []arrival{{1, "a", at(9.5)}, {1, "b", at(19.9)}, {1, "c", at(21)}}, []time.Time{at(10), at(20)}, []string{"c"}, 2},
		{"a repeat under the same ID is no duplicate", []arrival{{1, "a", at(9.5)}, {1, "a", at(11)}}, []time.Time{at(10)}, nil, 0},
	}
	for _, tt := range tests {
		recorded := map[string]bool{}
		for _, id := range tt.recorded {
			recorded[id] = true
		}
		require.Equal(t, tt.want, duplicatesAtKill(tt.copies, tt.kills, recorded), tt.name)
	}
}

func TestPercentile(t *testing.T) {
	var v []time.Duration
	for i := 1; i <= 100; i++ {
		v = append(v, time.Duration(i)*time.Millisecond)
	}
	tests := []struct {
		p    float64
		want time.Duration
	}{{50, 50 * time.Millisecond}, {95, 95 * time.Millisecond}, {99, 99 * time.Millisecond}, {100, 100 * time.Millisecond}}
	for _, tt := range tests {
		require.Equal(t, tt.want, percentile(v, tt.p), "p%v", tt.p)
	}
	require.Zero(t, percentile(nil, 50))
}

func TestNumberIn(t *testing.T) {
	n, ok := numberIn(messageText(42), messagePrefix)
	require.True(t, ok)
	require.Equal(t, 42, n)
	_, ok = numberIn(replyText(42), messagePrefix)
	require.False(t, ok, "a reply is not a player's message")
	_, ok = numberIn("load message x", messagePrefix)
	require.False(t, ok)
}

func TestRepliesSpreadOverEveryChat(t *testing.T) {
	tests := []struct{ messages, chats, every int }{{10000, 200, 50}, {2000, 50, 20}, {1000, 50, 10}, {100, 7, 3}}
	for _, tt := range tests {
		spec := runSpec{messages: tt.messages, chats: tt.chats, replyEvery: tt.every}
		perChat := map[int]int{}
		replies := 0
		for n := range tt.messages {
			if spec.answered(n) {
				perChat[n%tt.chats]++
				replies++
			}
		}
		require.InDelta(t, tt.messages/tt.every, replies, float64(tt.chats), "%+v: one message in every %d answered", tt, tt.every)
		perRound := tt.messages / tt.chats / tt.every
		for chat := range tt.chats {
			require.InDelta(t, perRound, perChat[chat], 1, "%+v: chat %d gets its share of the replies", tt, chat)
		}
	}
	require.False(t, runSpec{messages: 10, chats: 2}.answered(0), "no replies without -reply-every")
}

func TestParseFlags(t *testing.T) {
	o, err := parseFlags([]string{"-scenarios", "paced,kill", "-rate", "50", "-kills", "2"}, &bytes.Buffer{})
	require.NoError(t, err)
	require.Equal(t, []Scenario{{Name: "paced", Rate: 50}, {Name: "kill", Kills: 2}}, o.scenarios)
	require.Empty(t, o.postgresDSN, "sqlite needs no DSN")
	o, err = parseFlags([]string{"-webhook-batch", "50"}, &bytes.Buffer{})
	require.NoError(t, err)
	require.Equal(t, 50, o.batch)
	for _, bad := range [][]string{{"-store", "mysql"}, {"-scenarios", "storm"}, {"-messages", "0"}, {"-lease", "-1s"}, {"-conversations", "-1"},
		{"-webhook-batch", "-1"}, {"extra"}} {
		_, err := parseFlags(bad, &bytes.Buffer{})
		require.Error(t, err, "%v", bad)
	}
}

func TestLoopbackReference(t *testing.T) {
	rps, err := loopbackRequestsPerSecond(t.Context(), 200*time.Millisecond)
	require.NoError(t, err)
	require.Positive(t, rps)
}

// TestShortLoadRun is the load command in miniature, so it cannot rot: a backlog and a
// SIGKILL run against the real binary, with agents' replies, on SQLite and on PostgreSQL. It
// asserts nothing lost and nothing duplicated in either direction, never a speed.
func TestShortLoadRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the gateway binary")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Minute)
	defer cancel()
	bin, err := gatewayproc.Build(ctx, dir)
	require.NoError(t, err)
	tests := []struct {
		store string
		// dsn returns the -postgres-dsn of the run; pgtest skips the test when PostgreSQL is
		// unreachable, or fails it when CI is set.
		dsn func(t *testing.T) string
	}{
		{"sqlite", func(*testing.T) string { return "" }},
		{"postgres", func(t *testing.T) string { return pgtest.DSN(t) }},
	}
	for _, tt := range tests {
		t.Run(tt.store, func(t *testing.T) {
			work := filepath.Join(dir, tt.store)
			require.NoError(t, os.MkdirAll(work, 0o700))
			args := []string{"-gateway", bin, "-workdir", work, "-store", tt.store, "-messages", "2000", "-chats", "50",
				"-reply-every", "20", "-scenarios", "backlog,kill", "-kills", "2", "-seed", "1", "-timeout", "5m",
				"-json", filepath.Join(work, "load.json")}
			if dsn := tt.dsn(t); dsn != "" {
				// A killed process's lanes wait for their lease on PostgreSQL, which replicas
				// share: a short one keeps the kill run to seconds.
				args = append(args, "-postgres-dsn", dsn, "-lease", "5s")
			}
			var stdout, stderr bytes.Buffer
			code := run(ctx, args, &stdout, &stderr)
			require.Equal(t, 0, code, "load run failed:\n%s\n%s", stdout.String(), stderr.String())
			rep, err := os.ReadFile(filepath.Join(work, "load.json"))
			require.NoError(t, err)
			t.Logf("%s", stdout.String())
			var got Report
			require.NoError(t, json.Unmarshal(rep, &got))
			require.Len(t, got.Results, 2)
			for _, r := range got.Results {
				require.Equal(t, tt.store, r.Store)
				require.Equal(t, 2000, r.Inbound.Delivered, r.Scenario)
				require.Zero(t, r.Inbound.Lost+r.Inbound.Duplicated, r.Scenario)
				require.Zero(t, r.Inbound.AtKill, "%s: the helpdesk deduplicates, so a kill may never double a player's message", r.Scenario)
				require.Equal(t, 100, r.Replies.Delivered, r.Scenario)
				// A reply may be sent twice when a kill falls between Telegram taking it and the
				// gateway recording it (Telegram's sendMessage takes no idempotency key): AtKill, not
				// Duplicated; at most one per reply send in flight at each kill.
				require.Zero(t, r.Replies.Lost+r.Replies.Duplicated, r.Scenario)
				if tt.store == "postgres" {
					// The machine's PostgreSQL (or CI's) runs here.
					require.NotNil(t, r.ServerCPUSecondsPer1k, "%s: the server's CPU is measured", r.Scenario)
					require.Positive(t, *r.ServerCPUSecondsPer1k, r.Scenario)
				} else {
					require.Nil(t, r.ServerCPUSeconds, r.Scenario)
				}
			}
			require.Equal(t, 3, got.Results[1].Starts, "the kill run started the gateway again after each SIGKILL")
		})
	}
}
