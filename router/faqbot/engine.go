package faqbot

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/playerdir"
	"github.com/casino-support/gateway/router/store"
)

// Store is what the bots need of the store: intake for their words, the conversation, the
// held lanes (router/store/held.go) and connector records for their state.
type Store interface {
	connectors.Records
	Intake(ctx context.Context, msgs []normalize.Message, assess store.Assess) ([]store.Accepted, error)
	Conversation(ctx context.Context, id normalize.ConversationID) (normalize.Conversation, error)
	HeldBy(ctx context.Context, conv normalize.ConversationID) (string, error)
	Release(ctx context.Context, conv normalize.ConversationID, clock store.HandoffClock) (bool, error)
	Settle(ctx context.Context, conv normalize.ConversationID, through normalize.MessageID) (bool, error)
	// TakeRecord and DropRecord are the lease that keeps replicas' steps on one
	// conversation apart (lock).
	TakeRecord(ctx context.Context, instance normalize.InstanceName, key, value string, expires time.Time) (bool, error)
	DropRecord(ctx context.Context, instance normalize.InstanceName, key, value string) error
}

// Directory is the player directory as the router asks it (router.Directory).
type Directory interface {
	Lookup(ctx context.Context, q playerdir.Query) (playerdir.Player, bool)
}

// Conversation states of State.Status.
const (
	StatusOpen      = "open"
	StatusResolved  = "resolved"
	StatusHandedOff = "handed_off"
)

// State is a conversation's exchange with its bot, kept as a connector record (instance
// RecordInstance, key "c/<conversation>").
type State struct {
	Bot    string `json:"bot"`
	Status string `json:"status"`
	// Unanswered counts the turns in a row the bot had no answer for.
	Unanswered int `json:"unanswered,omitempty"`
	// Answered is true when the bot's last reply was an answer.
	Answered bool `json:"answered,omitempty"`
	// Last is the latest player's message the bot took, Taken the latest few: a message its
	// channel delivers again is not taken twice. (IDs grow with the millisecond only: two
	// messages of one burst may sort either way, so the IDs are kept, not compared.)
	Last  normalize.MessageID   `json:"last,omitempty"`
	Taken []normalize.MessageID `json:"taken,omitempty"`
	// Through is the last held message of the exchange (the ticket copy of the bot's last
	// reply), up to which a resolution settles the lane.
	Through normalize.MessageID `json:"through,omitempty"`
	// Wait is the key of the quiet timer running, if any.
	Wait   string `json:"wait,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// maxTaken is how many of the latest messages a State remembers: more than a channel
// redelivers at once (a Telegram batch holds up to 100 updates, of many chats).
const maxTaken = 32

// took records that the bot took the player's message id.
func (s *State) took(id normalize.MessageID) {
	s.Last = id
	s.Taken = append(s.Taken, id)
	if len(s.Taken) > maxTaken {
		s.Taken = s.Taken[len(s.Taken)-maxTaken:]
	}
}

// RecordInstance names the bots' connector records.
const RecordInstance normalize.InstanceName = "faqbot"

const (
	stateTTL = 90 * 24 * time.Hour
	// copyPrefix and replyPrefix are the external IDs of the bot's words, from the ID of the
	// player's message they answer: taken again after a crash, they are the same messages,
	// which intake stores once.
	replyPrefix = "faqbot:"
	copyPrefix  = "faqbot-copy:"
	closePrefix = "faqbot-close:"
	// BotName is how the bot signs what it says.
	BotName = "FAQ bot"
)

// Engine runs the configured bots on the conversations their routes open: Take, from the
// router's intake, and Run, the quiet timer (one replica at a time).
type Engine struct {
	st    Store
	dir   Directory
	bots  map[string]*Bot
	flag  string
	log   *slog.Logger
	now   func() time.Time
	clock func(bot string) store.HandoffClock
	m     *metrics
	locks [64]sync.Mutex
	// owner and seq name this process's leases (lock).
	owner string
	seq   atomic.Uint64
	// free remembers conversations no bot holds: a lane once released is never held again,
	// so the store is asked once per conversation and process, not once per message.
	freeMu sync.Mutex
	free   map[normalize.ConversationID]struct{}
}

// Options tune an engine.
type Options struct {
	// Directory answers the bots' questions about the player; nil answers none.
	Directory Directory
	// FlagTag is the tag duty of care puts on conversations the bots must leave to a person
	// (router.TagResponsibleGambling).
	FlagTag string
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// SLAClock times the response clock a hand-off of the named bot starts (the bot's rule's
	// SLA, router.Rules.HandoffClock): the player waits for a person from the hand-off on.
	// Nil starts clocks that measure the wait but have no target.
	SLAClock func(bot string) store.HandoffClock
}

// NewEngine returns an engine running bots; reg gets its metrics.
func NewEngine(st Store, bots []*Bot, opts Options, reg prometheus.Registerer, log *slog.Logger) *Engine {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	e := &Engine{st: st, dir: opts.Directory, bots: map[string]*Bot{}, flag: opts.FlagTag, log: log, now: opts.Now,
		clock: opts.SLAClock, owner: rand.Text(), m: newMetrics(reg), free: map[normalize.ConversationID]struct{}{}}
	for _, b := range bots {
		e.bots[b.Name()] = b
		e.m.init(b.Name())
	}
	return e
}

// slaClock times the response clock a hand-off of bot starts; nil for none.
func (e *Engine) slaClock(bot string) store.HandoffClock {
	if e.clock == nil {
		return nil
	}
	return e.clock(bot)
}

// Bots names the engine's bots.
func (e *Engine) Bots() []string { return sortedKeys(e.bots) }

// Take hands the players' messages just stored to the bot holding their conversation, if
// any. It runs after intake, before the channel is told the messages are stored, on
// redeliveries too: a failure fails the delivery, the channel delivers again, and the bot
// takes up what it had not finished. Its words are stored with IDs derived from the
// message's, so a message taken twice is answered once.
func (e *Engine) Take(ctx context.Context, msgs []normalize.Message, accepted []store.Accepted) error {
	for i, m := range msgs {
		if i >= len(accepted) || m.Direction != normalize.Inbound || m.Author.Role != normalize.RolePlayer {
			continue
		}
		a := accepted[i]
		if a.Conversation == "" || e.isFree(a.Conversation) {
			continue
		}
		if err := e.take(ctx, m, a); err != nil {
			return fmt.Errorf("faqbot: message %s of %s: %w", a.ID, a.Conversation, err)
		}
	}
	return nil
}

func (e *Engine) take(ctx context.Context, m normalize.Message, a store.Accepted) error {
	name, err := e.st.HeldBy(ctx, a.Conversation)
	if err != nil {
		return err
	}
	if name == "" {
		e.setFree(a.Conversation)
		return nil
	}
	unlock, err := e.lock(ctx, a.Conversation)
	if err != nil {
		return err
	}
	defer unlock()
	s, err := e.state(ctx, a.Conversation)
	if err != nil {
		return err
	}
	if slices.Contains(s.Taken, a.ID) {
		return e.finish(ctx, a.Conversation, s)
	}
	c, err := e.st.Conversation(ctx, a.Conversation)
	if err != nil {
		return err
	}
	b := e.bots[name]
	if b == nil {
		e.log.Warn("faqbot: the bot holding the conversation is not configured; handing it off", "conv", c.ID, "bot", name)
		s.Bot = name
		s.took(a.ID)
		return e.handOff(ctx, nil, c, s, a.ID, ReasonUnconfigured, nil)
	}
	if s.Status != StatusOpen && (s.Status != StatusResolved || b.cfg.AfterResolved == AfterResolvedBot) {
		s = State{Taken: s.Taken} // a new exchange: the first, or after a resolution
	}
	if s.Status == "" {
		s.Status = StatusOpen
	}
	s.Bot = name
	t := Turn{Message: m, Language: c.Language, Flagged: e.flag != "" && slices.Contains(c.Tags, e.flag)}
	if t.Language == "" {
		t.Language = m.Author.Language
	}
	if e.dir != nil {
		t.Player, t.Known = e.dir.Lookup(ctx, playerdir.QueryOf(m))
	}
	act := b.Decide(s, t)
	s.took(a.ID)
	switch {
	case act.Ignore:
		return e.save(ctx, c.ID, s)
	case act.Handoff != "":
		return e.handOff(ctx, b, c, s, a.ID, act.Handoff, act.Reply)
	}
	ids, err := e.say(ctx, c, a.ID, act.Reply, act.Resolve)
	if err != nil {
		return err
	}
	s.Through = ids[1]
	e.m.answers.WithLabelValues(name, sourceOf(act)).Inc()
	e.log.Info("faqbot: answered", "conv", c.ID, "bot", name, "entry", act.Entry, "source", act.Source, "score", act.Score, "resolve", act.Resolve)
	if act.Resolve {
		return e.resolve(ctx, b, c.ID, s)
	}
	s.Answered = act.Reply.Answer
	if act.Reply.Answer {
		s.Unanswered = 0
	} else {
		s.Unanswered++
	}
	s.Wait = fmt.Sprintf("w/%013d/%s", e.now().Add(b.Quiet()).UnixMilli(), c.ID)
	// The timer first: a state naming a timer that was never written would never settle.
	if err := e.st.PutRecord(ctx, RecordInstance, s.Wait, string(c.ID), e.now().Add(b.Quiet()+stateTTL)); err != nil {
		return err
	}
	return e.save(ctx, c.ID, s)
}

func sourceOf(act Action) string {
	switch {
	case act.Resolve:
		return "thanks"
	case act.Source != "":
		return act.Source
	}
	return "fallback"
}

// finish completes what taking a message began and a crash may have cut short: a hand-off's
// release, a resolution's settling, a timer.
func (e *Engine) finish(ctx context.Context, conv normalize.ConversationID, s State) error {
	switch s.Status {
	case StatusHandedOff:
		_, err := e.st.Release(ctx, conv, e.slaClock(s.Bot))
		return err
	case StatusResolved:
		if s.Through != "" {
			_, err := e.st.Settle(ctx, conv, s.Through)
			return err
		}
	case StatusOpen:
		if s.Wait != "" {
			return e.st.PutRecord(ctx, RecordInstance, s.Wait, string(conv), e.now().Add(stateTTL))
		}
	}
	return nil
}

// say stores the bot's reply to the player (outbound) and its copy for the ticket (inbound,
// held with the player's messages, so a hand-off posts the exchange in order); with close,
// also the conversation's closing. It returns the two messages' IDs.
func (e *Engine) say(ctx context.Context, c normalize.Conversation, to normalize.MessageID, r *Reply, close bool) ([]normalize.MessageID, error) {
	now := e.now()
	role := normalize.RoleBot
	if !r.Answer {
		role = normalize.RoleSystem // a request to rephrase, or the hand-off notice, answers nothing
	}
	msgs := []normalize.Message{
		{Direction: normalize.Outbound, Source: c.Helpdesk, ExternalID: normalize.ExternalID(replyPrefix + string(to)), Conversation: c.ID,
			Author: normalize.Author{Role: role, DisplayName: BotName}, Kind: normalize.KindText, Text: r.Text, QuickReplies: r.QuickReplies, SentAt: now},
		e.ticketNote(c, to, BotName+": "+r.Text+options(r.QuickReplies), now),
	}
	if close {
		msgs = append(msgs, normalize.Message{Direction: normalize.Outbound, Source: c.Helpdesk, ExternalID: normalize.ExternalID(closePrefix + string(to)),
			Conversation: c.ID, Author: normalize.Author{Role: normalize.RoleBot, DisplayName: BotName}, Kind: normalize.KindSystem,
			Status: normalize.StatusClosed, SentAt: now})
	}
	acc, err := e.st.Intake(ctx, msgs, noAssessment)
	if err != nil {
		return nil, err
	}
	return []normalize.MessageID{acc[0].ID, acc[1].ID}, nil
}

// ticketNote is an inbound system message by the bot: what the ticket shows of the exchange.
func (e *Engine) ticketNote(c normalize.Conversation, to normalize.MessageID, text string, now time.Time) normalize.Message {
	return normalize.Message{Direction: normalize.Inbound, Source: c.Channel, ExternalID: normalize.ExternalID(copyPrefix + string(to)),
		Conversation: c.ID, Channel: c.Channel, ChannelKind: c.ChannelKind, Address: c.Address,
		Author: normalize.Author{Role: normalize.RoleBot, DisplayName: BotName}, Kind: normalize.KindSystem, Text: text, SentAt: now}
}

func options(qr []string) string {
	if len(qr) == 0 {
		return ""
	}
	return " [" + strings.Join(qr, " | ") + "]"
}

// noAssessment is the routing policy of the bot's own words: they open nothing and change
// no priority or tag.
func noAssessment(normalize.Message) store.Assessment { return store.Assessment{} }

// reasonWords say a hand-off's reason on the ticket.
var reasonWords = map[string]string{
	ReasonRequested: "the player asked for a person", ReasonUnanswered: "the bot could not answer",
	ReasonDispute: "a payment dispute", ReasonComplaint: "a complaint", ReasonSelfExclusion: "a self-exclusion request",
	ReasonDutyOfCare: "duty of care flagged the conversation", ReasonMedia: "the player sent a file or media",
	ReasonReturned: "the player wrote again after a resolved question", ReasonUnconfigured: "the bot is no longer configured",
}

// handOff tells the player (reply, when given), notes the reason on the ticket, records
// the state and releases the lane: everything held goes to the helpdesk in order.
func (e *Engine) handOff(ctx context.Context, b *Bot, c normalize.Conversation, s State, to normalize.MessageID, reason string, reply *Reply) error {
	now := e.now()
	note := e.ticketNote(c, to, fmt.Sprintf("%s handed this conversation to a person: %s.", BotName, reasonWords[reason]), now)
	var msgs []normalize.Message
	if reply != nil {
		msgs = append(msgs, normalize.Message{Direction: normalize.Outbound, Source: c.Helpdesk, ExternalID: normalize.ExternalID(replyPrefix + string(to)),
			Conversation: c.ID, Author: normalize.Author{Role: normalize.RoleSystem, DisplayName: BotName}, Kind: normalize.KindText, Text: reply.Text, SentAt: now})
		note.Text = fmt.Sprintf("%s: %s (handed to a person: %s.)", BotName, reply.Text, reasonWords[reason])
	}
	msgs = append(msgs, note)
	if _, err := e.st.Intake(ctx, msgs, noAssessment); err != nil {
		return err
	}
	first := s.Status != StatusHandedOff
	s.Status, s.Reason, s.Wait = StatusHandedOff, reason, ""
	if err := e.save(ctx, c.ID, s); err != nil {
		return err
	}
	if _, err := e.st.Release(ctx, c.ID, e.slaClock(s.Bot)); err != nil {
		return err
	}
	e.setFree(c.ID)
	if first {
		e.m.outcome(s.Bot, StatusHandedOff)
		e.m.handoffs.WithLabelValues(s.Bot, reason).Inc()
		e.log.Info("faqbot: handed off", "conv", c.ID, "bot", s.Bot, "reason", reason)
	}
	return nil
}

// resolve records the exchange as resolved and settles the held messages: no ticket.
func (e *Engine) resolve(ctx context.Context, b *Bot, conv normalize.ConversationID, s State) error {
	first := s.Status != StatusResolved
	s.Status, s.Wait = StatusResolved, ""
	if err := e.save(ctx, conv, s); err != nil {
		return err
	}
	if _, err := e.st.Settle(ctx, conv, s.Through); err != nil {
		return err
	}
	if first {
		e.m.outcome(s.Bot, StatusResolved)
		e.log.Info("faqbot: resolved without a ticket", "conv", conv, "bot", s.Bot)
	}
	return nil
}

// Run settles the conversations whose players went quiet: resolved after an answer, handed
// off after a turn the bot could not answer. Run it on one replica at a time.
func (e *Engine) Run(ctx context.Context) error {
	tick := 10 * time.Second
	for _, b := range e.bots {
		tick = min(tick, max(b.Quiet()/4, 100*time.Millisecond))
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		if err := e.sweep(ctx); err != nil && ctx.Err() == nil {
			e.log.Error("faqbot: settle quiet conversations", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// sweep settles every conversation whose quiet timer ran out.
func (e *Engine) sweep(ctx context.Context) error {
	now := e.now().UnixMilli()
	for {
		recs, err := e.st.ListRecords(ctx, RecordInstance, "w/", "", 100)
		if err != nil {
			return err
		}
		done := 0
		for _, r := range recs {
			parts := strings.SplitN(r.Key, "/", 3)
			if len(parts) != 3 {
				continue
			}
			due, err := strconv.ParseInt(parts[1], 10, 64)
			if err != nil || due > now {
				return err // the keys sort by due time: the rest are not due either
			}
			if err := e.settle(ctx, normalize.ConversationID(parts[2]), r.Key); err != nil {
				return err
			}
			if err := e.st.DeleteRecord(ctx, RecordInstance, r.Key); err != nil {
				return err
			}
			done++
		}
		if done < 100 || len(recs) < 100 {
			return nil
		}
	}
}

func (e *Engine) settle(ctx context.Context, conv normalize.ConversationID, key string) error {
	unlock, err := e.lock(ctx, conv)
	if err != nil {
		return err
	}
	defer unlock()
	s, err := e.state(ctx, conv)
	if err != nil || s.Status != StatusOpen || s.Wait != key {
		return err // the player wrote since, or it was settled: the timer is stale
	}
	b := e.bots[s.Bot]
	if !s.Answered || b == nil {
		c, err := e.st.Conversation(ctx, conv)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return e.handOff(ctx, b, c, s, normalize.MessageID("quiet-"+string(s.Last)), ReasonUnanswered, nil)
	}
	c, err := e.st.Conversation(ctx, conv)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := e.st.Intake(ctx, []normalize.Message{{Direction: normalize.Outbound, Source: c.Helpdesk,
		ExternalID: normalize.ExternalID(closePrefix + string(s.Last)), Conversation: conv,
		Author: normalize.Author{Role: normalize.RoleBot, DisplayName: BotName}, Kind: normalize.KindSystem, Status: normalize.StatusClosed,
		SentAt: e.now()}}, noAssessment); err != nil {
		return err
	}
	return e.resolve(ctx, b, conv, s)
}

func (e *Engine) state(ctx context.Context, conv normalize.ConversationID) (State, error) {
	v, ok, err := e.st.Record(ctx, RecordInstance, "c/"+string(conv))
	if err != nil || !ok {
		return State{}, err
	}
	var s State
	if err := json.Unmarshal([]byte(v), &s); err != nil {
		return State{}, fmt.Errorf("decode the state of %s: %w", conv, err)
	}
	return s, nil
}

func (e *Engine) save(ctx context.Context, conv normalize.ConversationID, s State) error {
	b, _ := json.Marshal(s)
	return e.st.PutRecord(ctx, RecordInstance, "c/"+string(conv), string(b), e.now().Add(stateTTL))
}

const maxFree = 100_000

func (e *Engine) isFree(conv normalize.ConversationID) bool {
	e.freeMu.Lock()
	defer e.freeMu.Unlock()
	_, ok := e.free[conv]
	return ok
}

func (e *Engine) setFree(conv normalize.ConversationID) {
	e.freeMu.Lock()
	defer e.freeMu.Unlock()
	if len(e.free) >= maxFree {
		clear(e.free) // forgetting costs one look-up per conversation, not correctness
	}
	e.free[conv] = struct{}{}
}

type metrics struct {
	conversations *prometheus.CounterVec
	handoffs      *prometheus.CounterVec
	answers       *prometheus.CounterVec
	// busy counts steps given up because another replica held the conversation too long.
	busy prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		conversations: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gateway_bot_conversations_total",
			Help: "Exchanges with the FAQ bot that ended, by bot and outcome (resolved without a ticket, or handed_off to a person)."}, []string{"bot", "outcome"}),
		handoffs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gateway_bot_handoffs_total",
			Help: "Exchanges the FAQ bot handed to a person, by bot and reason."}, []string{"bot", "reason"}),
		answers: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gateway_bot_answers_total",
			Help: "Replies of the FAQ bot, by bot and source (knowledge, directory, thanks, fallback)."}, []string{"bot", "source"}),
		busy: prometheus.NewCounter(prometheus.CounterOpts{Name: "gateway_bot_lease_timeouts_total",
			Help: "FAQ bot steps given up (the delivery fails and is retried) because another replica held the conversation's lease too long."}),
	}
	if reg != nil {
		reg.MustRegister(m.conversations, m.handoffs, m.answers, m.busy)
	}
	return m
}

// init makes the bot's outcome series exist from the start, so the resolved share can be
// computed before the first hand-off.
func (m *metrics) init(bot string) {
	m.conversations.WithLabelValues(bot, StatusResolved)
	m.conversations.WithLabelValues(bot, StatusHandedOff)
}

func (m *metrics) outcome(bot, status string) { m.conversations.WithLabelValues(bot, status).Inc() }
