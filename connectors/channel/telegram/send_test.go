package telegram

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/test/telegramfake"
)

func conv(chatID string) normalize.Conversation {
	return normalize.Conversation{ID: "c1", Channel: "tg", ChannelKind: normalize.KindTelegram, Address: normalize.Address(chatID)}
}

func reply(text string) normalize.Message {
	return normalize.Message{ID: normalize.NewMessageID(), Direction: normalize.Outbound, Kind: normalize.KindText,
		Author: normalize.Author{Role: normalize.RoleAgent}, Text: text}
}

func TestSendText(t *testing.T) {
	e := newEnv(t, nil)
	m := reply("Your withdrawal is on its way.")
	m.ReplyTo = "5000000001:7"
	id, err := e.ch.Send(context.Background(), conv("5000000001"), m)
	require.NoError(t, err)
	sent := e.fake.Sent(chat)
	require.Len(t, sent, 1)
	require.Equal(t, "Your withdrawal is on its way.", sent[0].Text)
	require.Equal(t, 7, sent[0].ReplyTo)
	require.Equal(t, normalize.ExternalID("5000000001:1"), id)
}

func TestSendSplitsLongText(t *testing.T) {
	e := newEnv(t, nil)
	long := strings.Repeat("Bonus terms apply to every deposit. ", 300) // ~10,800 characters
	id, err := e.ch.Send(context.Background(), conv("5000000001"), reply(long))
	require.NoError(t, err)
	sent := e.fake.Sent(chat)
	require.Len(t, sent, 3)
	var words []string
	for _, s := range sent {
		require.LessOrEqual(t, utf8.RuneCountInString(s.Text), telegramfake.MaxText)
		words = append(words, strings.Fields(s.Text)...)
	}
	require.Equal(t, strings.Fields(long), words)
	require.Equal(t, normalize.ExternalID("5000000001:3"), id, "the last part's ID")
}

func TestSendAttachments(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	img, err := e.blobs.Put(ctx, bytes.NewReader([]byte("PNGDATA")), "proof.png", "image/png")
	require.NoError(t, err)
	doc, err := e.blobs.Put(ctx, bytes.NewReader([]byte("%PDF")), "terms.pdf", "application/pdf")
	require.NoError(t, err)
	m := reply("See attached")
	m.Attachments = []normalize.Attachment{img, doc}
	id, err := e.ch.Send(ctx, conv("5000000001"), m)
	require.NoError(t, err)
	sent := e.fake.Sent(chat)
	require.Len(t, sent, 3)
	require.Equal(t, "sendMessage", sent[0].Method)
	require.Equal(t, "sendPhoto", sent[1].Method)
	require.Equal(t, "proof.png", sent[1].FileName)
	require.Equal(t, []byte("PNGDATA"), sent[1].FileData)
	require.Equal(t, "sendDocument", sent[2].Method)
	require.Equal(t, []byte("%PDF"), sent[2].FileData)
	require.Equal(t, normalize.ExternalID("5000000001:3"), id)
}

func TestSendFloodControl(t *testing.T) {
	e := newEnv(t, nil)
	e.fake.FailSends(1, 7)
	_, err := e.ch.Send(context.Background(), conv("5000000001"), reply("hi"))
	delay, ok := connectors.RetryDelay(err)
	require.True(t, ok, "Send() = %v, want a RetryAfter error", err)
	require.Equal(t, 7*time.Second, delay)
	require.False(t, connectors.IsPermanent(err))
	require.NotContains(t, err.Error(), testToken)
	_, err = e.ch.Send(context.Background(), conv("5000000001"), reply("hi"))
	require.NoError(t, err)
}

func TestSendFloodControlOnUpload(t *testing.T) {
	e := newEnv(t, nil)
	att, err := e.blobs.Put(context.Background(), bytes.NewReader([]byte("x")), "a.pdf", "application/pdf")
	require.NoError(t, err)
	e.fake.FailSends(1, 3)
	m := reply("")
	m.Attachments = []normalize.Attachment{att}
	_, err = e.ch.Send(context.Background(), conv("5000000001"), m)
	delay, ok := connectors.RetryDelay(err)
	require.True(t, ok, "Send() = %v: the library leaves Code 0 on uploads, error_code must be used", err)
	require.Equal(t, 3*time.Second, delay)
}

func TestSendBlockedIsPermanent(t *testing.T) {
	e := newEnv(t, nil)
	e.fake.Blocked(chat)
	_, err := e.ch.Send(context.Background(), conv("5000000001"), reply("hi"))
	require.True(t, connectors.IsPermanent(err), "Send() = %v", err)
	require.Contains(t, err.Error(), "blocked the bot")
	require.Contains(t, err.Error(), "chat 5000000001")
}

func TestSendBadAddressIsPermanent(t *testing.T) {
	e := newEnv(t, nil)
	_, err := e.ch.Send(context.Background(), conv("not-a-chat"), reply("hi"))
	require.True(t, connectors.IsPermanent(err))
}

func TestSendNetworkErrorIsRetriedAndRedacted(t *testing.T) {
	e := newEnv(t, nil)
	e.srv.Close()
	_, err := e.ch.Send(context.Background(), conv("5000000001"), reply("hi"))
	require.Error(t, err)
	require.False(t, connectors.IsPermanent(err))
	_, ok := connectors.RetryDelay(err)
	require.False(t, ok)
	require.NotContains(t, err.Error(), testToken, "the request URL in a network error holds the token")
}

// TestSendResumesAfterPartialFailure: when part 2 of 3 fails, the retry sends parts 2 and 3
// only, so the player does not read part 1 twice.
func TestSendResumesAfterPartialFailure(t *testing.T) {
	e := newEnv(t, nil)
	m := reply(strings.Repeat("word ", 2000)) // 10,000 characters: 3 parts
	e.ch.perChat = newChatLimiters(rate.Inf, 1)
	sink := &failAfter{Channel: e.ch, fake: e.fake, n: 1}
	_, err := sink.send(m)
	require.Error(t, err)
	require.Len(t, e.fake.Sent(chat), 1)
	id, err := e.ch.Send(context.Background(), conv("5000000001"), m)
	require.NoError(t, err)
	require.Len(t, e.fake.Sent(chat), 3, "part 1 is not sent again")
	require.Equal(t, normalize.ExternalID("5000000001:3"), id)
}

// failAfter lets n sends through, then makes the next one fail with 429.
type failAfter struct {
	*Channel
	fake *telegramfake.Server
	n    int
}

func (f *failAfter) send(m normalize.Message) (normalize.ExternalID, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for len(f.fake.Sent(chat)) < f.n {
			time.Sleep(time.Millisecond)
		}
		f.fake.FailSends(1, 1)
	}()
	// Slow the chat down so the goroutine injects the fault between part 1 and part 2.
	f.Channel.perChat = newChatLimiters(rate.Every(50*time.Millisecond), 1)
	defer func() { f.Channel.perChat = newChatLimiters(rate.Inf, 1) }()
	return f.Channel.Send(ctx, conv("5000000001"), m)
}

// TestSendRateLimitPerChat counts what gets through a per-chat limiter that allows one
// message: a second message to the same chat is not sent, and the wait comes back as a
// retry-after for the router instead of being slept through, while another chat is not held
// back.
func TestSendRateLimitPerChat(t *testing.T) {
	e := newEnv(t, nil)
	e.ch.perChat = newChatLimiters(rate.Every(time.Hour), 1)
	ctx := context.Background()
	_, err := e.ch.Send(ctx, conv("5000000001"), reply("first"))
	require.NoError(t, err)

	_, err = e.ch.Send(ctx, conv("5000000001"), reply("second"))
	require.Error(t, err)
	require.False(t, connectors.IsPermanent(err), "a rate-limit wait is retried")
	delay, ok := connectors.RetryDelay(err)
	require.True(t, ok, "a long wait is handed back as a retry-after: %v", err)
	require.Greater(t, delay, 59*time.Minute, "the retry-after is the limiter's wait")
	require.Len(t, e.fake.Sent(chat), 1, "the second message waited for the chat's limiter")

	_, err = e.ch.Send(ctx, conv("5000000002"), reply("other chat"))
	require.NoError(t, err)
	require.Len(t, e.fake.Sent(5000000002), 1)
}

// A wait handed back as a retry-after takes nothing from the limiters: the message goes out
// when retried after the delay it named.
func TestSendRateLimitRetryAfterIsKept(t *testing.T) {
	e := newEnv(t, nil)
	e.ch.perChat = newChatLimiters(rate.Every(300*time.Millisecond), 1)
	ctx := context.Background()
	_, err := e.ch.Send(ctx, conv("5000000001"), reply("first"))
	require.NoError(t, err)
	for range 3 { // asking again and again does not push the wait further out
		_, err = e.ch.Send(ctx, conv("5000000001"), reply("second"))
		_, ok := connectors.RetryDelay(err)
		require.True(t, ok, "Send() = %v", err)
	}
	delay, _ := connectors.RetryDelay(err)
	require.LessOrEqual(t, delay, 300*time.Millisecond)
	time.Sleep(delay)
	_, err = e.ch.Send(ctx, conv("5000000001"), reply("second"))
	require.NoError(t, err, "the retry after the named delay goes out")
	require.Len(t, e.fake.Sent(chat), 2)
}

func TestSendRateLimitGlobal(t *testing.T) {
	e := newEnv(t, nil)
	e.ch.global = rate.NewLimiter(rate.Every(time.Hour), 3)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	var sent int
	for i := range 5 {
		if _, err := e.ch.Send(ctx, conv(strings.Repeat("1", i+1)), reply("hi")); err == nil {
			sent++
		} else {
			require.True(t, errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "rate"), "Send() = %v", err)
		}
	}
	require.Equal(t, 3, sent, "the global limiter let its burst through and held the rest")
}

// TestSendPhotoTelegramRefusesGoesAsDocument: sendPhoto takes no photo over 10000 pixels in
// width and height together or with a side ratio over 20, such as a full-page screenshot of an
// account history. Refusing it for good would dead-letter the reply; as a document it
// arrives unchanged.
func TestSendPhotoTelegramRefusesGoesAsDocument(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	var tall bytes.Buffer
	require.NoError(t, png.Encode(&tall, image.NewGray(image.Rect(0, 0, 40, 1000))))
	att, err := e.blobs.Put(ctx, bytes.NewReader(tall.Bytes()), "history.png", "image/png")
	require.NoError(t, err)
	m := reply("Here is your history")
	m.Attachments = []normalize.Attachment{att}
	id, err := e.ch.Send(ctx, conv("5000000001"), m)
	require.NoError(t, err)
	sent := e.fake.Sent(chat)
	require.Len(t, sent, 2)
	require.Equal(t, "sendDocument", sent[1].Method)
	require.Equal(t, "history.png", sent[1].FileName)
	require.Equal(t, tall.Bytes(), sent[1].FileData)
	require.Equal(t, normalize.ExternalID("5000000001:2"), id)
}
