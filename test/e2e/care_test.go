package e2e

import (
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/test/escalationfake"
	"github.com/casino-support/gateway/test/loopback"
)

// TestDutyOfCareThroughTheBinary: a Russian self-exclusion request on Telegram makes the
// conversation urgent and tagged responsible-gambling, and the escalation webhook receives
// one signed duty_of_care call naming the phrase and the list's version, after a 5xx; left
// unanswered, the conversation's missed first-response target escalates it again.
func TestDutyOfCareThroughTheBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test builds and runs the binary")
	}
	const secret = "escalation-secret-of-16+"
	e, tg := telegramEnv(t, "123456:e2e-care-token")
	rc := escalationfake.New(secret)
	rc.FailNext(503)
	escSrv := httptest.NewServer(rc)
	t.Cleanup(escSrv.Close)

	e.addConfig(fmt.Sprintf("language:\n  detect: [en, ro, ru, sv, de, es, pt, it, fr, tr]\nescalation:\n  url: %s\n  secret: %q\n"+
		"sla:\n  first_response: {chat: 3s}\n", escSrv.URL, secret))
	e.start()

	const chat = 7100000009
	tg.AddUpdate(tgbotapi.Update{Message: &tgbotapi.Message{
		MessageID: 1, Date: int(time.Now().Unix()),
		From: &tgbotapi.User{ID: chat, FirstName: "Игрок", LanguageCode: "ru"},
		Chat: &tgbotapi.Chat{ID: chat, Type: "private"},
		Text: "Здравствуйте, прошу оформить самоисключение и заблокировать мой аккаунт"}})
	var tk loopback.Ticket
	require.Eventually(t, func() bool {
		for _, x := range e.helpdesk.Tickets() {
			if x.Address == fmt.Sprint(chat) {
				tk = x
			}
		}
		return len(tk.Messages) > 0
	}, time.Minute, 20*time.Millisecond)
	conv := e.conversationOf(t, tk.ID)
	require.Equal(t, "urgent", string(conv.Priority))
	require.True(t, slices.Contains(conv.Tags, "responsible-gambling"), "tags %v", conv.Tags)
	require.Equal(t, "ru", conv.Language)

	require.Eventually(t, func() bool { return len(rc.Taken()) == 1 }, time.Minute, 20*time.Millisecond)
	got := rc.Taken()[0]
	require.Equal(t, "duty_of_care", got.Reason)
	require.Equal(t, conv.ID, got.Conversation)
	require.True(t, strings.HasPrefix(got.PhraseID, "ru.self-exclusion."), got.PhraseID)
	require.NotEmpty(t, got.ListVersion)
	require.Equal(t, "urgent", string(got.Priority))
	require.Empty(t, rc.Errors(), "every call was signed with the configured secret")
	require.GreaterOrEqual(t, rc.Requests(), 2, "the 503 was retried")
	require.True(t, e.logs.Contains("duty of care: phrase list loaded"))

	// No agent answers: the first-response target runs out and escalates the same
	// conversation once more, for the breach.
	require.Eventually(t, func() bool { return len(rc.Taken()) == 2 }, time.Minute, 20*time.Millisecond)
	breach := rc.Taken()[1]
	require.Equal(t, "sla_breach", breach.Reason)
	require.Equal(t, conv.ID, breach.Conversation)
	require.False(t, breach.DueAt.IsZero())
	require.Empty(t, rc.Errors())
	require.False(t, e.logs.Contains(secret), "the escalation secret never reaches the logs")
}
