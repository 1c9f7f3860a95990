package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/store"
)

func botMessage(conv normalize.ConversationID, ext string) normalize.Message {
	m := agentMessage(conv, ext)
	m.Author = normalize.Author{Role: normalize.RoleBot, DisplayName: "FAQ bot"}
	return m
}

// The FAQ bot's conversation and the response clock, in both dialects: no clock runs while
// the bot holds the conversation and the bot's answers stop none (they are not an agent's);
// the hand-off starts the first-response clock at its own moment, timed by the clock given,
// and only an agent's answer stops it, as a first response. Conversations of removed bots
// handed off at start get their clock the same way.
func TestBotHeldConversationsClock(t *testing.T) {
	for _, name := range dialects {
		t.Run(name, func(t *testing.T) {
			clk := newStageClock()
			st := openDialect(t, name, clk)
			ctx := t.Context()
			policy := stagePolicy(false)
			hold := func(m normalize.Message) store.Assessment { a := policy(m); a.Hold = "faq"; return a }
			handoff := func(kind normalize.ChannelKind, since time.Time, next bool, _ int) (time.Time, time.Time) {
				require.Equal(t, normalize.KindLoopback, kind)
				require.False(t, next, "no agent answered before")
				return since.Add(4 * time.Minute), since.Add(5 * time.Minute)
			}

			acc, err := st.Intake(ctx, []normalize.Message{inbound("p1", "q1")}, hold)
			require.NoError(t, err)
			conv := acc[0].Conversation
			c, err := st.Conversation(ctx, conv)
			require.NoError(t, err)
			require.Zero(t, c.SLA, "no clock while the bot holds it")

			clk.advance(time.Minute)
			acc, err = st.Intake(ctx, []normalize.Message{botMessage(conv, "b1")}, policy)
			require.NoError(t, err)
			require.Nil(t, acc[0].Answered, "a bot's answer stops no clock")
			clk.advance(time.Minute)
			_, err = st.Intake(ctx, []normalize.Message{inbound("p1", "q2")}, policy)
			require.NoError(t, err)
			c, err = st.Conversation(ctx, conv)
			require.NoError(t, err)
			require.Zero(t, c.SLA, "still the bot's")
			clk.advance(20 * time.Minute)
			next, err := st.NextSLADue(ctx)
			require.NoError(t, err)
			require.True(t, next.IsZero(), "nothing to breach")

			handedOff := clk.Now()
			released, err := st.Release(ctx, conv, handoff)
			require.NoError(t, err)
			require.True(t, released)
			c, err = st.Conversation(ctx, conv)
			require.NoError(t, err)
			require.Equal(t, normalize.SLA{AwaitingSince: handedOff, NearBreachAt: handedOff.Add(4 * time.Minute), DueAt: handedOff.Add(5 * time.Minute)}, c.SLA)
			released, err = st.Release(ctx, conv, handoff)
			require.NoError(t, err)
			require.False(t, released)

			clk.advance(2 * time.Minute)
			acc, err = st.Intake(ctx, []normalize.Message{agentMessage(conv, "a1")}, policy)
			require.NoError(t, err)
			require.Equal(t, &store.Answered{Next: false, ChannelKind: normalize.KindLoopback, AwaitingSince: handedOff, At: clk.Now()}, acc[0].Answered,
				"the agent's first answer, timed from the hand-off")

			// A conversation of a bot no longer configured: its clock starts at start.
			acc, err = st.Intake(ctx, []normalize.Message{inbound("p2", "r1")}, hold)
			require.NoError(t, err)
			clk.advance(time.Minute)
			n, err := st.ReleaseOthers(ctx, nil, handoff)
			require.NoError(t, err)
			require.Equal(t, 1, n)
			c, err = st.Conversation(ctx, acc[0].Conversation)
			require.NoError(t, err)
			require.Equal(t, clk.Now(), c.SLA.AwaitingSince)
			require.Equal(t, clk.Now().Add(5*time.Minute), c.SLA.DueAt)
		})
	}
}
