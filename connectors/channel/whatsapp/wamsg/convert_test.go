package wamsg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

func pngBytes(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, png.Encode(&b, image.NewRGBA(image.Rect(0, 0, 4, 3))))
	return b.Bytes()
}

func converter(blobs connectors.Blobs) Converter {
	return Converter{Instance: "wa-main", Blobs: blobs, Backoff: time.Millisecond}
}

// fileOf is Media that serves content at once.
func fileOf(mimeType, name string, content []byte) *Media {
	f := &fetcher{content: content}
	return &Media{MIMEType: mimeType, FileName: name, Size: int64(len(content)), Fetch: f.fetch}
}

func TestMessageOfEveryKind(t *testing.T) {
	sent := time.Date(2026, 3, 1, 12, 0, 0, 0, time.FixedZone("CET", 3600))
	img := pngBytes(t)
	pdf := []byte("%PDF-1.4\n%%EOF\n")
	ogg := []byte("OggS\x00\x02 opus voice")
	base := Inbound{ID: "wamid.1", From: "491701234567", Name: "Jana\u202e", Time: sent}
	with := func(f func(*Inbound)) Inbound { in := base; f(&in); return in }

	for _, tc := range []struct {
		name     string
		in       Inbound
		kind     normalize.MessageKind
		text     string
		file     string // the attachment's name and type, "" for none
		fileType string
		check    func(t *testing.T, m normalize.Message)
	}{
		{name: "text", in: with(func(in *Inbound) { in.Kind, in.Text = normalize.KindText, "Hallo\x1b[31m, my deposit" }),
			kind: normalize.KindText, text: "Hallo[31m, my deposit"},
		{name: "image with caption", in: with(func(in *Inbound) {
			in.Kind, in.Text, in.Media = normalize.KindImage, "my ID", fileOf("image/png", "", img)
		}), kind: normalize.KindImage, text: "my ID", file: "image.png", fileType: "image/png"},
		{name: "document", in: with(func(in *Inbound) {
			in.Kind, in.Media = normalize.KindDocument, fileOf("application/pdf", "../kyc.pdf", pdf)
		}), kind: normalize.KindDocument, file: "kyc.pdf", fileType: "application/pdf"},
		{name: "audio", in: with(func(in *Inbound) {
			in.Kind, in.Media = normalize.KindAudio, fileOf("audio/mpeg", "song.mp3", []byte("ID3 audio"))
		}), kind: normalize.KindAudio, file: "song.mp3", fileType: "audio/mpeg"},
		{name: "voice note", in: with(func(in *Inbound) {
			in.Kind, in.Media = normalize.KindVoiceMsg, fileOf("audio/ogg; codecs=opus", "", ogg)
		}), kind: normalize.KindVoiceMsg, file: "voice", fileType: "audio/ogg"},
		{name: "video", in: with(func(in *Inbound) {
			in.Kind, in.Text, in.Media = normalize.KindVideo, "look", fileOf("video/mp4", "clip.mp4", []byte("....ftypmp42"))
		}), kind: normalize.KindVideo, text: "look", file: "clip.mp4", fileType: "video/mp4"},
		{name: "sticker", in: with(func(in *Inbound) {
			in.Kind, in.Media = normalize.KindSticker, fileOf("image/webp", "", []byte("RIFF\x00\x00\x00\x00WEBPVP8 "))
		}), kind: normalize.KindSticker, file: "sticker.webp", fileType: "application/octet-stream",
			check: func(t *testing.T, m normalize.Message) {
				require.Contains(t, m.Text, "image not shown inline", "a WebP whose size cannot be read is a plain file")
			}},
		{name: "media without its file", in: with(func(in *Inbound) { in.Kind = normalize.KindImage }),
			kind: normalize.KindImage, text: "[image without its file]"},
		{name: "location", in: with(func(in *Inbound) {
			in.Kind = normalize.KindLocation
			in.Location = &Location{Latitude: 52.52, Longitude: 13.405, Name: "Casino Berlin", Address: "Alexanderplatz 1", URL: "https://casino.example"}
		}), kind: normalize.KindLocation,
			text: "Location: 52.52,13.405\nCasino Berlin, Alexanderplatz 1\nhttps://www.openstreetmap.org/?mlat=52.52&mlon=13.405#map=17/52.52/13.405\nhttps://casino.example",
			check: func(t *testing.T, m normalize.Message) {
				require.Equal(t, &normalize.Location{Latitude: 52.52, Longitude: 13.405}, m.Location)
			}},
		{name: "contacts", in: with(func(in *Inbound) {
			in.Kind = normalize.KindContact
			in.Contacts = []Contact{{Name: "Max Mustermann", Phones: []string{"+49 30 123456", "+49 170 7654321"}}, {Phones: []string{"+44 20 7946 0000"}}}
		}), kind: normalize.KindContact, text: "Contact: Max Mustermann, +49 30 123456, +49 170 7654321\nContact: (no name), +44 20 7946 0000"},
		{name: "contacts empty", in: with(func(in *Inbound) { in.Kind = normalize.KindContact }),
			kind: normalize.KindContact, text: "[contact card without details]"},
		{name: "reply", in: with(func(in *Inbound) { in.Kind, in.Text, in.QuotedID = normalize.KindText, "this one", "wamid.0" }),
			kind: normalize.KindText, text: "this one",
			check: func(t *testing.T, m normalize.Message) { require.Equal(t, normalize.ExternalID("wamid.0"), m.ReplyTo) }},
		{name: "reaction", in: with(func(in *Inbound) { in.Kind, in.TargetID, in.Emoji = normalize.KindReaction, "wamid.0", "👍" }),
			kind: normalize.KindReaction, text: "👍",
			check: func(t *testing.T, m normalize.Message) { require.Equal(t, normalize.ExternalID("wamid.0"), m.Edits) }},
		{name: "reaction removed", in: with(func(in *Inbound) { in.Kind, in.TargetID = normalize.KindReaction, "wamid.0" }),
			kind: normalize.KindReaction, text: "[reaction removed]",
			check: func(t *testing.T, m normalize.Message) { require.Equal(t, normalize.ExternalID("wamid.0"), m.Edits) }},
		{name: "edit", in: with(func(in *Inbound) { in.Kind, in.TargetID, in.Text = normalize.KindEdit, "wamid.0", "fixed typo" }),
			kind: normalize.KindEdit, text: "fixed typo",
			check: func(t *testing.T, m normalize.Message) { require.Equal(t, normalize.ExternalID("wamid.0"), m.Edits) }},
		{name: "deletion", in: with(func(in *Inbound) { in.Kind, in.TargetID = normalize.KindDeletion, "wamid.0" }),
			kind: normalize.KindDeletion, text: "[the player deleted this message]",
			check: func(t *testing.T, m normalize.Message) { require.Equal(t, normalize.ExternalID("wamid.0"), m.Edits) }},
		{name: "unsupported, named", in: with(func(in *Inbound) { in.Kind, in.Text = "", "poll" }),
			kind: normalize.KindSystem, text: "[the player sent a poll, which the gateway cannot show]"},
		{name: "unsupported, unknown kind", in: with(func(in *Inbound) { in.Kind = "order" }),
			kind: normalize.KindSystem, text: "[the player sent a order message, which the gateway cannot show]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			blobs := newMemBlobs()
			m, err := converter(blobs).Message(t.Context(), tc.in)
			require.NoError(t, err)
			require.Equal(t, normalize.Inbound, m.Direction)
			require.Equal(t, normalize.InstanceName("wa-main"), m.Source)
			require.Equal(t, normalize.InstanceName("wa-main"), m.Channel)
			require.Equal(t, normalize.KindWhatsApp, m.ChannelKind)
			require.Equal(t, normalize.ExternalID("wamid.1"), m.ExternalID)
			require.Equal(t, normalize.Address("+491701234567"), m.Address)
			require.Equal(t, normalize.Author{Role: normalize.RolePlayer, DisplayName: "Jana", ExternalID: "491701234567"}, m.Author)
			require.Equal(t, sent.UTC(), m.SentAt)
			require.Equal(t, tc.kind, m.Kind)
			if tc.check == nil || tc.text != "" {
				require.Equal(t, tc.text, m.Text)
			}
			if tc.file == "" {
				require.Empty(t, m.Attachments)
			} else {
				require.Len(t, m.Attachments, 1)
				att := m.Attachments[0]
				require.True(t, strings.HasPrefix(att.Name, tc.file), "name %q", att.Name)
				require.Equal(t, tc.fileType, att.MediaType)
				rc, err := blobs.Open(t.Context(), att.BlobRef)
				require.NoError(t, err)
				got, _ := io.ReadAll(rc)
				require.NoError(t, rc.Close())
				require.EqualValues(t, len(got), att.Size)
			}
			if tc.check != nil {
				tc.check(t, m)
			}
		})
	}
}

func TestMessageMediaFailures(t *testing.T) {
	img := pngBytes(t)
	for _, tc := range []struct {
		name      string
		fetch     *fetcher
		size      int64 // declared, 0: the content's
		maxBytes  int64
		blobs     func(*memBlobs)
		wantCalls int
		wantFile  bool
		wantNote  string // in the text; "" when none
		wantErr   bool
	}{
		{name: "a failure, then success", fetch: &fetcher{content: img, failures: 2, err: errReset},
			wantCalls: 3, wantFile: true},
		{name: "a download broken off, then success", fetch: &fetcher{content: img, failures: 1, err: errReset, midway: true},
			wantCalls: 2, wantFile: true},
		{name: "failing on every attempt", fetch: &fetcher{content: img, failures: 99, err: errReset},
			wantCalls: 3, wantNote: "[file could not be fetched: image.png (PNG image): connection reset by peer]"},
		{name: "broken off on every attempt", fetch: &fetcher{content: img, failures: 99, err: errReset, midway: true},
			wantCalls: 3, wantNote: "[file could not be fetched: image.png (PNG image): download: connection reset by peer]"},
		{name: "gone for good", fetch: &fetcher{content: img, failures: 99, err: connectors.Permanent(errors.New("media 404: expired"))},
			wantCalls: 1, wantNote: "[file could not be fetched: image.png (PNG image): media 404: expired]"},
		{name: "declared over the limit", fetch: &fetcher{content: img}, size: 10 << 20, maxBytes: 1 << 20,
			wantCalls: 0, wantNote: "[file too large to fetch: image.png, 10.0 MB, the limit is 1.0 MB]"},
		{name: "bigger than declared", fetch: &fetcher{content: bytes.Repeat([]byte("x"), 2048)}, size: 10, maxBytes: 1024,
			wantCalls: 1, wantNote: "[file too large to fetch: image.png, over the limit of 1.0 KB]"},
		{name: "over the blob store's limit", fetch: &fetcher{content: bytes.Repeat([]byte("x"), 2048)},
			blobs: func(b *memBlobs) { b.limit = 1024 }, wantCalls: 1, wantNote: "[file too large to fetch: image.png, 2.0 KB]"},
		{name: "storage full", fetch: &fetcher{content: img}, blobs: func(b *memBlobs) { b.quota = true },
			wantCalls: 1, wantNote: "[file not stored, the gateway's attachment storage is full: image.png]"},
		{name: "blob store failing", fetch: &fetcher{content: img}, blobs: func(b *memBlobs) { b.fail = errors.New("disk I/O error") },
			wantCalls: 1, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			blobs := newMemBlobs()
			if tc.blobs != nil {
				tc.blobs(blobs)
			}
			c := converter(blobs)
			c.MaxBytes = tc.maxBytes
			size := tc.size
			if size == 0 {
				size = int64(len(tc.fetch.content))
			}
			in := Inbound{ID: "wamid.2", From: "447911123456", Kind: normalize.KindImage, Text: "my ID",
				Media: &Media{MIMEType: "image/png", Size: size, Fetch: tc.fetch.fetch}}
			m, err := c.Message(t.Context(), in)
			require.Equal(t, tc.wantCalls, tc.fetch.calls, "download attempts")
			if tc.wantErr {
				require.Error(t, err, "what a retry of the message may cure is an error")
				require.False(t, connectors.IsPermanent(err))
				return
			}
			require.NoError(t, err, "a file that cannot be had never fails the message")
			require.Equal(t, normalize.KindImage, m.Kind)
			if tc.wantFile {
				require.Len(t, m.Attachments, 1)
				require.Equal(t, "my ID", m.Text)
				require.Equal(t, 1, blobs.count())
				return
			}
			require.Empty(t, m.Attachments)
			require.Equal(t, "my ID\n"+tc.wantNote, m.Text)
		})
	}
}

func TestMessageRefusesASenderThatIsNoNumber(t *testing.T) {
	_, err := converter(newMemBlobs()).Message(t.Context(), Inbound{ID: "wamid.3", From: "status", Kind: normalize.KindText, Text: "x"})
	require.ErrorIs(t, err, ErrAddress)
	require.True(t, connectors.IsPermanent(err), "retrying cannot make it a number")
}

func TestMessageStopsRetryingWhenTheContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	f := &fetcher{failures: 99, err: errReset}
	c := converter(newMemBlobs())
	c.Backoff = time.Hour
	done := make(chan error, 1)
	go func() {
		_, err := c.Message(ctx, Inbound{ID: "wamid.4", From: "491701234567", Kind: normalize.KindImage,
			Media: &Media{MIMEType: "image/png", Fetch: f.fetch}})
		done <- err
	}()
	cancel()
	err := <-done
	require.ErrorIs(t, err, context.Canceled, "the message stays unacknowledged, to be converted again")
}

func ExampleConverter_Message() {
	c := Converter{Instance: "wa-main"}
	m, _ := c.Message(context.Background(), Inbound{ID: "wamid.HBgM", From: "491701234567", Name: "Jana",
		Kind: normalize.KindLocation, Location: &Location{Latitude: 52.52, Longitude: 13.405}})
	fmt.Println(m.Address)
	fmt.Println(m.Text)
	// Output:
	// +491701234567
	// Location: 52.52,13.405
	// https://www.openstreetmap.org/?mlat=52.52&mlon=13.405#map=17/52.52/13.405
}
