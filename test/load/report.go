package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// The texts players and agents send carry their number, so every arrival names what it is.
const (
	messagePrefix = "load message "
	replyPrefix   = "load reply "
)

func messageText(i int) string { return messagePrefix + strconv.Itoa(i) }
func replyText(i int) string   { return replyPrefix + strconv.Itoa(i) }

// numberIn returns the number after prefix in text, false for any other text.
func numberIn(text, prefix string) (int, bool) {
	rest, ok := strings.CutPrefix(text, prefix)
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(rest)
	return n, err == nil && n >= 0
}

// sent is one message or reply as its source handed it out: number n, at when it left.
type sent struct {
	n  int
	at time.Time
}

// arrival is one arrival at the far end: number n under the sender's id, at when it came.
type arrival struct {
	n  int
	id string
	at time.Time
}

// Direction is what one direction of a run delivered and how fast.
type Direction struct {
	Sent      int     `json:"sent"`
	Delivered int     `json:"delivered"`
	PerSecond float64 `json:"per_second"`
	// TakenPerSecond is how fast the source handed the messages out, first to last. Telegram
	// hands out the next batch only once the gateway stored the last one, so in a backlog it
	// is the gateway's intake: well above PerSecond, delivery bounds the run; near it, intake.
	TakenPerSecond float64 `json:"taken_per_second"`
	P50ms          float64 `json:"p50_ms"`
	P95ms          float64 `json:"p95_ms"`
	P99ms          float64 `json:"p99_ms"`
	// Lost were handed out and never arrived.
	Lost int `json:"lost"`
	// Duplicated arrived more than once under different IDs (extra arrivals counted), apart
	// from those counted in AtKill.
	Duplicated int `json:"duplicated"`
	// Unexplained describes each message counted in Duplicated (describeCopies).
	Unexplained []string `json:"unexplained_duplicates,omitempty"`
	// AtKill arrived again under a different ID after a SIGKILL that fell between the far end
	// taking a copy and the gateway recording it (the gateway's store, read after the run,
	// has no record of that copy).
	// Only replies can be: Telegram's sendMessage takes no idempotency key, so a reply whose
	// acceptance the gateway did not live to record is sent again. Inbound messages carry
	// their ID to the helpdesk, which deduplicates, so none may ever count here.
	AtKill int `json:"duplicated_at_kill"`
	// Resent arrived again under the same ID (an idempotent retry the far end recognised).
	Resent int `json:"resent"`
}

// measure compares what was sent with what arrived. Latency runs from each item's send to its
// first arrival; the rate from the first send to the last first arrival. resent is counted by
// the far end, which alone sees repeated IDs. kills are the moments of the run's SIGKILLs and
// recorded the arrivals' IDs the gateway recorded as sent; together they explain a copy sent
// again after a kill (see AtKill). Pass none for a direction whose far end deduplicates.
func measure(sends []sent, arrivals []arrival, resent int, kills []time.Time, recorded map[string]bool) Direction {
	d := Direction{Sent: len(sends), Resent: resent}
	first := map[int]time.Time{}
	ids := map[int]map[string]bool{}
	byN := map[int][]arrival{}
	for _, a := range arrivals {
		byN[a.n] = append(byN[a.n], a)
		if at, ok := first[a.n]; !ok || a.at.Before(at) {
			first[a.n] = a.at
		}
		if ids[a.n] == nil {
			ids[a.n] = map[string]bool{}
		}
		ids[a.n][a.id] = true
	}
	var lat []time.Duration
	var start, end, lastTaken time.Time
	taken := 0
	for _, s := range sends {
		if s.at.IsZero() { // never left its source
			d.Lost++
			continue
		}
		if start.IsZero() || s.at.Before(start) {
			start = s.at
		}
		taken++
		lastTaken = later(lastTaken, s.at)
		at, ok := first[s.n]
		if !ok {
			d.Lost++
			continue
		}
		d.Delivered++
		atKill := duplicatesAtKill(byN[s.n], kills, recorded)
		d.AtKill += atKill
		if extra := len(ids[s.n]) - 1 - atKill; extra > 0 {
			d.Duplicated += extra
			d.Unexplained = append(d.Unexplained, describeCopies(s.n, byN[s.n], kills, recorded))
		}
		lat = append(lat, max(at.Sub(s.at), 0))
		end = later(end, at)
	}
	if d.Delivered > 0 && end.After(start) {
		d.PerSecond = float64(d.Delivered) / end.Sub(start).Seconds()
	}
	if lastTaken.After(start) {
		d.TakenPerSecond = float64(taken) / lastTaken.Sub(start).Seconds()
	}
	slices.Sort(lat)
	d.P50ms, d.P95ms, d.P99ms = ms(percentile(lat, 50)), ms(percentile(lat, 95)), ms(percentile(lat, 99))
	return d
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// duplicatesAtKill counts the copies of one message that a SIGKILL explains: a copy the
// gateway never recorded as sent, which arrived before a kill (or within inFlight after it),
// while another copy of it arrived. The gateway records each send at once; only a kill
// between the far end taking a copy and that record leaves one unrecorded, and the restarted
// gateway sends it again.
func duplicatesAtKill(copies []arrival, kills []time.Time, recorded map[string]bool) int {
	seen := map[string]bool{}
	n := 0
	for _, c := range copies {
		if seen[c.id] {
			continue
		}
		seen[c.id] = true
		if recorded[c.id] {
			continue
		}
		for _, k := range kills {
			if !c.at.After(k.Add(inFlight)) {
				n++
				break
			}
		}
	}
	return min(n, len(seen)-1)
}

// inFlight is how long after a kill's time a copy the killed process sent may still reach
// the far end's fake. The time is taken once the process is reaped, and a request it wrote
// before it died is handled after that: a kill run in CI (the load command under -race)
// counted such a copy as a real duplicate. It is far below a restart (0.1-0.6 s), so no copy
// the restarted gateway sends falls within it.
const inFlight = 50 * time.Millisecond

// describeCopies says of message n, sent more than once with no kill explaining it, when each
// copy arrived and whether the gateway recorded it, and when the kills were: what tells a
// duplicate from a miscount once the run's data is gone (in CI, the test's directory goes
// with it).
func describeCopies(n int, copies []arrival, kills []time.Time, recorded map[string]bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "message %d:", n)
	for _, c := range copies {
		fmt.Fprintf(&b, " %s at %s (recorded %t);", c.id, c.at.Format("15:04:05.000000"), recorded[c.id])
	}
	b.WriteString(" kills at")
	for _, k := range kills {
		b.WriteString(" " + k.Format("15:04:05.000000"))
	}
	return b.String()
}

// percentile is the nearest-rank percentile of sorted values, 0 for none.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(p/100*float64(len(sorted))+0.999999) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Result is one run of one scenario.
type Result struct {
	Scenario string  `json:"scenario"`
	Run      int     `json:"run"`
	Store    string  `json:"store"`
	Messages int     `json:"messages"`
	Chats    int     `json:"chats"`
	Rate     float64 `json:"rate,omitempty"` // paced: messages/s offered
	Kills    int     `json:"kills"`
	// Inbound is players' messages from the fake Telegram to the fake helpdesk; Replies are
	// agents' replies from the helpdesk's API call to Telegram's sendMessage.
	Inbound Direction `json:"inbound"`
	Replies Direction `json:"replies"`
	// PeakRSSMB is the largest VmHWM of the gateway's processes, PeakAnonMB the largest
	// anonymous memory sampled (without the executable's resident pages); CPU is all of them
	// together.
	PeakRSSMB       float64 `json:"peak_rss_mb"`
	PeakAnonMB      float64 `json:"peak_anon_mb"`
	CPUSeconds      float64 `json:"cpu_seconds"`
	CPUSecondsPer1k float64 `json:"cpu_seconds_per_1000_messages"`
	// ServerCPUSeconds is the PostgreSQL server's CPU from the first message to the last
	// arrival (serverCPU), when it runs on this machine; nil on SQLite or a remote server.
	ServerCPUSeconds      *float64 `json:"server_cpu_seconds,omitempty"`
	ServerCPUSecondsPer1k *float64 `json:"server_cpu_seconds_per_1000_messages,omitempty"`
	Starts                int      `json:"starts"`
	WallSeconds           float64  `json:"wall_seconds"`
	// StartSeconds is the gateway's first start, from exec to /readyz answering 200: on an
	// empty store (migrations included), or, with Stored, the restart once those conversations
	// are on disk.
	StartSeconds float64 `json:"start_seconds"`
	Stored       int     `json:"stored_conversations,omitempty"`
	// WebhookBatch is the helpdesk's batch_events (-webhook-batch), 0 for one event per request.
	WebhookBatch int `json:"webhook_batch,omitempty"`
	// Workers is the gateway's delivery.workers (-workers), 0 for its default.
	Workers int `json:"workers,omitempty"`
}

// namedDirection is one direction of a run with its name, as the table shows it.
type namedDirection struct {
	name string
	d    Direction
}

func (r Result) directions() []namedDirection {
	return []namedDirection{{"inbound", r.Inbound}, {"replies", r.Replies}}
}

// failed reports whether the run lost or doubled anything, in either direction. A reply
// doubled by a SIGKILL in the instant after Telegram took it (AtKill) is what Telegram's API
// leaves possible and does not fail the run; an inbound message can never be (the helpdesk
// deduplicates on its ID), so one there fails it.
func (r Result) failed() bool {
	return r.Inbound.Lost+r.Inbound.Duplicated+r.Inbound.AtKill+r.Replies.Lost+r.Replies.Duplicated > 0
}

// Report is everything one invocation measured.
type Report struct {
	Machine   Machine  `json:"machine"`
	Reference *float64 `json:"loopback_http_requests_per_second,omitempty"`
	Results   []Result `json:"results"`
}

// Machine names where the figures come from.
type Machine struct {
	CPUs      int    `json:"cpus"`
	CPUModel  string `json:"cpu_model,omitempty"`
	GoVersion string `json:"go_version"`
}

// printTable writes one line per run and direction.
func printTable(w io.Writer, rep Report) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\trun\tstore\tdirection\tsent\tmsg/s\ttaken/s\tp50 ms\tp95 ms\tp99 ms\tlost\tdup\tdup at kill\tresent\tpeak RSS MB\tanon MB\tCPU s/1k\tdb CPU s/1k\tstarts\tstart s\t")
	for _, r := range rep.Results {
		for _, d := range r.directions() {
			server := "-"
			if r.ServerCPUSecondsPer1k != nil {
				server = fmt.Sprintf("%.3f", *r.ServerCPUSecondsPer1k)
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\t%.0f\t%.0f\t%.1f\t%.1f\t%.1f\t%d\t%d\t%d\t%d\t%.1f\t%.1f\t%.3f\t%s\t%d\t%.2f\t\n",
				r.Scenario, r.Run, r.Store, d.name, d.d.Sent, d.d.PerSecond, d.d.TakenPerSecond, d.d.P50ms, d.d.P95ms, d.d.P99ms,
				d.d.Lost, d.d.Duplicated, d.d.AtKill, d.d.Resent, r.PeakRSSMB, r.PeakAnonMB, r.CPUSecondsPer1k, server, r.Starts, r.StartSeconds)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if rep.Reference != nil {
		_, err := fmt.Fprintf(w, "reference: Go loopback HTTP %.0f requests/s on %d CPUs\n", *rep.Reference, rep.Machine.CPUs)
		return err
	}
	return nil
}

func writeJSON(path string, rep Report) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}
