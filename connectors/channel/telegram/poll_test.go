package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/test/hugeimage"
	"github.com/casino-support/gateway/test/telegramfake"
)

const chat = int64(5000000001)

func TestPollingEveryKind(t *testing.T) {
	e := newEnv(t, nil)
	// Images are real ones: content that is no image of its type is not shown inline.
	photo, sticker := hugeimage.JPEG(800, 600), hugeimage.WebP(512, 512)
	e.fake.AddFile("photo-big", "p.jpg", photo)
	e.fake.AddFile("doc", "kyc.pdf", []byte("%PDF-1.7"))
	e.fake.AddFile("voice", "v.ogg", []byte("OGG"))
	e.fake.AddFile("audio", "a.mp3", []byte("ID3"))
	e.fake.AddFile("video", "v.mp4", []byte("MP4"))
	e.fake.AddFile("sticker", "s.webp", sticker)

	with := func(f func(m *tgbotapi.Message)) tgbotapi.Update {
		m := msg("")
		f(m)
		return tgbotapi.Update{Message: m}
	}
	updates := []tgbotapi.Update{
		with(func(m *tgbotapi.Message) { m.Text = "hello" }),
		with(func(m *tgbotapi.Message) {
			m.Caption = "screenshot"
			m.Photo = []tgbotapi.PhotoSize{{FileID: "photo-small", FileUniqueID: "ps", Width: 90, Height: 90}, {FileID: "photo-big", FileUniqueID: "pb", Width: 800, Height: 600}}
		}),
		with(func(m *tgbotapi.Message) {
			m.Document = &tgbotapi.Document{FileID: "doc", FileName: "kyc.pdf", MimeType: "application/pdf", FileSize: 8}
		}),
		with(func(m *tgbotapi.Message) {
			m.Voice = &tgbotapi.Voice{FileID: "voice", MimeType: "audio/ogg", FileSize: 3}
		}),
		with(func(m *tgbotapi.Message) {
			m.Audio = &tgbotapi.Audio{FileID: "audio", FileName: "a.mp3", MimeType: "audio/mpeg", FileSize: 3}
		}),
		with(func(m *tgbotapi.Message) {
			m.Video = &tgbotapi.Video{FileID: "video", MimeType: "video/mp4", FileSize: 3}
		}),
		with(func(m *tgbotapi.Message) {
			m.Sticker = &tgbotapi.Sticker{FileID: "sticker", Emoji: "👍", FileSize: 4}
		}),
		with(func(m *tgbotapi.Message) { m.Location = &tgbotapi.Location{Latitude: 1.5, Longitude: -2.25} }),
		with(func(m *tgbotapi.Message) {
			m.Contact = &tgbotapi.Contact{FirstName: "Rui", PhoneNumber: "+351912345678"}
		}),
		with(func(m *tgbotapi.Message) { m.Text = "as I said"; m.ReplyToMessage = &tgbotapi.Message{MessageID: 1} }),
		{EditedMessage: &tgbotapi.Message{MessageID: 1, From: player(), Chat: private(chat), Date: 1700000000, EditDate: 1700000050, Text: "hello!"}},
	}
	for _, u := range updates {
		e.fake.AddUpdate(u)
	}
	sink := newSink()
	e.run(t, sink)
	got := waitMessages(t, sink, len(updates))
	require.Equal(t, 1, sink.callCount(), "one getUpdates batch is one Deliver call")

	kinds := make([]normalize.MessageKind, len(got))
	for i, m := range got {
		kinds[i] = m.Kind
	}
	require.Equal(t, []normalize.MessageKind{normalize.KindText, normalize.KindImage, normalize.KindDocument, normalize.KindVoiceMsg,
		normalize.KindAudio, normalize.KindVideo, normalize.KindSticker, normalize.KindLocation, normalize.KindContact,
		normalize.KindText, normalize.KindEdit}, kinds)

	wantFiles := map[int]string{1: string(photo), 2: "%PDF-1.7", 3: "OGG", 4: "ID3", 5: "MP4", 6: string(sticker)}
	for i, data := range wantFiles {
		require.Len(t, got[i].Attachments, 1, "message %d", i)
		rc, err := e.blobs.Open(context.Background(), got[i].Attachments[0].BlobRef)
		require.NoError(t, err)
		b, err := io.ReadAll(rc)
		require.NoError(t, err)
		require.Equal(t, data, string(b), "message %d", i)
	}
	require.Equal(t, "kyc.pdf", got[2].Attachments[0].Name)
	require.Equal(t, "application/pdf", got[2].Attachments[0].MediaType)
	require.Equal(t, "screenshot", got[1].Text)
	require.Equal(t, "1.5,-2.25", got[7].Text)
	require.Equal(t, &normalize.Location{Latitude: 1.5, Longitude: -2.25}, got[7].Location)
	require.Contains(t, got[8].Text, "+351912345678")
	require.Equal(t, normalize.ExternalID("5000000001:1"), got[9].ReplyTo)
	require.Equal(t, normalize.ExternalID("5000000001:1"), got[10].Edits)
	require.Equal(t, normalize.ExternalID("5000000001:1:edit:11"), got[10].ExternalID, "the edit is keyed by its update")
	requireNoToken(t, got)
	require.Eventually(t, func() bool { return e.fake.Pending() == 0 }, 5*time.Second, 5*time.Millisecond, "the batch is confirmed")
}

// requireNoToken checks that the bot token appears nowhere in what was stored.
func requireNoToken(t *testing.T, msgs []normalize.Message) {
	t.Helper()
	raw, err := json.Marshal(msgs)
	require.NoError(t, err)
	require.NotContains(t, string(raw), testToken)
	require.NotContains(t, string(raw), "SECRET-token")
}

func TestPollingRedeliversAfterFailedDeliver(t *testing.T) {
	e := newEnv(t, nil)
	for _, text := range []string{"one", "two", "three"} {
		e.fake.AddUpdate(tgbotapi.Update{Message: msg(text)})
	}
	sink := newSink()
	sink.fail = 1
	e.run(t, sink)
	got := waitMessages(t, sink, 3)
	require.Equal(t, []string{"one", "two", "three"}, texts(got))
	require.GreaterOrEqual(t, sink.callCount(), 2, "the failed batch came again")
	e.fake.AddUpdate(tgbotapi.Update{Message: msg("four")})
	got = waitMessages(t, sink, 4)
	require.Equal(t, []string{"one", "two", "three", "four"}, texts(got), "nothing lost or doubled")
}

// TestPollingRestartBeforeOffsetAdvanced stops the channel right after the sink stored a
// batch, before the getUpdates that confirms it: the next run gets the batch again, and the
// store's dedup keeps each message once.
func TestPollingRestartBeforeOffsetAdvanced(t *testing.T) {
	e := newEnv(t, nil)
	for _, text := range []string{"a", "b"} {
		e.fake.AddUpdate(tgbotapi.Update{Message: msg(text)})
	}
	sink := newSink()
	ctx, cancel := context.WithCancel(context.Background())
	// A crash: the network is gone with the process, so not even the confirmation of a clean
	// stop reaches Telegram.
	cut := &cuttable{next: e.ch.client.Transport}
	client := *e.ch.client
	client.Transport = cut
	e.ch.client = &client
	crashing := &cancelSink{dedupSink: sink, cancel: func() { cut.cut.Store(true); cancel() }}
	require.NoError(t, e.ch.Run(ctx, crashing))
	require.Len(t, sink.messages(), 2)
	require.Equal(t, 2, e.fake.Pending(), "the crash came before the offset was confirmed")
	cut.cut.Store(false)

	e.fake.AddUpdate(tgbotapi.Update{Message: msg("c")})
	e.run(t, sink)
	waitMessages(t, sink, 3)
	require.Eventually(t, func() bool { return e.fake.Pending() == 0 }, 5*time.Second, 5*time.Millisecond)
	require.Equal(t, []string{"a", "b", "c"}, texts(sink.messages()), "nothing lost or doubled")
	require.Equal(t, 2, sink.callCount(), "the second run delivered a and b again with c in one batch, deduplicated by the store")
}

// cuttable fails every request once cut.
type cuttable struct {
	next http.RoundTripper
	cut  atomic.Bool
}

func (c *cuttable) RoundTrip(r *http.Request) (*http.Response, error) {
	if c.cut.Load() {
		return nil, errors.New("network cut")
	}
	return c.next.RoundTrip(r)
}

// A clean stop confirms the last stored batch: the next run does not get it again, so the
// /start greeting sent with it does not reach the player a second time.
func TestPollingCleanStopConfirmsLastBatch(t *testing.T) {
	e := newEnv(t, nil)
	e.fake.AddUpdate(tgbotapi.Update{Message: msg("/start")})
	sink := newSink()
	ctx, cancel := context.WithCancel(context.Background())
	stopping := &cancelSink{dedupSink: sink, cancel: cancel}
	require.NoError(t, e.ch.Run(ctx, stopping))
	require.Len(t, sink.messages(), 1)
	require.Zero(t, e.fake.Pending(), "confirmed on the way out")
	require.Eventually(t, func() bool { return len(e.fake.Sent(chat)) == 1 }, 5*time.Second, 5*time.Millisecond, "greeted once")

	e.fake.AddUpdate(tgbotapi.Update{Message: msg("next")})
	e.run(t, sink)
	waitMessages(t, sink, 2)
	require.Equal(t, 2, sink.callCount(), "the restart did not get the /start batch again")
	require.Len(t, e.fake.Sent(chat), 1, "not greeted twice")
}

// cancelSink stores, then ends the run, like a process killed right after Deliver returned.
type cancelSink struct {
	*dedupSink
	cancel func()
}

func (s *cancelSink) Deliver(ctx context.Context, msgs ...normalize.Message) error {
	err := s.dedupSink.Deliver(ctx, msgs...)
	s.cancel()
	return err
}

func texts(msgs []normalize.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.Text
	}
	return out
}

func TestPollingStartGreetsInPlayersLanguage(t *testing.T) {
	e := newEnv(t, nil)
	m := msg("/start promo42")
	m.From.LanguageCode = "de"
	e.fake.AddUpdate(tgbotapi.Update{Message: m})
	sink := newSink()
	e.run(t, sink)
	got := waitMessages(t, sink, 1)
	require.Equal(t, "/start promo42", got[0].Text, "the ticket sees the player arrive")
	require.Eventually(t, func() bool { return len(e.fake.Sent(chat)) == 1 }, 5*time.Second, 5*time.Millisecond)
	require.Equal(t, "Hallo! Wie können wir helfen?", e.fake.Sent(chat)[0].Text)
}

func TestPollingGroupsIgnored(t *testing.T) {
	e := newEnv(t, nil)
	g := msg("hi all")
	g.Chat = &tgbotapi.Chat{ID: -100500, Type: "supergroup"}
	e.fake.AddUpdate(tgbotapi.Update{Message: g})
	e.fake.AddUpdate(tgbotapi.Update{Message: msg("just me")})
	sink := newSink()
	e.run(t, sink)
	got := waitMessages(t, sink, 1)
	require.Eventually(t, func() bool { return e.fake.Pending() == 0 }, 5*time.Second, 5*time.Millisecond)
	require.Equal(t, []string{"just me"}, texts(got))
	require.Len(t, sink.messages(), 1)
}

func TestPollingTooLargeFile(t *testing.T) {
	e := newEnv(t, nil)
	e.fake.AddBigFile("huge", "casino.mp4", 30<<20)
	e.fake.AddBigFile("huge-unsized", "bank.pdf", 25<<20)
	m := msg("")
	m.Caption = "my deposit video"
	m.Video = &tgbotapi.Video{FileID: "huge", FileName: "casino.mp4", MimeType: "video/mp4", FileSize: 30 << 20}
	e.fake.AddUpdate(tgbotapi.Update{Message: m})
	m2 := msg("")
	m2.Document = &tgbotapi.Document{FileID: "huge-unsized", FileName: "bank.pdf"} // size not told: getFile refuses
	e.fake.AddUpdate(tgbotapi.Update{Message: m2})
	sink := newSink()
	e.run(t, sink)
	got := waitMessages(t, sink, 2)
	require.Equal(t, "my deposit video\n[file too large to fetch: casino.mp4, 30.0 MB]", got[0].Text)
	require.Empty(t, got[0].Attachments)
	require.Equal(t, "[file too large to fetch: bank.pdf, size unknown]", got[1].Text)
	require.Eventually(t, func() bool { return len(e.fake.Sent(chat)) == 2 }, 5*time.Second, 5*time.Millisecond)
	require.Contains(t, e.fake.Sent(chat)[0].Text, "could not receive your file casino.mp4")
	require.Contains(t, e.fake.Sent(chat)[0].Text, "20 MB")
	requireNoToken(t, got)
}

// TestRunRejectedToken: a token Telegram refuses does not end Run. The channel reports why to
// the sink's health, without the token, keeps asking with back-off, and recovers once
// Telegram accepts the token again.
func TestRunRejectedToken(t *testing.T) {
	e := newEnv(t, nil)
	e.fake.Revoke(true)
	sink := &healthSink{dedupSink: newSink()}
	e.run(t, sink)
	require.Eventually(t, func() bool { return sink.problem() != nil }, 5*time.Second, 5*time.Millisecond)
	problem := sink.problem()
	require.ErrorContains(t, problem, "rejected (401)")
	require.ErrorIs(t, problem, connectors.ErrUnauthorized)
	require.NotContains(t, problem.Error(), testToken)
	reports := sink.reports()
	require.Eventually(t, func() bool { return sink.reports() > reports }, 5*time.Second, 5*time.Millisecond, "getMe is asked again")

	e.fake.Revoke(false)
	require.Eventually(t, func() bool { return sink.reports() > 0 && sink.problem() == nil }, 5*time.Second, 5*time.Millisecond,
		"the channel reports itself healthy once the token is accepted")
	e.fake.AddUpdate(tgbotapi.Update{Message: msg("back again")})
	require.Equal(t, []string{"back again"}, texts(waitMessages(t, sink.dedupSink, 1)))

	// A token revoked while polling: getUpdates is refused, and the channel says so.
	e.fake.Revoke(true)
	require.Eventually(t, func() bool { return sink.problem() != nil }, 5*time.Second, 5*time.Millisecond)
	require.ErrorContains(t, sink.problem(), "getUpdates")
	e.fake.Revoke(false)
	require.Eventually(t, func() bool { return sink.problem() == nil }, 5*time.Second, 5*time.Millisecond)
}

// healthSink records the health the channel reports (connectors.HealthSink).
type healthSink struct {
	*dedupSink
	hmu   sync.Mutex
	last  error
	count int
}

func (s *healthSink) ReportHealth(instance normalize.InstanceName, problem error) {
	s.hmu.Lock()
	defer s.hmu.Unlock()
	s.last, s.count = problem, s.count+1
}

func (s *healthSink) problem() error {
	s.hmu.Lock()
	defer s.hmu.Unlock()
	return s.last
}

// reports counts the reports; a healthy report after a problem counts like any.
func (s *healthSink) reports() int {
	s.hmu.Lock()
	defer s.hmu.Unlock()
	return s.count
}

// TestPollingPermanentRefusalIsolated: when the store refuses a batch for good, the messages
// are delivered one by one and only the refused one is dropped, so polling goes on.
func TestPollingPermanentRefusalIsolated(t *testing.T) {
	e := newEnv(t, nil)
	e.fake.AddUpdate(tgbotapi.Update{Message: msg("good")})
	e.fake.AddUpdate(tgbotapi.Update{Message: msg("poison")})
	e.fake.AddUpdate(tgbotapi.Update{Message: msg("also good")})
	sink := &refusingSink{dedupSink: newSink(), refuse: "poison"}
	e.run(t, sink)
	got := waitMessages(t, sink.dedupSink, 2)
	require.Equal(t, []string{"good", "also good"}, texts(got))
	require.Eventually(t, func() bool { return e.fake.Pending() == 0 }, 5*time.Second, 5*time.Millisecond)
}

type refusingSink struct {
	*dedupSink
	refuse string
}

func (s *refusingSink) Deliver(ctx context.Context, msgs ...normalize.Message) error {
	for _, m := range msgs {
		if m.Text == s.refuse {
			return connectors.Permanent(errors.New("invalid message"))
		}
	}
	return s.dedupSink.Deliver(ctx, msgs...)
}

// TestPollingConflictLogged: while a webhook is set, getUpdates answers 409; the channel says
// so clearly and picks up once the webhook is gone.
func TestPollingConflictLogged(t *testing.T) {
	e := newEnv(t, nil)
	var logs syncBuffer
	e.ch.log = slog.New(slog.NewTextHandler(&logs, nil))
	bot, err := tgbotapi.NewBotAPIWithClient(testToken, e.srv.URL+"/bot%s/%s", e.srv.Client())
	require.NoError(t, err)
	_, err = bot.MakeRequest("setWebhook", tgbotapi.Params{"url": "http://127.0.0.1:1/hook"})
	require.NoError(t, err)
	e.fake.AddUpdate(tgbotapi.Update{Message: msg("waiting")})
	sink := newSink()
	e.run(t, sink)
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "conflict (409)") }, 5*time.Second, 5*time.Millisecond)
	_, err = bot.MakeRequest("deleteWebhook", nil)
	require.NoError(t, err)
	require.Equal(t, []string{"waiting"}, texts(waitMessages(t, sink, 1)))
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestShortPollingDoesNotSpin: poll_timeout 0s (or anything under a second, which Telegram's
// whole seconds round down to 0) is short polling, and Telegram answers an empty short poll at
// once. The next getUpdates must wait, or the channel spins on requests as fast as the network
// answers them.
func TestShortPollingDoesNotSpin(t *testing.T) {
	for _, timeout := range []time.Duration{0, 500 * time.Millisecond} {
		t.Run(timeout.String(), func(t *testing.T) {
			var (
				mu    sync.Mutex
				calls []time.Time
			)
			second := make(chan struct{})
			fake := telegramfake.New(testToken)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasSuffix(r.URL.Path, "/getUpdates") {
					mu.Lock()
					calls = append(calls, time.Now())
					if len(calls) == 2 {
						close(second)
					}
					mu.Unlock()
				}
				fake.ServeHTTP(w, r)
			}))
			t.Cleanup(func() { fake.Close(); srv.Close() })
			cfg := testConfig()
			cfg.APIURL, cfg.PollTimeout = srv.URL, timeout
			ch, err := New("tg", cfg, Deps{Blobs: newMemBlobs(), Client: srv.Client()})
			require.NoError(t, err)
			ch.backoff = 200 * time.Millisecond
			e := &env{fake: fake, srv: srv, ch: ch}
			e.run(t, newSink())
			select {
			case <-second:
			case <-time.After(5 * time.Second):
				t.Fatal("no second getUpdates")
			}
			mu.Lock()
			gap := calls[1].Sub(calls[0])
			mu.Unlock()
			require.GreaterOrEqual(t, gap, 150*time.Millisecond, "an empty short poll was followed at once by the next")
		})
	}
}
