package faqbot

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/store"
)

type fixture struct {
	st  *store.Store
	e   *Engine
	now time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{now: time.Now()}
	st, err := store.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "gw.db"), store.Options{Now: func() time.Time { return f.now }})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	b, err := New(Config{Name: "faq", Knowledge: exampleKnowledge(t), Quiet: time.Minute})
	require.NoError(t, err)
	f.st = st
	f.e = NewEngine(st, []*Bot{b}, Options{FlagTag: "responsible-gambling", Now: func() time.Time { return f.now }}, prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
	return f
}

var ext int

// deliver stores a player's message as the router does (held by the bot) and hands it to
// the bot; it returns the message as delivered, to deliver again.
func (f *fixture) deliver(t *testing.T, text string) normalize.Message {
	t.Helper()
	ext++
	m := normalize.Message{Direction: normalize.Inbound, Source: "tg", Channel: "tg", ChannelKind: normalize.KindTelegram, Address: "42",
		ExternalID: normalize.ExternalID(time.Now().Format("150405.000000000")), Author: normalize.Author{Role: normalize.RolePlayer, Language: "sv"},
		Kind: normalize.KindText, Text: text}
	f.again(t, m)
	return m
}

func (f *fixture) again(t *testing.T, m normalize.Message) {
	t.Helper()
	msgs := []normalize.Message{m}
	acc, err := f.st.Intake(context.Background(), msgs, func(normalize.Message) store.Assessment { return store.Assessment{Helpdesk: "desk", Hold: "faq"} })
	require.NoError(t, err)
	require.NoError(t, f.e.Take(context.Background(), msgs, acc))
}

// claimAll drains the lanes claimable now and returns their messages' texts by direction.
func (f *fixture) claimAll(t *testing.T) map[normalize.Direction][]string {
	t.Helper()
	out := map[normalize.Direction][]string{}
	for {
		lanes, err := f.st.Claim(context.Background(), "w", store.Budget{Inbound: 10, Outbound: 10}, 100, time.Minute)
		require.NoError(t, err)
		if len(lanes) == 0 {
			return out
		}
		for _, l := range lanes {
			o := store.Outcome{Conversation: l.Conversation.ID, Direction: l.Direction, Owner: "w", Token: l.Token, Target: "x"}
			if l.Direction == normalize.Inbound && l.Conversation.Ticket == "" {
				o.Ticket = "T-1"
			}
			for _, p := range l.Pending {
				out[l.Direction] = append(out[l.Direction], p.Message.Text)
				o.Delivered = append(o.Delivered, store.Delivered{Seq: p.Seq, ID: p.Message.ID})
			}
			require.NoError(t, f.st.Complete(context.Background(), o))
		}
	}
}

func TestEngineAnswersOnceAndResolvesWithoutTicket(t *testing.T) {
	f := newFixture(t)
	m := f.deliver(t, "Jag har glömt mitt lösenord")
	f.again(t, m) // the channel delivers it again (a lost acknowledgement, a crash)
	got := f.claimAll(t)
	require.Len(t, got[normalize.Outbound], 1, "one answer, though the message came twice")
	require.Contains(t, got[normalize.Outbound][0], "Glömt lösenord")
	require.Empty(t, got[normalize.Inbound], "nothing reaches the helpdesk")

	f.now = f.now.Add(2 * time.Minute) // the player goes quiet
	require.NoError(t, f.e.sweep(context.Background()))
	require.Empty(t, f.claimAll(t)[normalize.Inbound])
	require.Equal(t, 1.0, value(t, f.e.m.conversations.WithLabelValues("faq", StatusResolved)))
	require.Equal(t, 0.0, value(t, f.e.m.conversations.WithLabelValues("faq", StatusHandedOff)))
	stats, err := f.st.Stats(context.Background())
	require.NoError(t, err)
	require.Zero(t, stats.Queued[normalize.Inbound], "settled messages leave the queue")
	c, err := f.st.ConversationAt(context.Background(), "tg", "42")
	require.NoError(t, err)
	require.Equal(t, normalize.StatusClosed, c.Status)
	require.Empty(t, c.Ticket)
}

func TestEngineHandsOffTheWholeExchangeInOrder(t *testing.T) {
	f := newFixture(t)
	f.deliver(t, "Jag har glömt mitt lösenord")
	f.deliver(t, "Vilka spel har ni?")
	require.Empty(t, f.claimAll(t)[normalize.Inbound])
	f.deliver(t, "och vilka slots?") // the second unanswered turn in a row
	got := f.claimAll(t)
	require.Len(t, got[normalize.Inbound], 6)
	require.Equal(t, "Jag har glömt mitt lösenord", got[normalize.Inbound][0])
	require.Contains(t, got[normalize.Inbound][1], BotName+": Tryck på")
	require.Equal(t, "Vilka spel har ni?", got[normalize.Inbound][2])
	require.Contains(t, got[normalize.Inbound][3], builtinTexts["sv"][TextFallback])
	require.Equal(t, "och vilka slots?", got[normalize.Inbound][4])
	require.Contains(t, got[normalize.Inbound][5], "the bot could not answer")
	require.Equal(t, 1.0, value(t, f.e.m.handoffs.WithLabelValues("faq", ReasonUnanswered)))
	// From now on the conversation is an ordinary one.
	f.deliver(t, "hallå?")
	require.Equal(t, []string{"hallå?"}, f.claimAll(t)[normalize.Inbound])
}

func value(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	require.NoError(t, c.Write(&m))
	return m.GetCounter().GetValue()
}

// Two messages of one burst share a millisecond, and their IDs may sort either way: the
// second is answered all the same, and each once.
func TestEngineTakesABurstWhateverTheIDsOrder(t *testing.T) {
	f := newFixture(t)
	msg := func(id, ext, text string) normalize.Message {
		return normalize.Message{ID: normalize.MessageID(id), Direction: normalize.Inbound, Source: "tg", Channel: "tg",
			ChannelKind: normalize.KindTelegram, Address: "42", ExternalID: normalize.ExternalID(ext),
			Author: normalize.Author{Role: normalize.RolePlayer, Language: "en"}, Kind: normalize.KindText, Text: text}
	}
	msgs := []normalize.Message{msg("m0000000000000000b", "1", "I forgot my password"), msg("m0000000000000000a", "2", "where is my withdrawal")}
	for range 2 {
		acc, err := f.st.Intake(context.Background(), msgs, func(normalize.Message) store.Assessment { return store.Assessment{Helpdesk: "desk", Hold: "faq"} })
		require.NoError(t, err)
		require.NoError(t, f.e.Take(context.Background(), msgs, acc))
	}
	got := f.claimAll(t)[normalize.Outbound]
	require.Len(t, got, 2)
	require.Contains(t, got[0], "Forgot password?")
	require.Contains(t, got[1], "Withdrawals are reviewed")
}

// The bot's answer stops no response clock and none runs while it holds the conversation;
// its hand-off starts the first-response clock at the hand-off, timed by the bot's SLA.
func TestHandOffStartsTheResponseClock(t *testing.T) {
	f := newFixture(t)
	var asked []string
	f.e.clock = func(bot string) store.HandoffClock {
		asked = append(asked, bot)
		return func(_ normalize.ChannelKind, since time.Time, _ bool, _ int) (time.Time, time.Time) {
			return time.Time{}, since.Add(5 * time.Minute)
		}
	}
	f.deliver(t, "Jag har glömt mitt lösenord")
	c, err := f.st.ConversationAt(context.Background(), "tg", "42")
	require.NoError(t, err)
	require.Zero(t, c.SLA, "answered by the bot, waiting for no agent")

	f.now = f.now.Add(3 * time.Minute)
	f.deliver(t, "Talk to an agent")
	c, err = f.st.Conversation(context.Background(), c.ID)
	require.NoError(t, err)
	require.Equal(t, []string{"faq"}, asked)
	require.Equal(t, f.now.UnixMilli(), c.SLA.AwaitingSince.UnixMilli(), "the clock starts at the hand-off")
	require.Equal(t, f.now.Add(5*time.Minute).UnixMilli(), c.SLA.DueAt.UnixMilli())
}
