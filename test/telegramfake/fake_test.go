package telegramfake

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/png"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
	"github.com/stretchr/testify/require"
)

const token = "42:fake-token"

func newBot(t *testing.T, tok string) (*Server, *tgbotapi.BotAPI, error) {
	t.Helper()
	fake := New(token)
	srv := httptest.NewServer(fake)
	t.Cleanup(func() { fake.Close(); srv.Close() })
	bot, err := tgbotapi.NewBotAPIWithClient(tok, srv.URL+"/bot%s/%s", srv.Client())
	return fake, bot, err
}

func text(chat int64, s string) tgbotapi.Update {
	return tgbotapi.Update{Message: &tgbotapi.Message{Chat: &tgbotapi.Chat{ID: chat, Type: "private"}, From: &tgbotapi.User{ID: chat}, Text: s}}
}

func TestWrongTokenAndUnknownMethod(t *testing.T) {
	_, _, err := newBot(t, "42:other")
	var te *tgbotapi.Error
	require.ErrorAs(t, err, &te)
	require.Equal(t, 401, te.Code)
	require.Equal(t, "Unauthorized", te.Message)

	_, bot, err := newBot(t, token)
	require.NoError(t, err)
	_, err = bot.MakeRequest("sendTelepathy", nil)
	require.ErrorAs(t, err, &te)
	require.Equal(t, 404, te.Code)
}

func TestConfirmed(t *testing.T) {
	fake, bot, err := newBot(t, token)
	require.NoError(t, err)
	first, second := fake.AddUpdate(text(1, "a")), fake.AddUpdate(text(1, "b"))
	require.False(t, fake.Confirmed(first), "queued, not confirmed")
	_, err = bot.GetUpdates(tgbotapi.UpdateConfig{Offset: first + 1, Timeout: 0})
	require.NoError(t, err)
	require.True(t, fake.Confirmed(first), "a getUpdates with a higher offset confirms it")
	require.False(t, fake.Confirmed(second))
	require.False(t, fake.Confirmed(second+1), "never queued")
}

// ErrorBody is what the bot library reads an error from: code and retry_after.
func TestErrorBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		ct, body := ErrorBody(http.StatusTooManyRequests, "7")
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	bot := &tgbotapi.BotAPI{Token: token, Client: srv.Client()}
	bot.SetAPIEndpoint(srv.URL + "/bot%s/%s")
	_, err := bot.MakeRequest("sendMessage", nil)
	var te *tgbotapi.Error
	require.ErrorAs(t, err, &te)
	require.Equal(t, http.StatusTooManyRequests, te.Code)
	require.Equal(t, 7, te.RetryAfter)
}

func TestGetUpdatesOffsetConfirms(t *testing.T) {
	fake, bot, err := newBot(t, token)
	require.NoError(t, err)
	for i := range 3 {
		fake.AddUpdate(text(1, strings.Repeat("x", i+1)))
	}
	got, err := bot.GetUpdates(tgbotapi.UpdateConfig{Limit: 2})
	require.NoError(t, err)
	require.Len(t, got, 2)
	again, err := bot.GetUpdates(tgbotapi.UpdateConfig{})
	require.NoError(t, err)
	require.Len(t, again, 3, "unconfirmed updates come again")
	rest, err := bot.GetUpdates(tgbotapi.UpdateConfig{Offset: got[1].UpdateID + 1})
	require.NoError(t, err)
	require.Len(t, rest, 1)
	require.Equal(t, 3, rest[0].Message.MessageID, "message IDs count per chat")
	old, err := bot.GetUpdates(tgbotapi.UpdateConfig{Offset: 1})
	require.NoError(t, err)
	require.Len(t, old, 1, "confirmed updates are gone for good")
}

// HandedOut is where a load run's latency starts: the first answer that carried an update,
// kept when the update comes again unconfirmed.
func TestHandedOutKeepsTheFirstTime(t *testing.T) {
	fake, bot, err := newBot(t, token)
	require.NoError(t, err)
	first, second := fake.AddUpdate(text(1, "a")), fake.AddUpdate(text(1, "b"))
	require.Empty(t, fake.HandedOut(), "nothing handed out before a getUpdates")
	before := time.Now()
	_, err = bot.GetUpdates(tgbotapi.UpdateConfig{Limit: 1})
	require.NoError(t, err)
	out := fake.HandedOut()
	require.Len(t, out, 1, "only what the answer carried")
	at := out[first]
	require.False(t, at.Before(before), "handed out after the call began")
	time.Sleep(5 * time.Millisecond)
	_, err = bot.GetUpdates(tgbotapi.UpdateConfig{})
	require.NoError(t, err)
	out = fake.HandedOut()
	require.Equal(t, at, out[first], "a repeated hand-out keeps the first time")
	require.True(t, out[second].After(at))

	before = time.Now()
	_, err = bot.Send(tgbotapi.NewMessage(7, "hi"))
	require.NoError(t, err)
	require.False(t, fake.Sent(7)[0].At.Before(before), "a sent message carries when it was accepted")
}

func TestGetUpdatesLongPollWakes(t *testing.T) {
	fake, bot, err := newBot(t, token)
	require.NoError(t, err)
	go func() {
		time.Sleep(50 * time.Millisecond)
		fake.AddUpdate(text(1, "late"))
	}()
	got, err := bot.GetUpdates(tgbotapi.UpdateConfig{Timeout: 10})
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, "late", got[0].Message.Text)
}

func TestGetUpdatesConflictWithWebhook(t *testing.T) {
	_, bot, err := newBot(t, token)
	require.NoError(t, err)
	_, err = bot.MakeRequest("setWebhook", tgbotapi.Params{"url": "http://127.0.0.1:1/hook", "secret_token": "s"})
	require.NoError(t, err)
	_, err = bot.GetUpdates(tgbotapi.UpdateConfig{})
	var te *tgbotapi.Error
	require.ErrorAs(t, err, &te)
	require.Equal(t, http.StatusConflict, te.Code)
	_, err = bot.MakeRequest("deleteWebhook", nil)
	require.NoError(t, err)
	_, err = bot.GetUpdates(tgbotapi.UpdateConfig{})
	require.NoError(t, err)
}

func TestSendLimitsAndFaults(t *testing.T) {
	fake, bot, err := newBot(t, token)
	require.NoError(t, err)
	_, err = bot.Send(tgbotapi.NewMessage(7, strings.Repeat("é", MaxText+1)))
	require.ErrorContains(t, err, "message is too long")
	_, err = bot.Send(tgbotapi.NewMessage(7, strings.Repeat("é", MaxText)))
	require.NoError(t, err)

	fake.FailSends(1, 5)
	_, err = bot.Send(tgbotapi.NewMessage(7, "hi"))
	var te *tgbotapi.Error
	require.ErrorAs(t, err, &te)
	require.Equal(t, 429, te.Code)
	require.Equal(t, 5, te.RetryAfter)

	fake.Blocked(7)
	_, err = bot.Send(tgbotapi.NewMessage(7, "hi"))
	require.ErrorContains(t, err, "Forbidden: bot was blocked by the user")

	_, err = bot.Send(tgbotapi.NewDocument(8, tgbotapi.FileBytes{Name: "a.txt", Bytes: []byte("abc")}))
	require.NoError(t, err)
	sent := fake.Sent(8)
	require.Len(t, sent, 1)
	require.Equal(t, "a.txt", sent[0].FileName)
	require.Equal(t, []byte("abc"), sent[0].FileData)
	require.Len(t, fake.Sent(7), 1)
}

func TestFiles(t *testing.T) {
	fake, bot, err := newBot(t, token)
	require.NoError(t, err)
	path := fake.AddFile("f1", "a.pdf", []byte("PDF"))
	f, err := bot.GetFile(tgbotapi.FileConfig{FileID: "f1"})
	require.NoError(t, err)
	require.Equal(t, path, f.FilePath)
	require.Equal(t, 3, f.FileSize)
	fake.AddBigFile("big", "b.mp4", 21<<20)
	_, err = bot.GetFile(tgbotapi.FileConfig{FileID: "big"})
	require.ErrorContains(t, err, "file is too big")
}

func TestSendChatAction(t *testing.T) {
	fake, bot, err := newBot(t, token)
	require.NoError(t, err)
	_, err = bot.Request(tgbotapi.NewChatAction(7, tgbotapi.ChatTyping))
	require.NoError(t, err)
	_, err = bot.Request(tgbotapi.NewChatAction(7, tgbotapi.ChatUploadDocument))
	require.NoError(t, err)
	require.Equal(t, []string{"typing", "upload_document"}, fake.ChatActions(7))
	require.Equal(t, 2, fake.Calls("sendChatAction"))
	require.Empty(t, fake.Sent(7), "a chat action is not a message")

	_, err = bot.Request(tgbotapi.NewChatAction(7, "dancing"))
	require.ErrorContains(t, err, "wrong parameter action")

	fake.Blocked(8)
	_, err = bot.Request(tgbotapi.NewChatAction(8, tgbotapi.ChatTyping))
	var te *tgbotapi.Error
	require.ErrorAs(t, err, &te)
	require.Equal(t, 403, te.Code)
	require.Empty(t, fake.ChatActions(8))
	require.Len(t, fake.ChatActions(7), 2)
}

// TestSendPhotoDimensions: sendPhoto refuses a photo over 10000 pixels in width and height
// together, or with one side more than 20 times the other (core.telegram.org/bots/api#sendphoto),
// with 400 PHOTO_INVALID_DIMENSIONS; the same file goes through as a document.
func TestSendPhotoDimensions(t *testing.T) {
	fake, bot, err := newBot(t, token)
	require.NoError(t, err)
	for _, c := range []struct {
		w, h int
		ok   bool
	}{{800, 600, true}, {5000, 5000, true}, {5000, 5001, false}, {50, 1000, true}, {50, 1001, false}, {1001, 50, false}} {
		data := pngOf(t, c.w, c.h)
		_, err := bot.Send(tgbotapi.NewPhoto(1, tgbotapi.FileBytes{Name: "p.png", Bytes: data}))
		if c.ok {
			require.NoError(t, err, "%dx%d", c.w, c.h)
			continue
		}
		require.Error(t, err, "%dx%d", c.w, c.h)
		require.Contains(t, err.Error(), "PHOTO_INVALID_DIMENSIONS")
		_, err = bot.Send(tgbotapi.NewDocument(1, tgbotapi.FileBytes{Name: "p.png", Bytes: data}))
		require.NoError(t, err, "%dx%d as a document", c.w, c.h)
	}
	require.Len(t, fake.Sent(1), 6)
}

// pngOf returns the start of a w×h grey PNG, signature and IHDR: all a decoder reads for the
// dimensions, without encoding millions of pixels.
func pngOf(t *testing.T, w, h int) []byte {
	t.Helper()
	ihdr := []byte("IHDR")
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(w))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(h))
	ihdr = append(ihdr, 8, 0, 0, 0, 0) // 8-bit greyscale, no interlace
	out := []byte("\x89PNG\r\n\x1a\n")
	out = binary.BigEndian.AppendUint32(out, 13)
	out = append(out, ihdr...)
	out = binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(ihdr))
	cfg, err := png.DecodeConfig(bytes.NewReader(out))
	require.NoError(t, err)
	require.Equal(t, image.Config{ColorModel: cfg.ColorModel, Width: w, Height: h}, cfg)
	return out
}

// A reply keyboard and its removal are recorded decoded; a reply_markup that is no JSON is
// refused as the real server refuses it.
func TestReplyMarkup(t *testing.T) {
	fake, bot, err := newBot(t, token)
	require.NoError(t, err)
	ask := tgbotapi.NewMessage(7, "share?")
	ask.ReplyMarkup = tgbotapi.NewReplyKeyboard(tgbotapi.NewKeyboardButtonRow(tgbotapi.NewKeyboardButtonContact("Share")))
	_, err = bot.Send(ask)
	require.NoError(t, err)
	done := tgbotapi.NewMessage(7, "thanks")
	done.ReplyMarkup = tgbotapi.NewRemoveKeyboard(true)
	_, err = bot.Send(done)
	require.NoError(t, err)
	_, err = bot.Send(tgbotapi.NewMessage(7, "plain"))
	require.NoError(t, err)

	sent := fake.Sent(7)
	require.Len(t, sent, 3)
	require.Equal(t, [][]tgbotapi.KeyboardButton{{{Text: "Share", RequestContact: true}}}, sent[0].Markup.Keyboard)
	require.True(t, sent[1].Markup.RemoveKeyboard)
	require.Nil(t, sent[2].Markup)

	_, err = bot.MakeRequest("sendMessage", tgbotapi.Params{"chat_id": "7", "text": "x", "reply_markup": "{not json"})
	var te *tgbotapi.Error
	require.ErrorAs(t, err, &te)
	require.Equal(t, "Bad Request: can't parse reply keyboard markup JSON object", te.Message)
	require.Len(t, fake.Sent(7), 3, "a refused message is not recorded")
}
