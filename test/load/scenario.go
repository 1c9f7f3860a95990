package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/casino-support/gateway/connectors/helpdesk/webhook"
	"github.com/casino-support/gateway/test/gatewayproc"
	"github.com/casino-support/gateway/test/telegramfake"
	"github.com/casino-support/gateway/test/webhookreceiver"
)

const (
	botToken = "424242:load-bot-token"
	secret   = "load-webhook-secret-0123456789"
	apiToken = "load-api-token"
	// firstChat is the first private chat's ID; chats count up from it (above 32 bits, as
	// real Telegram IDs).
	firstChat = 7_000_000_000
)

// Scenario is one kind of run.
type Scenario struct {
	Name string
	// Rate, when above 0, paces the messages at that many per second; otherwise all are
	// queued at once (backlog).
	Rate float64
	// Kills is how often the gateway is SIGKILLed and restarted, at random moments while the
	// messages arrive.
	Kills int
}

// runSpec is one run of a scenario.
type runSpec struct {
	Scenario
	run        int
	messages   int
	chats      int
	replyEvery int // an agent answers every replyEvery-th message; 0 none
	seed       uint64
	timeout    time.Duration
	bin        string
	workDir    string
	// postgresDSN selects PostgreSQL; the run gets a schema of its own.
	postgresDSN string
	// lease, when above 0, is the gateway's delivery.lease.
	lease time.Duration
	// stored conversations are made before the measured messages (seed).
	stored int
	// batch, above 0, is the webhook helpdesk's batch_events.
	batch int
	// workers, above 0, is the gateway's delivery.workers.
	workers int
}

// runScenario runs the gateway against the fakes once and measures it.
func runScenario(ctx context.Context, spec runSpec) (res Result, err error) {
	storeName := "sqlite"
	if spec.postgresDSN != "" {
		storeName = "postgres"
	}
	res = Result{Scenario: spec.Name, Run: spec.run, Store: storeName, Messages: spec.messages, Chats: spec.chats, Rate: spec.Rate, Kills: spec.Kills}
	dir, err := os.MkdirTemp(spec.workDir, fmt.Sprintf("%s-%d-", spec.Name, spec.run))
	if err != nil {
		return res, fmt.Errorf("run dir: %w", err)
	}
	tg := telegramfake.New(botToken)
	tgSrv := httptest.NewServer(tg)
	defer tgSrv.Close()
	defer tg.Close()
	rc := webhookreceiver.New(nil, secret, 5*time.Minute)
	rcSrv := httptest.NewServer(rc)
	defer rcSrv.Close()

	setup := gatewayproc.Setup{DataDir: filepath.Join(dir, "data"), TelegramURL: tgSrv.URL, Token: botToken,
		ReceiverURL: rcSrv.URL, Secret: secret, APIToken: apiToken, Lease: spec.lease, WebhookBatch: spec.batch, Workers: spec.workers}
	if spec.postgresDSN != "" {
		dsn, drop, err := gatewayproc.FreshSchema(ctx, spec.postgresDSN)
		if err != nil {
			return res, err
		}
		defer drop()
		setup.PostgresDSN = dsn
	}
	if setup.Port, err = gatewayproc.FreePort(); err != nil {
		return res, err
	}
	configPath := filepath.Join(dir, "gateway.yaml")
	if err := setup.WriteConfig(configPath); err != nil {
		return res, err
	}
	logFile, err := os.Create(filepath.Join(dir, "gateway.log"))
	if err != nil {
		return res, fmt.Errorf("gateway log: %w", err)
	}
	defer logFile.Close()
	gw := newGateway(spec.bin, configPath, setup.Port, logFile)
	defer gw.kill()
	started := time.Now()
	if err := gw.start(ctx); err != nil {
		return res, fmt.Errorf("%w (log: %s)", err, logFile.Name())
	}
	res.StartSeconds = time.Since(started).Seconds()
	if spec.stored > 0 {
		if res.StartSeconds, err = seed(ctx, gw, tg, rc, spec); err != nil {
			return res, fmt.Errorf("%w (log: %s)", err, logFile.Name())
		}
	}

	var server serverCPU
	var serverBefore time.Duration
	if spec.postgresDSN != "" {
		var local bool
		if server, local, err = localServer(ctx, setup.PostgresDSN); err != nil {
			return res, err
		}
		if local {
			if serverBefore, err = server.cpu(); err != nil {
				return res, err
			}
		}
	}

	ctx, cancel := context.WithTimeout(ctx, spec.timeout)
	defer cancel()
	began := time.Now()
	col := newCollector(rc, spec)
	agents := newAgents(gw.base + "/api/v1/helpdesks/desk/events")
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel() // stops the goroutines before they are waited for
	wg.Go(func() { col.follow(ctx, agents) })
	for range 4 {
		wg.Go(func() { agents.work(ctx) })
	}
	updateOf := make([]int, spec.messages)
	wg.Go(func() { feed(ctx, tg, spec, updateOf) })
	killErr := make(chan error, 1)
	var kills []time.Time
	wg.Go(func() {
		var err error
		kills, err = killAtRandom(ctx, gw, col, spec)
		killErr <- err
	})
	if err := <-killErr; err != nil {
		return res, fmt.Errorf("%w (log: %s)", err, logFile.Name())
	}
	waitDone(ctx, gw.base, col, agents, tg, spec)
	res.WallSeconds = time.Since(began).Seconds()
	if server.postmaster != 0 {
		after, err := server.cpu()
		if err != nil {
			return res, err
		}
		res.ServerCPUSeconds = new((after - serverBefore).Seconds())
	}
	u := gw.usage()
	gw.terminate()
	cancel()
	wg.Wait()

	handed := tg.HandedOut()
	sends := make([]sent, len(updateOf))
	for i, id := range updateOf {
		sends[i] = sent{n: i, at: handed[id]} // zero when never handed out: lost
	}
	// The run's context is cancelled by now; the store is read once the gateway stopped.
	recorded, err := gatewayproc.RecordedSends(context.WithoutCancel(ctx), setup.DataDir, setup.PostgresDSN, "tg")
	if err != nil {
		return res, err
	}
	res.Inbound = measure(sends, col.arrivals(), rc.Repeats(), nil, nil)
	res.Replies = measure(agents.sends(), replyArrivals(tg, spec.chats), agents.retries(), kills, recorded)
	res.Starts = u.starts
	res.PeakRSSMB = float64(u.peakRSSk) / 1024
	res.PeakAnonMB = float64(u.peakAnonk) / 1024
	res.CPUSeconds = u.cpu.Seconds()
	res.Stored, res.WebhookBatch, res.Workers = spec.stored, spec.batch, spec.workers
	if n := res.Inbound.Delivered + res.Replies.Delivered; n > 0 {
		res.CPUSecondsPer1k = res.CPUSeconds / float64(n) * 1000
		if res.ServerCPUSeconds != nil {
			res.ServerCPUSecondsPer1k = new(*res.ServerCPUSeconds / float64(n) * 1000)
		}
	}
	for _, e := range rc.Errors() {
		return res, fmt.Errorf("the fake helpdesk refused what the gateway sent: %w (log: %s)", e, logFile.Name())
	}
	if !res.failed() {
		os.RemoveAll(dir)
	}
	return res, nil
}

// feed hands the messages to the fake Telegram, message i in chat i % chats: all at once, or
// paced at spec.Rate. updateOf[i] receives message i's update_id.
func feed(ctx context.Context, tg *telegramfake.Server, spec runSpec, updateOf []int) {
	start := time.Now()
	for i := range spec.messages {
		if spec.Rate > 0 {
			due := start.Add(time.Duration(float64(i) / spec.Rate * float64(time.Second)))
			if wait := time.Until(due); wait > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(wait):
				}
			}
		}
		chat := int64(firstChat + i%spec.chats)
		updateOf[i] = tg.AddUpdate(tgbotapi.Update{Message: &tgbotapi.Message{
			Date: int(time.Now().Unix()),
			From: &tgbotapi.User{ID: chat, FirstName: "Player", LanguageCode: "en"},
			Chat: &tgbotapi.Chat{ID: chat, Type: "private"},
			Text: messageText(i)}})
	}
}

// seedPrefix begins the text of the messages that make the stored conversations.
const seedPrefix = "load seed "

// seed makes spec.stored conversations before the measured run: one message from each of as
// many chats after the measured ones, handed to the fake Telegram 100 at a time as the
// gateway takes them, until all reached the helpdesk and the queues are empty. It then
// restarts the gateway, so the run starts from a process that has them on disk and nothing of
// their delivery in memory, and returns how long that start took.
func seed(ctx context.Context, gw *gateway, tg *telegramfake.Server, rc *webhookreceiver.Receiver, spec runSpec) (float64, error) {
	arrived, next := 0, 0
	for i := 0; arrived < spec.stored; {
		for ; i < spec.stored && i-arrived < 1000; i++ {
			chat := int64(firstChat + spec.chats + i)
			tg.AddUpdate(tgbotapi.Update{Message: &tgbotapi.Message{Date: int(time.Now().Unix()),
				From: &tgbotapi.User{ID: chat, FirstName: "Player", LanguageCode: "en"},
				Chat: &tgbotapi.Chat{ID: chat, Type: "private"}, Text: seedPrefix + strconv.Itoa(i)}})
		}
		evs := rc.EventsSince(next)
		next += len(evs)
		for _, ev := range evs {
			if ev.Event.Event == webhook.EventMessageCreated && ev.Event.Message != nil && strings.HasPrefix(ev.Event.Message.Text, seedPrefix) {
				arrived++ // the gateway posts each once here: nothing kills it
			}
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("seeding %d conversations: %w (%d arrived)", spec.stored, ctx.Err(), arrived)
		case <-time.After(20 * time.Millisecond):
		}
	}
	for !gatewayproc.QueuesEmpty(ctx, gw.base) {
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("seeding: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	gw.terminate()
	started := time.Now()
	if err := gw.start(ctx); err != nil {
		return 0, fmt.Errorf("start with %d stored conversations: %w", spec.stored, err)
	}
	// The figures of the run start with the restarted process.
	gw.forgetEnded()
	return time.Since(started).Seconds(), nil
}

// killAtRandom SIGKILLs the gateway spec.Kills times, each once a random share (5-95 %) of
// the messages reached the helpdesk, and restarts it at once. It returns the moments of the kills.
func killAtRandom(ctx context.Context, gw *gateway, col *collector, spec runSpec) ([]time.Time, error) {
	rng := rand.New(rand.NewPCG(spec.seed, uint64(spec.run)))
	at := make([]int, spec.Kills)
	for i := range at {
		at[i] = int(float64(spec.messages) * (0.05 + 0.9*rng.Float64()))
	}
	slices.Sort(at)
	var kills []time.Time
	for _, n := range at {
		for col.received() < n {
			select {
			case <-ctx.Done():
				return kills, nil
			case <-time.After(2 * time.Millisecond):
			}
		}
		gw.kill()
		kills = append(kills, time.Now())
		if err := gw.start(ctx); err != nil {
			return kills, fmt.Errorf("restart after SIGKILL: %w", err)
		}
	}
	return kills, nil
}

// waitDone waits until every message reached the helpdesk, every reply was accepted and sent
// to Telegram, and the gateway's queues are empty (so late duplicates show), or ctx ends.
func waitDone(ctx context.Context, base string, col *collector, agents *agents, tg *telegramfake.Server, spec runSpec) {
	replies := 0
	for n := range spec.messages {
		if spec.answered(n) {
			replies++
		}
	}
	for {
		if col.received() >= spec.messages && agents.accepted() >= replies &&
			len(replyArrivals(tg, spec.chats)) >= replies && gatewayproc.QueuesEmpty(ctx, base) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// replyArrivals are the agents' replies Telegram received, by the reply's number.
func replyArrivals(tg *telegramfake.Server, chats int) []arrival {
	var out []arrival
	for c := range chats {
		for _, m := range tg.Sent(int64(firstChat + c)) {
			if n, ok := numberIn(m.Text, replyPrefix); ok && m.Method == "sendMessage" {
				// Telegram has no idempotency key: every send is a new message to the player.
				// The ID as the channel records it (chat:message), so the store's record of it is found.
				out = append(out, arrival{n: n, id: fmt.Sprint(m.ChatID, ":", m.MessageID), at: m.At})
			}
		}
	}
	return out
}

// answered reports whether the agents answer message n: every replyEvery-th message of each
// chat, staggered between chats. Answering every replyEvery-th message overall would put all
// replies into the few chats whose number divides evenly, where Telegram's one message a
// second per chat (which the channel keeps to) would measure that limit, not the gateway.
func (s runSpec) answered(n int) bool {
	if s.replyEvery <= 0 {
		return false
	}
	chat, round := n%s.chats, n/s.chats
	return round%s.replyEvery == chat%s.replyEvery
}

// collector follows the fake helpdesk's events: it counts the players' messages that arrived
// and hands those the agents answer to them.
type collector struct {
	rc    *webhookreceiver.Receiver
	spec  runSpec
	count atomic.Int64

	mu   sync.Mutex
	seen []arrival
}

func newCollector(rc *webhookreceiver.Receiver, spec runSpec) *collector {
	return &collector{rc: rc, spec: spec}
}

func (c *collector) follow(ctx context.Context, agents *agents) {
	next := 0
	firsts := map[int]bool{}
	for {
		evs := c.rc.EventsSince(next)
		next += len(evs)
		for _, ev := range evs {
			if ev.Event.Event != webhook.EventMessageCreated || ev.Event.Message == nil {
				continue
			}
			n, ok := numberIn(ev.Event.Message.Text, messagePrefix)
			if !ok {
				continue
			}
			c.mu.Lock()
			c.seen = append(c.seen, arrival{n: n, id: ev.Key, at: ev.At})
			c.mu.Unlock()
			if firsts[n] {
				continue
			}
			firsts[n] = true
			c.count.Add(1)
			if c.spec.answered(n) {
				agents.queue(n, ev.Event.Conversation.ID)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// received counts the distinct messages that reached the helpdesk.
func (c *collector) received() int { return int(c.count.Load()) }

func (c *collector) arrivals() []arrival {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.seen)
}

// agents post replies through the webhook helpdesk's events API, retrying each until the
// gateway answers 2xx, as an operator's system does through restarts.
type agents struct {
	url    string
	work1  chan reply
	client *http.Client

	mu       sync.Mutex
	started  []sent
	nRetries int
	nOK      int
}

type reply struct {
	n    int
	conv string
}

func newAgents(url string) *agents {
	return &agents{url: url, work1: make(chan reply, 1<<16), client: &http.Client{Timeout: 30 * time.Second}}
}

func (a *agents) queue(n int, conv string) { a.work1 <- reply{n: n, conv: conv} }

func (a *agents) work(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case r := <-a.work1:
			a.post(ctx, r)
		}
	}
}

func (a *agents) post(ctx context.Context, r reply) {
	body, _ := json.Marshal(webhook.InEvent{Event: webhook.EventReplyCreated, ReplyID: fmt.Sprint("r-", r.n),
		ConversationID: r.conv, Text: replyText(r.n), Agent: webhook.Agent{Name: "Load Agent"}})
	a.mu.Lock()
	a.started = append(a.started, sent{n: r.n, at: time.Now()})
	a.mu.Unlock()
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			a.mu.Lock()
			a.nRetries++
			a.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
		if gatewayproc.PostEvent(ctx, a.client, a.url, apiToken, body) {
			a.mu.Lock()
			a.nOK++
			a.mu.Unlock()
			return
		}
	}
}

func (a *agents) sends() []sent {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.started)
}

// retries counts the replies posted again because the gateway gave no 2xx (it was down).
func (a *agents) retries() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.nRetries
}

func (a *agents) accepted() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.nOK
}
