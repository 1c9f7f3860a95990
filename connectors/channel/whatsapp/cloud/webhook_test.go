package cloud_test

import (
	"bytes"
	"image"
	"image/png"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors/channel/whatsapp/cloud"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/test/whatsappfake"
)

func withMetrics(reg prometheus.Registerer) func(*cloud.Deps) {
	return func(d *cloud.Deps) { d.Metrics = reg }
}

func refusals(t *testing.T, reg *prometheus.Registry, reason string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != "gateway_whatsapp_webhook_refusals_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" && l.GetValue() == reason {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

func TestVerificationHandshake(t *testing.T) {
	reg := prometheus.NewRegistry()
	e := newEnv(t, nil, withMetrics(reg))
	for _, tc := range []struct {
		name, mode, token string
		want              int
	}{
		{"subscribe with the verify token", "subscribe", verifyToken, http.StatusOK},
		{"a wrong verify token", "subscribe", "guessed", http.StatusForbidden},
		{"no verify token", "subscribe", "", http.StatusForbidden},
		{"another mode", "unsubscribe", verifyToken, http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body, err := e.fake.Verify(t.Context(), tc.mode, tc.token, "1158201444")
			require.NoError(t, err)
			require.Equal(t, tc.want, status)
			if tc.want == http.StatusOK {
				require.Equal(t, "1158201444", body, "the challenge is echoed as it came")
			} else {
				require.NotContains(t, body, "1158201444")
			}
		})
	}
	require.Equal(t, 3.0, refusals(t, reg, "verify_token"))
}

func TestForgedSignatureIsRefusedAndNothingStored(t *testing.T) {
	reg := prometheus.NewRegistry()
	e := newEnv(t, nil, withMetrics(reg))
	s := newSink()
	e.run(t, s)
	waID := newWaID()
	body, _ := e.fake.MessageNotification(whatsappfake.Incoming{From: waID, Text: "send me my winnings"})
	other, _ := e.fake.MessageNotification(whatsappfake.Incoming{From: waID, Text: "something else"})
	for _, tc := range []struct {
		name, signature string
	}{
		{"no signature", ""},
		{"signed with another secret", whatsappfake.Signature("guessed-secret", body)},
		{"the signature of another body", whatsappfake.Signature(appSecret, other)},
		{"without the sha256= prefix", strings.TrimPrefix(whatsappfake.Signature(appSecret, body), "sha256=")},
		{"sha1 instead", "sha1=" + strings.TrimPrefix(whatsappfake.Signature(appSecret, body), "sha256=")[:40]},
		{"not hex", "sha256=zz" + strings.TrimPrefix(whatsappfake.Signature(appSecret, body), "sha256=")[2:]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, e.hook, bytes.NewReader(body))
			require.NoError(t, err)
			if tc.signature != "" {
				req.Header.Set("X-Hub-Signature-256", tc.signature)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusForbidden, resp.StatusCode)
		})
	}
	status, err := e.fake.PostForged(t.Context(), body)
	require.NoError(t, err)
	require.Equal(t, http.StatusForbidden, status)
	require.Empty(t, s.messages(), "nothing of a forged request is stored")
	require.Equal(t, 7.0, refusals(t, reg, "signature"))

	status, err = e.fake.Post(t.Context(), body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status, "the same body signed with the app secret is taken")
	require.Len(t, s.messages(), 1)
}

func TestWebhookAnswersOnlyAfterStoring(t *testing.T) {
	e := newEnv(t, nil)
	body, id := e.fake.MessageNotification(whatsappfake.Incoming{From: newWaID(), Text: "hello"})
	status, err := e.fake.Post(t.Context(), body, id)
	require.NoError(t, err)
	require.Equal(t, http.StatusServiceUnavailable, status, "before Run there is nowhere to store it")

	s := newSink()
	e.run(t, s)
	s.setFail(errStoreDown)
	status, err = e.fake.Post(t.Context(), body, id)
	require.NoError(t, err)
	require.Equal(t, http.StatusServiceUnavailable, status, "Meta must send it again")
	require.False(t, e.fake.Acknowledged(id))

	s.setFail(nil)
	require.NoError(t, e.fake.Deliver(t.Context(), body, id))
	require.True(t, e.fake.Acknowledged(id))
	require.Len(t, s.messages(), 1)
}

func TestWebhookBodyLimit(t *testing.T) {
	e := newEnv(t, nil)
	e.run(t, newSink())
	body := append([]byte(`{"object":"whatsapp_business_account","entry":[],"pad":"`), bytes.Repeat([]byte("x"), 4<<20)...)
	body = append(body, `"}`...)
	status, err := e.fake.Post(t.Context(), body)
	require.NoError(t, err)
	require.Equal(t, http.StatusRequestEntityTooLarge, status)
}

func TestWebhookLeavesOtherNumbersAndProductsAlone(t *testing.T) {
	e := newEnv(t, nil)
	s := newSink()
	e.run(t, s)
	body, _ := e.fake.MessageNotification(whatsappfake.Incoming{From: newWaID(), Text: "hello"})
	for name, b := range map[string][]byte{
		"another phone number": bytes.Replace(body, []byte(phoneNumberID), []byte("999999999"), 1),
		"another field":        bytes.Replace(body, []byte(`"field":"messages"`), []byte(`"field":"account_update"`), 1),
	} {
		status, err := e.fake.Post(t.Context(), b)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status, name)
	}
	status, err := e.fake.Post(t.Context(), bytes.Replace(body, []byte("whatsapp_business_account"), []byte("page"), 1))
	require.NoError(t, err)
	require.Equal(t, http.StatusBadRequest, status, "a notification of another product")
	require.Empty(t, s.messages())
}

func pngImage(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, png.Encode(&b, image.NewRGBA(image.Rect(0, 0, 2, 2))))
	return b.Bytes()
}

func TestEveryKindOfMessage(t *testing.T) {
	e := newEnv(t, nil)
	s := newSink()
	e.run(t, s)
	img := pngImage(t)
	imageID := e.fake.AddMedia("image/png", img)
	pdfID := e.fake.AddMedia("application/pdf", []byte("%PDF-1.4\n%%EOF\n"))
	voiceID := e.fake.AddMedia("audio/ogg; codecs=opus", []byte("OggS voice"))
	audioID := e.fake.AddMedia("audio/mpeg", []byte("ID3 song"))
	videoID := e.fake.AddMedia("video/mp4", []byte("....ftypmp42"))
	stickerID := e.fake.AddMedia("image/webp", []byte("RIFF....WEBPVP8 "))

	for _, tc := range []struct {
		name     string
		in       whatsappfake.Incoming
		kind     normalize.MessageKind
		text     string // "" to skip
		file     string // attachment's media type, "" for none
		content  []byte
		replyTo  normalize.ExternalID
		edits    normalize.ExternalID
		location bool
	}{
		{name: "text", in: whatsappfake.Incoming{Text: "where is my payout?"}, kind: normalize.KindText, text: "where is my payout?"},
		{name: "reply", in: whatsappfake.Incoming{Text: "this one", ReplyTo: "wamid.earlier"}, kind: normalize.KindText, text: "this one", replyTo: "wamid.earlier"},
		{name: "image", in: whatsappfake.Incoming{Type: "image", Object: map[string]string{"id": imageID, "mime_type": "image/png", "caption": "my ID card"}},
			kind: normalize.KindImage, text: "my ID card", file: "image/png", content: img},
		{name: "document", in: whatsappfake.Incoming{Type: "document", Object: map[string]string{"id": pdfID, "mime_type": "application/pdf", "filename": "statement.pdf"}},
			kind: normalize.KindDocument, file: "application/pdf"},
		{name: "voice note", in: whatsappfake.Incoming{Type: "audio", Object: map[string]any{"id": voiceID, "mime_type": "audio/ogg; codecs=opus", "voice": true}},
			kind: normalize.KindVoiceMsg, file: "audio/ogg"},
		{name: "audio", in: whatsappfake.Incoming{Type: "audio", Object: map[string]any{"id": audioID, "mime_type": "audio/mpeg", "voice": false}},
			kind: normalize.KindAudio, file: "audio/mpeg"},
		{name: "video", in: whatsappfake.Incoming{Type: "video", Object: map[string]string{"id": videoID, "mime_type": "video/mp4"}},
			kind: normalize.KindVideo, file: "video/mp4"},
		{name: "sticker", in: whatsappfake.Incoming{Type: "sticker", Object: map[string]any{"id": stickerID, "mime_type": "image/webp", "animated": false}},
			kind: normalize.KindSticker, file: "application/octet-stream"},
		{name: "media gone", in: whatsappfake.Incoming{Type: "image", Object: map[string]string{"id": "404404", "mime_type": "image/jpeg", "caption": "receipt"}},
			kind: normalize.KindImage, text: "receipt\n[file could not be fetched: image.jpg (JPEG image): GET 404404: HTTP 400, code 100: Unsupported get request. Object with ID '404404' does not exist (fbtrace_id "},
		{name: "location", in: whatsappfake.Incoming{Type: "location", Object: map[string]any{"latitude": 52.52, "longitude": 13.405, "name": "Spielbank", "address": "Potsdamer Platz"}},
			kind: normalize.KindLocation, location: true,
			text: "Location: 52.52,13.405\nSpielbank, Potsdamer Platz\nhttps://www.openstreetmap.org/?mlat=52.52&mlon=13.405#map=17/52.52/13.405"},
		{name: "contacts", in: whatsappfake.Incoming{Type: "contacts", Object: nil},
			kind: normalize.KindContact, text: "[contact card without details]"},
		{name: "reaction", in: whatsappfake.Incoming{Type: "reaction", Object: map[string]string{"message_id": "wamid.reply", "emoji": "👍"}},
			kind: normalize.KindReaction, text: "👍", edits: "wamid.reply"},
		{name: "reaction removed", in: whatsappfake.Incoming{Type: "reaction", Object: map[string]string{"message_id": "wamid.reply", "emoji": ""}},
			kind: normalize.KindReaction, text: "[reaction removed]", edits: "wamid.reply"},
		{name: "button reply", in: whatsappfake.Incoming{Type: "interactive", Object: map[string]any{"type": "button_reply", "button_reply": map[string]string{"id": "yes", "title": "Yes, please"}}},
			kind: normalize.KindText, text: "Yes, please"},
		{name: "list reply", in: whatsappfake.Incoming{Type: "interactive", Object: map[string]any{"type": "list_reply", "list_reply": map[string]string{"id": "w", "title": "Withdrawals", "description": "Payout questions"}}},
			kind: normalize.KindText, text: "Withdrawals\nPayout questions"},
		{name: "template quick reply", in: whatsappfake.Incoming{Type: "button", Object: map[string]string{"payload": "STOP", "text": "Stop promotions"}},
			kind: normalize.KindText, text: "Stop promotions"},
		{name: "edit", in: whatsappfake.Incoming{Type: "unsupported", Object: map[string]string{"type": "edit"}},
			kind: normalize.KindSystem, text: "[the player sent a message edit (the Cloud API does not pass on the edited text), which the gateway cannot show]"},
		{name: "poll", in: whatsappfake.Incoming{Type: "unsupported", Object: map[string]string{"type": "poll_creation"}},
			kind: normalize.KindSystem, text: "[the player sent a poll creation, which the gateway cannot show]"},
		{name: "unknown type", in: whatsappfake.Incoming{Type: "order", Object: map[string]string{"catalog_id": "1"}},
			kind: normalize.KindSystem, text: "[the player sent a order, which the gateway cannot show]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			waID := newWaID()
			tc.in.From, tc.in.Name = waID, "Jana"
			body, id := e.fake.MessageNotification(tc.in)
			status, err := e.fake.Post(t.Context(), body, id)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, status)
			var got []normalize.Message
			for _, m := range s.messages() {
				if m.Address == address(waID) {
					got = append(got, m)
				}
			}
			require.Len(t, got, 1)
			m := got[0]
			require.Equal(t, normalize.ExternalID(id), m.ExternalID)
			require.Equal(t, cloud.Kind, m.ChannelKind)
			require.Equal(t, normalize.InstanceName("wa"), m.Channel)
			require.Equal(t, "Jana", m.Author.DisplayName)
			require.Equal(t, tc.kind, m.Kind)
			if strings.HasSuffix(tc.text, "(fbtrace_id ") { // Meta's trace ID differs each time
				require.True(t, strings.HasPrefix(m.Text, tc.text), "text %q", m.Text)
			} else if tc.text != "" {
				require.Equal(t, tc.text, m.Text)
			}
			require.Equal(t, tc.replyTo, m.ReplyTo)
			require.Equal(t, tc.edits, m.Edits)
			require.Equal(t, tc.location, m.Location != nil)
			require.WithinDuration(t, time.Now(), m.SentAt, time.Minute)
			if tc.file == "" {
				require.Empty(t, m.Attachments)
				return
			}
			require.Len(t, m.Attachments, 1)
			require.Equal(t, tc.file, m.Attachments[0].MediaType)
			if tc.content != nil {
				rc, err := e.blobs.Open(t.Context(), m.Attachments[0].BlobRef)
				require.NoError(t, err)
				defer rc.Close()
				var b bytes.Buffer
				_, err = b.ReadFrom(rc)
				require.NoError(t, err)
				require.Equal(t, tc.content, b.Bytes())
			}
		})
	}
}

func TestContactCards(t *testing.T) {
	e := newEnv(t, nil)
	s := newSink()
	e.run(t, s)
	waID := newWaID()
	body, _ := e.fake.MessageNotification(whatsappfake.Incoming{From: waID, Type: "contacts", Object: nil})
	body = bytes.Replace(body, []byte(`"type":"contacts"`), []byte(`"type":"contacts","contacts":[{"name":{"formatted_name":"Max Muster","first_name":"Max"},"phones":[{"phone":"+49 30 123456","type":"HOME"}]},{"name":{"first_name":"Eva","last_name":"Ng"},"phones":[]}]`), 1)
	status, err := e.fake.Post(t.Context(), body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	require.Len(t, s.messages(), 1)
	require.Equal(t, "Contact: Max Muster, +49 30 123456\nContact: Eva Ng", s.messages()[0].Text)
}
