package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors/helpdesk/webhook"
	"github.com/casino-support/gateway/router/store/pgtest"
	"github.com/casino-support/gateway/test/gatewayproc"
	"github.com/casino-support/gateway/test/telegramfake"
	"github.com/casino-support/gateway/test/webhookreceiver"
)

const (
	botToken   = "4242:chaos"
	secret     = "chaos-webhook-secret-0123456789"
	apiToken   = "chaos-api-token"
	chatSecret = "chaos-webchat-token-secret-0123456789"
	firstChat  = 7_000_000_000

	replicas    = 3
	kills       = 3
	tgChats     = 4
	webPlayers  = 4
	perChat     = 6 // messages of each Telegram chat and each web chat player
	replyEvery  = 2 // agents answer every second message of each conversation
	quietPeriod = 3 * time.Second
)

// messageText is a player's message seq in conversation n of source ("tg" or "web").
func messageText(source string, n, seq int) string { return fmt.Sprintf("%s %d %d", source, n, seq) }

func replyText(message string) string { return "re: " + message }

// answered reports whether the agents answer a message of the form messageText writes.
func answered(message string) bool {
	f := strings.Fields(message)
	seq, err := strconv.Atoi(f[len(f)-1])
	return err == nil && seq%replyEvery == 1
}

// TestChaos runs three replicas of the binary on one schema and SIGKILLs them at random while
// Telegram chats, web chat players and the helpdesk's agents talk through them and the
// helpdesk fails now and then; then nothing may be lost or doubled. CHAOS_SEED replays a run's
// kills, faults and choices of replica (the machine's timing still varies).
func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the gateway binary")
	}
	baseDSN := pgtest.DSN(t)
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("CHAOS_SEED"); s != "" {
		var err error
		seed, err = strconv.ParseUint(s, 10, 64)
		require.NoError(t, err, "CHAOS_SEED")
	}
	t.Logf("chaos: seed %d (CHAOS_SEED=%d replays it)", seed, seed)
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	dir := t.TempDir()
	bin, err := gatewayproc.Build(ctx, dir)
	require.NoError(t, err)

	tg := telegramfake.New(botToken)
	tgSrv := httptest.NewServer(tg)
	defer tgSrv.Close()
	defer tg.Close()
	rc := webhookreceiver.New(nil, secret, 5*time.Minute)
	rcSrv := httptest.NewServer(rc)
	defer rcSrv.Close()
	dsn, drop, err := gatewayproc.FreshSchema(ctx, baseDSN)
	require.NoError(t, err)
	defer drop()

	c := startCluster(ctx, t, bin, dir, replicas, gatewayproc.Setup{TelegramURL: tgSrv.URL, Token: botToken,
		ReceiverURL: rcSrv.URL, Secret: secret, APIToken: apiToken, PostgresDSN: dsn, WebChatSecret: chatSecret,
		Lease: 5 * time.Second, BackoffMax: 2 * time.Second}, seed)
	defer c.killAll() // before the fakes close, so no replica holds a request to them open
	defer func() {
		if t.Failed() {
			c.logTails(t, 40)
		}
	}()

	load, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	var wg sync.WaitGroup
	ag := &agents{c: c, client: &http.Client{Timeout: 30 * time.Second}}
	wg.Go(func() { ag.follow(load, rc) })
	var faults atomic.Int64
	failing, stopFaults := context.WithCancel(load)
	defer stopFaults()
	wg.Go(func() { injectFaults(failing, rc, rand.New(rand.NewPCG(seed, 2)), &faults) })
	for chat := range tgChats {
		rng := rand.New(rand.NewPCG(seed, uint64(10+chat)))
		wg.Go(func() { feedTelegram(load, tg, rng, chat) })
	}
	players := make([]*player, webPlayers)
	var playing sync.WaitGroup
	for i := range players {
		players[i] = newPlayer(i, c, seed)
		playing.Go(func() { players[i].run(ctx, perChat, perChat/replyEvery) })
	}
	killedAt := c.killAtRandom(ctx, t, rand.New(rand.NewPCG(seed, 3)), kills)
	require.Len(t, killedAt, kills, "every kill happened")
	stopFaults() // the faults already queued still hit the next requests

	// The end: every message reached the helpdesk, every reply its player, and the queues of
	// every replica stay empty through a quiet period, so late duplicates have time to show.
	want := (tgChats + webPlayers) * perChat
	wantReplies := want / replyEvery
	done := func() bool {
		return len(messageEvents(rc)) >= want && ag.accepted() >= wantReplies &&
			len(telegramReplies(tg)) >= tgChats*perChat/replyEvery && allQueuesEmpty(ctx, c)
	}
	for !done() {
		if !sleep(ctx, 200*time.Millisecond) {
			t.Fatalf("chaos: not done in time: %d of %d messages at the helpdesk, %d of %d replies accepted, %d Telegram replies sent",
				len(messageEvents(rc)), want, ag.accepted(), wantReplies, len(telegramReplies(tg)))
		}
	}
	playing.Wait()
	require.NoError(t, ctx.Err(), "the web chat players did not see their replies in time")
	sleep(ctx, quietPeriod)
	require.True(t, allQueuesEmpty(ctx, c), "queues empty after the quiet period")
	stopLoad()
	wg.Wait()
	t.Logf("chaos: %d requests to the helpdesk, %d repeats, %d faults injected; %d replies posted again",
		rc.Requests(), rc.Repeats(), faults.Load(), ag.retries())

	require.Empty(t, rc.Errors(), "the fake helpdesk found the gateway's requests wrong")
	checkHelpdesk(t, rc)
	recorded, err := gatewayproc.RecordedSends(ctx, "", dsn, "tg")
	require.NoError(t, err)
	checkTelegram(t, tg, killedAt, recorded)
	for _, p := range players {
		shown := p.shownTexts()
		for seq := range perChat {
			text := replyText(messageText("web", p.n, seq))
			want := 0
			if answered(text) {
				want = 1
			}
			require.Equal(t, want, shown[text], "web chat player %d shows %q", p.n, text)
		}
		require.Len(t, shown, perChat/replyEvery, "player %d's page shows only its replies", p.n)
	}
	require.Zero(t, tg.Overlaps(), "two replicas polled the bot at once")
}

// messageEvents are the players' messages at the helpdesk, once per idempotency key.
func messageEvents(rc *webhookreceiver.Receiver) []webhookreceiver.Received {
	var out []webhookreceiver.Received
	for _, ev := range rc.Events() {
		if ev.Event.Event == webhook.EventMessageCreated && ev.Event.Message != nil {
			out = append(out, ev)
		}
	}
	return out
}

// checkHelpdesk asserts each player message reached the helpdesk once, in order within its
// conversation, and each conversation was opened once.
func checkHelpdesk(t *testing.T, rc *webhookreceiver.Receiver) {
	t.Helper()
	texts := map[string][]string{} // conversation → its messages' texts, in arrival order
	convOf := map[string]string{}  // "tg 3" → conversation
	for _, ev := range messageEvents(rc) {
		conv, text := ev.Event.Conversation.ID, ev.Event.Message.Text
		texts[conv] = append(texts[conv], text)
		f := strings.Fields(text)
		who := f[0] + " " + f[1]
		if prev, ok := convOf[who]; ok {
			require.Equal(t, prev, conv, "%s's messages in one conversation", who)
		}
		convOf[who] = conv
	}
	opened := map[string]int{}
	for _, ev := range rc.Events() {
		if ev.Event.Event == webhook.EventConversationOpened {
			opened[ev.Event.Conversation.ID]++
		}
	}
	require.Len(t, texts, tgChats+webPlayers, "one conversation per chat and player")
	for who, conv := range convOf {
		f := strings.Fields(who)
		n, _ := strconv.Atoi(f[1])
		var want []string
		for seq := range perChat {
			want = append(want, messageText(f[0], n, seq))
		}
		require.Equal(t, want, texts[conv], "%s: every message once, in order", who)
		require.Equal(t, 1, opened[conv], "%s: one ticket", who)
		require.NotEmpty(t, rc.Ticket(conv))
	}
}

// checkTelegram asserts every agent reply reached its Telegram chat once; a further copy is
// allowed only where a SIGKILL explains it: Telegram took a copy the store never recorded as
// sent (recorded holds the "chat:message" IDs the store has), and a kill came after it: the
// replica died between Telegram's answer and its record, and Telegram's API has no
// idempotency key, so nothing can tell that send from a lost one.
func checkTelegram(t *testing.T, tg *telegramfake.Server, kills []time.Time, recorded map[string]bool) {
	t.Helper()
	copies := telegramReplies(tg)
	atKill := 0
	for chat := range tgChats {
		for seq := range perChat {
			text := replyText(messageText("tg", chat, seq))
			sent := copies[text]
			if !answered(text) {
				require.Empty(t, sent, "%q was never written", text)
				continue
			}
			require.NotEmpty(t, sent, "%q reached chat %d", text, chat)
			explained := duplicatesAtKill(sent, kills, recorded)
			atKill += explained
			require.Equal(t, 1, len(sent)-explained, "%q: sent %d times %v, %d of them explained by a kill (kills at %v)", text, len(sent), sent, explained, kills)
		}
	}
	t.Logf("chaos: %d Telegram replies doubled by a kill right after Telegram took them (dup at kill)", atKill)
}

// sentCopy is one copy of a reply the fake Telegram took.
type sentCopy struct {
	id string // "chat:message", as the channel records it
	at time.Time
}

// duplicatesAtKill counts the copies the store never recorded that arrived before a kill; at
// most all but one copy.
func duplicatesAtKill(sent []sentCopy, kills []time.Time, recorded map[string]bool) int {
	n := 0
	for _, c := range sent {
		if recorded[c.id] {
			continue
		}
		for _, k := range kills {
			if !c.at.After(k) {
				n++
				break
			}
		}
	}
	return min(n, len(sent)-1)
}

// telegramReplies are the copies the fake Telegram took of each reply text.
func telegramReplies(tg *telegramfake.Server) map[string][]sentCopy {
	out := map[string][]sentCopy{}
	for chat := range tgChats {
		for _, m := range tg.Sent(int64(firstChat + chat)) {
			if m.Method == "sendMessage" && strings.HasPrefix(m.Text, "re: ") {
				out[m.Text] = append(out[m.Text], sentCopy{id: fmt.Sprint(m.ChatID, ":", m.MessageID), at: m.At})
			}
		}
	}
	return out
}

// feedTelegram hands chat's messages to the fake Telegram at random intervals.
func feedTelegram(ctx context.Context, tg *telegramfake.Server, rng *rand.Rand, chat int) {
	id := int64(firstChat + chat)
	for seq := range perChat {
		if !sleep(ctx, 300*time.Millisecond+time.Duration(rng.Int64N(int64(1500*time.Millisecond)))) {
			return
		}
		tg.AddUpdate(tgbotapi.Update{Message: &tgbotapi.Message{
			Date: int(time.Now().Unix()),
			From: &tgbotapi.User{ID: id, FirstName: "Player", LanguageCode: "en"},
			Chat: &tgbotapi.Chat{ID: id, Type: "private"},
			Text: messageText("tg", chat, seq)}})
	}
}

// injectFaults makes the helpdesk fail now and then: a 500, a 503, or an answer lost after
// the event was stored. It counts them in injected.
func injectFaults(ctx context.Context, rc *webhookreceiver.Receiver, rng *rand.Rand, injected *atomic.Int64) {
	kinds := []webhookreceiver.Fault{{Status: http.StatusInternalServerError}, {Status: http.StatusServiceUnavailable}, {LoseAnswer: true}}
	for sleep(ctx, 200*time.Millisecond+time.Duration(rng.Int64N(int64(600*time.Millisecond)))) {
		rc.Inject(kinds[rng.IntN(len(kinds))])
		injected.Add(1)
	}
}

// agents answer the messages answered() picks through random replicas, each reply posted
// until a replica accepts it, with the same reply_id every time.
type agents struct {
	c      *cluster
	client *http.Client

	mu       sync.Mutex
	ok, sent int
}

func (a *agents) follow(ctx context.Context, rc *webhookreceiver.Receiver) {
	next := 0
	var wg sync.WaitGroup
	defer wg.Wait()
	for sleep(ctx, 20*time.Millisecond) {
		evs := rc.EventsSince(next)
		next += len(evs)
		for _, ev := range evs {
			if ev.Event.Event != webhook.EventMessageCreated || ev.Event.Message == nil || !answered(ev.Event.Message.Text) {
				continue
			}
			in := webhook.InEvent{Event: webhook.EventReplyCreated, ReplyID: "r-" + ev.Key,
				ConversationID: ev.Event.Conversation.ID, Text: replyText(ev.Event.Message.Text), Agent: webhook.Agent{Name: "Chaos Agent"}}
			wg.Go(func() { a.post(ctx, in) })
		}
	}
}

func (a *agents) post(ctx context.Context, in webhook.InEvent) {
	body, _ := json.Marshal(in)
	for attempt := 0; ctx.Err() == nil; attempt++ {
		if attempt > 0 && !sleep(ctx, 200*time.Millisecond) {
			return
		}
		a.mu.Lock()
		a.sent++
		a.mu.Unlock()
		if gatewayproc.PostEvent(ctx, a.client, a.c.pick()+"/api/v1/helpdesks/desk/events", apiToken, body) {
			a.mu.Lock()
			a.ok++
			a.mu.Unlock()
			return
		}
	}
}

func (a *agents) accepted() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.ok
}

// retries counts the posts beyond the first of each reply.
func (a *agents) retries() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sent - a.ok
}

// allQueuesEmpty reads gateway_queue_depth from every replica's /metrics: all running and
// every direction 0.
func allQueuesEmpty(ctx context.Context, c *cluster) bool {
	for _, p := range c.replicas {
		if !p.Running() || !gatewayproc.QueuesEmpty(ctx, p.Base) {
			return false
		}
	}
	return true
}
