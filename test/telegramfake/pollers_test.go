package telegramfake

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
	"github.com/stretchr/testify/require"
)

// Two bots long-polling at once: the earlier poll is terminated with Telegram's 409, the
// overlap is counted, and the newer poll goes on.
func TestSecondPollerConflicts(t *testing.T) {
	fake, bot, err := newBot(t, token)
	require.NoError(t, err)
	first := make(chan error, 1)
	go func() {
		_, err := bot.GetUpdates(tgbotapi.UpdateConfig{Timeout: 20})
		first <- err
	}()
	require.Eventually(t, func() bool { return len(fake.Polls()) == 1 }, 5*time.Second, 10*time.Millisecond)

	second := make(chan []tgbotapi.Update, 1)
	go func() {
		u, _ := bot.GetUpdates(tgbotapi.UpdateConfig{Timeout: 20})
		second <- u
	}()
	var te *tgbotapi.Error
	select {
	case err := <-first:
		require.ErrorAs(t, err, &te)
		require.Equal(t, 409, te.Code)
		require.Equal(t, ConflictPollers, te.Message)
	case <-time.After(10 * time.Second):
		t.Fatal("the first poll was not terminated by the second")
	}
	require.Equal(t, 1, fake.Overlaps())

	id := fake.AddUpdate(text(1, "to the newer poller"))
	select {
	case u := <-second:
		require.Len(t, u, 1)
		require.Equal(t, id, u[0].UpdateID)
	case <-time.After(10 * time.Second):
		t.Fatal("the newer poll did not get the update")
	}
}

// One poller, however it polls, is never an overlap: polls one after another, and a poll
// cancelled by its client (a stopping or killed replica) followed at once by the next.
func TestOnePollerNeverConflicts(t *testing.T) {
	fake := New(token)
	srv := httptest.NewServer(fake)
	t.Cleanup(func() { fake.Close(); srv.Close() })
	bot, err := tgbotapi.NewBotAPIWithClient(token, srv.URL+"/bot%s/%s", srv.Client())
	require.NoError(t, err)
	for i := range 3 {
		fake.AddUpdate(text(1, "hello"))
		u, err := bot.GetUpdates(tgbotapi.UpdateConfig{Offset: i + 1, Timeout: 5})
		require.NoError(t, err)
		require.Len(t, u, 1)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancelled := make(chan struct{})
	go func() {
		defer close(cancelled)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/bot"+token+"/getUpdates?timeout=20", nil)
		if err != nil {
			return
		}
		if resp, err := srv.Client().Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	require.Eventually(t, func() bool { return len(fake.Polls()) == 4 }, 5*time.Second, 10*time.Millisecond)
	cancel()
	<-cancelled
	_, err = bot.GetUpdates(tgbotapi.UpdateConfig{Offset: 4, Timeout: 0})
	require.NoError(t, err)
	require.Zero(t, fake.Overlaps())
	require.Len(t, fake.Polls(), 5)
}
