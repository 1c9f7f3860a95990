// Command load measures the real gateway binary end to end: a fake Telegram hands out
// players' messages from many private chats (100 updates per getUpdates, as the Bot API), the
// gateway stores and delivers them to a fake signed-webhook helpdesk, whose agents answer
// through the helpdesk's events API; the answers go back through Telegram's sendMessage.
// Scenarios: backlog (every message queued at once), paced (a steady rate) and kill (backlog
// with SIGKILLs and restarts). It reports throughput, latency percentiles, the gateway's peak
// RSS and CPU, and what was lost, duplicated or re-sent, and exits 1 when anything was lost
// or duplicated. See docs/performance.md.
//
//	go run ./test/load -scenarios backlog,paced,kill -runs 3 -json load.json
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"time"

	"github.com/casino-support/gateway/test/gatewayproc"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// options are the command's flags.
type options struct {
	gateway     string
	store       string
	postgresDSN string
	scenarios   []Scenario
	runs        int
	messages    int
	chats       int
	replyEvery  int
	seed        uint64
	timeout     time.Duration
	jsonPath    string
	reference   bool
	workDir     string
	lease       time.Duration
	stored      int
	batch       int
	workers     int
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.gateway, "gateway", "", "gateway binary to run (default: build ./cmd/gateway)")
	fs.StringVar(&o.store, "store", "sqlite", "sqlite or postgres")
	fs.StringVar(&o.postgresDSN, "postgres-dsn", "postgres://127.0.0.1:5432/test?sslmode=disable", "PostgreSQL URL for -store postgres; each run gets a fresh schema in it")
	names := fs.String("scenarios", "backlog,paced,kill", "comma-separated: backlog, paced, kill")
	fs.IntVar(&o.runs, "runs", 1, "runs of each scenario, alternating between scenarios")
	fs.IntVar(&o.messages, "messages", 10000, "players' messages per run")
	fs.IntVar(&o.chats, "chats", 200, "private chats the messages are spread over")
	rate := fs.Float64("rate", 500, "messages per second in the paced scenario")
	kills := fs.Int("kills", 3, "SIGKILLs per run in the kill scenario")
	fs.IntVar(&o.replyEvery, "reply-every", 50, "an agent answers every N-th message (0: no replies)")
	fs.Uint64Var(&o.seed, "seed", uint64(time.Now().UnixNano()), "seed of the kill moments")
	fs.DurationVar(&o.timeout, "timeout", 5*time.Minute, "longest wait for one run to complete")
	fs.StringVar(&o.jsonPath, "json", "", "also write the report as JSON to this file")
	fs.BoolVar(&o.reference, "reference", false, "also measure Go loopback HTTP requests/s on this machine")
	fs.StringVar(&o.workDir, "workdir", "", "where runs keep their data and logs (default: a temporary directory)")
	fs.IntVar(&o.stored, "conversations", 0, "conversations the gateway stores before each run: one message from each of as many other chats, delivered and not measured, then a restart")
	fs.IntVar(&o.batch, "webhook-batch", 0, "the webhook helpdesk's batch_events: up to N events per request (default 0: one event per request)")
	fs.IntVar(&o.workers, "workers", 0, "delivery.workers of the gateway (default: the gateway's, 16): lanes delivered to the helpdesk at once")
	fs.DurationVar(&o.lease, "lease", 0, "delivery.lease of the gateway (default: the gateway's, 2m); on PostgreSQL a SIGKILLed process's lanes wait this long")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.store != "sqlite" && o.store != "postgres" {
		return o, fmt.Errorf("-store %q: sqlite or postgres", o.store)
	}
	if o.store == "sqlite" {
		o.postgresDSN = ""
	}
	if o.runs < 1 || o.messages < 1 || o.chats < 1 || o.replyEvery < 0 || *rate <= 0 || *kills < 1 || o.lease < 0 || o.stored < 0 || o.batch < 0 || o.workers < 0 {
		return o, errors.New("-runs, -messages, -chats, -rate and -kills must be positive, -reply-every, -lease, -conversations, -webhook-batch and -workers at least 0")
	}
	for name := range strings.SplitSeq(*names, ",") {
		switch strings.TrimSpace(name) {
		case "backlog":
			o.scenarios = append(o.scenarios, Scenario{Name: "backlog"})
		case "paced":
			o.scenarios = append(o.scenarios, Scenario{Name: "paced", Rate: *rate})
		case "kill":
			o.scenarios = append(o.scenarios, Scenario{Name: "kill", Kills: *kills})
		default:
			return o, fmt.Errorf("-scenarios: unknown %q (backlog, paced, kill)", name)
		}
	}
	return o, nil
}

// run is the command; it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, "load:", err)
		}
		return 2
	}
	rep, err := measureAll(ctx, o, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "load:", err)
		return 1
	}
	if err := printTable(stdout, rep); err != nil {
		fmt.Fprintln(stderr, "load:", err)
		return 1
	}
	if o.jsonPath != "" {
		if err := writeJSON(o.jsonPath, rep); err != nil {
			fmt.Fprintln(stderr, "load:", err)
			return 1
		}
	}
	for _, r := range rep.Results {
		if r.failed() {
			fmt.Fprintf(stderr, "load: %s run %d lost or duplicated messages (data kept under %s)\n", r.Scenario, r.Run, o.workDir)
			for _, d := range r.directions() {
				for _, u := range d.d.Unexplained {
					fmt.Fprintf(stderr, "load: %s: sent twice, no kill explaining it: %s\n", d.name, u)
				}
			}
			return 1
		}
	}
	return 0
}

// measureAll runs every scenario o.runs times, alternating (backlog, paced, kill, backlog,
// ...) so a change in the machine's load spreads over all of them.
func measureAll(ctx context.Context, o options, progress io.Writer) (Report, error) {
	rep := Report{Machine: Machine{CPUs: runtime.NumCPU(), CPUModel: cpuModel(), GoVersion: runtime.Version()}}
	if o.workDir == "" {
		dir, err := os.MkdirTemp("", "gateway-load-")
		if err != nil {
			return rep, err
		}
		o.workDir = dir
	}
	bin := o.gateway
	if bin == "" {
		var err error
		if bin, err = gatewayproc.Build(ctx, o.workDir); err != nil {
			return rep, err
		}
	}
	if o.reference {
		rps, err := loopbackRequestsPerSecond(ctx, 3*time.Second)
		if err != nil {
			return rep, err
		}
		rep.Reference = &rps
	}
	for i := range o.runs {
		for _, sc := range o.scenarios {
			fmt.Fprintf(progress, "load: %s run %d (%s)...\n", sc.Name, i+1, o.store)
			res, err := runScenario(ctx, runSpec{Scenario: sc, run: i + 1, messages: o.messages, chats: o.chats,
				replyEvery: o.replyEvery, seed: o.seed, timeout: o.timeout, bin: bin, workDir: o.workDir, postgresDSN: o.postgresDSN,
				lease: o.lease, stored: o.stored, batch: o.batch, workers: o.workers})
			if err != nil {
				return rep, fmt.Errorf("%s run %d: %w", sc.Name, i+1, err)
			}
			rep.Results = append(rep.Results, res)
		}
	}
	return rep, nil
}

// cpuModel is the first "model name" of /proc/cpuinfo, empty when unknown.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for line := range strings.Lines(string(b)) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
