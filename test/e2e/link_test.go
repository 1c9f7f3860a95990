package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors/channel/telegram"
	"github.com/casino-support/gateway/connectors/channel/webchat"
	"github.com/casino-support/gateway/connectors/helpdesk/webhook"
	"github.com/casino-support/gateway/test/telegramfake"
	"github.com/casino-support/gateway/test/webhookreceiver"
)

// TestSamePlayerOnWebchatAndTelegramIsOnePlayer (issue 17): a player signed in on the
// casino's site chats on the web chat with a signed player token, then opens the site's
// Telegram deep link and writes there. The webhook helpdesk (its fake checks every event
// against docs/webhook-openapi.yaml) gets two tickets with one player_id, each proved its
// own way, and the Telegram ticket lists the web chat one. A forged deep link in another
// chat links nobody and is counted.
func TestSamePlayerOnWebchatAndTelegramIsOnePlayer(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test builds and runs the binary")
	}
	const (
		tgToken     = "123456:e2e-link-token"
		webSecret   = "web-player-secret-0123456789"
		tgSecret    = "tg-player-secret-0123456789"
		hookSecret  = "webhook-secret-0123456789"
		playerChat  = 7100000001
		forgerChat  = 7100000002
		playerID    = "P_1001"
		botUsername = "CasinoSupportBot"
	)
	tg := telegramfake.New(tgToken)
	tgSrv := httptest.NewServer(tg)
	t.Cleanup(tgSrv.Close)
	t.Cleanup(tg.Close)
	contract, err := webhookreceiver.LoadContract(t.Context(), webhookreceiver.DocPath())
	require.NoError(t, err)
	recv := webhookreceiver.New(contract, hookSecret, 5*time.Minute)
	hookSrv := httptest.NewServer(recv)
	t.Cleanup(hookSrv.Close)

	e := (&env{}).configure(t, fmt.Sprintf(`channels:
  - name: chat
    type: webchat
    player_secret: %s
  - name: tg
    type: telegram
    token: %q
    api_url: %s
    poll_timeout: 1s
    player_secret: %s
helpdesks:
  - name: desk
    type: webhook
    url: %s/gateway-events
    secret: %s
    api_token: e2e-link-api-token
default_helpdesk: desk
`, webSecret, tgToken, tgSrv.URL, tgSecret, hookSrv.URL, hookSecret))
	e.start()

	// The web chat: the site's token identifies the player; the page says hello, then writes.
	token, err := webchat.SignPlayerToken([]byte(webSecret), webchat.PlayerToken{PlayerID: playerID, VIP: 2, Name: "Ana"}, time.Now().Add(10*time.Minute))
	require.NoError(t, err)
	var welcome struct {
		Frames []struct {
			Type  string `json:"type"`
			Token string `json:"token"`
		} `json:"frames"`
	}
	chatSend(t, e.base, "", map[string]string{"type": "hello", "player": token}, &welcome)
	require.Len(t, welcome.Frames, 1)
	require.Equal(t, "welcome", welcome.Frames[0].Type, "the signed player token is accepted")
	chatSend(t, e.base, welcome.Frames[0].Token, map[string]string{"type": "message", "client_id": "w1", "text": "My withdrawal is late"}, nil)

	opened := func(channel string) (webhook.Conversation, bool) {
		for _, ev := range recv.Events() {
			c := ev.Event.Conversation
			if c.Channel == channel && ev.Event.Event == webhook.EventMessageCreated {
				return c, true
			}
		}
		return webhook.Conversation{}, false
	}
	var web webhook.Conversation
	require.Eventually(t, func() (ok bool) { web, ok = opened("chat"); return ok && web.Ticket != "" }, time.Minute, 20*time.Millisecond)

	// Telegram: the site's deep link, then a message; and a forged link in another chat.
	link, err := telegram.StartLink(botUsername, []byte(tgSecret), playerID, 2, time.Now().Add(10*time.Minute))
	require.NoError(t, err)
	payload := link[len("https://t.me/"+botUsername+"?start="):]
	forged := "P_6666" + payload[len(playerID):]
	for i, u := range []struct {
		chat int64
		text string
	}{{playerChat, "/start " + payload}, {playerChat, "Still waiting for my withdrawal"}, {forgerChat, "/start " + forged}} {
		tg.AddUpdate(tgbotapi.Update{Message: &tgbotapi.Message{MessageID: 10 + i, Date: int(time.Now().Unix()),
			From: &tgbotapi.User{ID: u.chat, FirstName: "Player"}, Chat: &tgbotapi.Chat{ID: u.chat, Type: "private"}, Text: u.text}})
	}
	var tgConv webhook.Conversation
	require.Eventually(t, func() bool {
		for _, ev := range recv.Events() {
			c := ev.Event.Conversation
			if c.Channel == "tg" && c.Player.PlayerID == playerID && len(c.LinkedConversations) > 0 {
				tgConv = c
				return true
			}
		}
		return false
	}, time.Minute, 20*time.Millisecond)

	require.Equal(t, playerID, web.Player.PlayerID)
	require.Equal(t, "webchat_token", web.Player.LinkedBy)
	require.Equal(t, "telegram_link", tgConv.Player.LinkedBy)
	require.Len(t, tgConv.LinkedConversations, 1)
	lc := tgConv.LinkedConversations[0]
	require.Equal(t, web.ID, lc.ID, "the Telegram ticket lists the web chat conversation")
	require.Equal(t, "chat", lc.Channel)
	require.Equal(t, web.Ticket, lc.Ticket)
	require.Equal(t, "webchat_token", lc.LinkedBy)
	require.Empty(t, recv.Errors(), "every event matches the contract")

	require.Eventually(t, func() bool {
		for _, ev := range recv.Events() {
			if c := ev.Event.Conversation; c.Channel == "tg" && c.Player.PlayerID == "" && c.Player.DisplayName != "" {
				return true // the forger's chat reached the helpdesk, anonymous
			}
		}
		return false
	}, time.Minute, 20*time.Millisecond)
	for _, ev := range recv.Events() {
		require.NotEqual(t, "P_6666", ev.Event.Conversation.Player.PlayerID, "a forged link never links")
	}
	require.Contains(t, e.metrics(), `gateway_player_token_refused_total{channel="tg",reason="forged"} 1`)
	require.True(t, e.logs.Contains("telegram: /start payload not accepted"))
	require.False(t, e.logs.Contains(payload), "a deep link's payload is a credential and never logged")
}

// chatSend posts one frame to the web chat's long-poll API, as the page does without a
// WebSocket, and decodes the answer into out (nil: only the status is checked).
func chatSend(t *testing.T, base, token string, frame map[string]string, out any) {
	t.Helper()
	body, err := json.Marshal(frame)
	require.NoError(t, err)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, base+"/chat/api/send", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	if out != nil {
		require.NoError(t, json.NewDecoder(resp.Body).Decode(out))
	}
}
