package telegram

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
)

func TestConvertKinds(t *testing.T) {
	opt := convertOptions{name: "tg"}
	tests := []struct {
		name     string
		update   string // the message object
		kind     normalize.MessageKind
		text     string
		file     *fileRef
		location *normalize.Location
	}{
		{"text", `{"text":"hi there"}`, normalize.KindText, "hi there", nil, nil},
		{"photo picks largest", `{"caption":"my win","photo":[{"file_id":"s","file_unique_id":"us","width":90,"height":90,"file_size":10},{"file_id":"l","file_unique_id":"ul","width":1280,"height":960,"file_size":900},{"file_id":"m","file_unique_id":"um","width":320,"height":240,"file_size":100}]}`,
			normalize.KindImage, "my win", &fileRef{id: "l", name: "photo_ul.jpg", mediaType: "image/jpeg", size: 900}, nil},
		{"document", `{"document":{"file_id":"d","file_unique_id":"ud","file_name":"kyc.pdf","mime_type":"application/pdf","file_size":1234}}`,
			normalize.KindDocument, "", &fileRef{id: "d", name: "kyc.pdf", mediaType: "application/pdf", size: 1234}, nil},
		{"document name with path", `{"document":{"file_id":"d","file_unique_id":"ud","file_name":"../../etc/passwd"}}`,
			normalize.KindDocument, "", &fileRef{id: "d", name: ".._.._etc_passwd", mediaType: "application/octet-stream"}, nil},
		{"voice", `{"voice":{"file_id":"v","file_unique_id":"uv","duration":3,"mime_type":"audio/ogg","file_size":50}}`,
			normalize.KindVoiceMsg, "", &fileRef{id: "v", name: "voice.ogg", mediaType: "audio/ogg", size: 50}, nil},
		{"audio", `{"audio":{"file_id":"a","file_unique_id":"ua","duration":3,"file_name":"song.mp3","mime_type":"audio/mpeg","file_size":60}}`,
			normalize.KindAudio, "", &fileRef{id: "a", name: "song.mp3", mediaType: "audio/mpeg", size: 60}, nil},
		{"video", `{"caption":"look","video":{"file_id":"vi","file_unique_id":"uvi","width":1,"height":1,"duration":3,"file_size":70}}`,
			normalize.KindVideo, "look", &fileRef{id: "vi", name: "video.mp4", mediaType: "video/mp4", size: 70}, nil},
		{"sticker", `{"sticker":{"file_id":"st","file_unique_id":"ust","width":1,"height":1,"emoji":"😀","file_size":5}}`,
			normalize.KindSticker, "😀", &fileRef{id: "st", name: "sticker.webp", mediaType: "image/webp", size: 5}, nil},
		{"location", `{"location":{"latitude":38.7223,"longitude":-9.1393}}`,
			normalize.KindLocation, "38.7223,-9.1393", nil, &normalize.Location{Latitude: 38.7223, Longitude: -9.1393}},
		{"contact", `{"contact":{"phone_number":"+351 912 345 678","first_name":"Rui","last_name":"Costa","user_id":7}}`,
			normalize.KindContact, "Contact: Rui Costa, +351 912 345 678", nil, nil},
		{"unsupported kept", `{"poll":{"id":"p","question":"?"}}`, normalize.KindSystem, "[message type not supported by the gateway]", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, reason := convertUpdate(opt, update(t, "message", tt.update))
			require.Empty(t, reason)
			m := in.msg
			require.Equal(t, tt.kind, m.Kind)
			require.Equal(t, tt.text, m.Text)
			require.Equal(t, tt.location, m.Location)
			if tt.file == nil {
				require.Empty(t, in.files)
			} else {
				require.Equal(t, []fileRef{*tt.file}, in.files)
			}
			require.Equal(t, normalize.ExternalID("5000000001:42"), m.ExternalID)
			require.Equal(t, normalize.Address("5000000001"), m.Address)
			require.Equal(t, normalize.Inbound, m.Direction)
			require.Equal(t, normalize.InstanceName("tg"), m.Source)
			require.Equal(t, normalize.InstanceName("tg"), m.Channel)
			require.Equal(t, normalize.KindTelegram, m.ChannelKind)
			require.Equal(t, normalize.Author{Role: normalize.RolePlayer, DisplayName: "Ana Silva", Language: "pt-BR", ExternalID: "5000000001"}, m.Author)
			require.Equal(t, time.Unix(1700000000, 0).UTC(), m.SentAt)
		})
	}
}

// update builds an update whose kind field holds a private message from Ana in chat
// 5000000001 with message_id 42, merged with the fields in extra.
func update(t *testing.T, kind, extra string) tgbotapi.Update {
	t.Helper()
	base := `{"message_id":42,"date":1700000000,"from":{"id":5000000001,"first_name":"Ana","last_name":"Silva","language_code":"pt-BR"},"chat":{"id":5000000001,"type":"private"}}`
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(base), &m))
	require.NoError(t, json.Unmarshal([]byte(extra), &m))
	raw, err := json.Marshal(map[string]any{"update_id": 1, kind: m})
	require.NoError(t, err)
	var u tgbotapi.Update
	require.NoError(t, json.Unmarshal(raw, &u))
	return u
}

func TestConvertReplyAndEdit(t *testing.T) {
	opt := convertOptions{name: "tg"}
	in, _ := convertUpdate(opt, update(t, "message", `{"text":"yes","reply_to_message":{"message_id":40,"date":1,"chat":{"id":5000000001,"type":"private"}}}`))
	require.Equal(t, normalize.ExternalID("5000000001:40"), in.msg.ReplyTo)

	in, reason := convertUpdate(opt, update(t, "edited_message", `{"text":"fixed","edit_date":1700000100}`))
	require.Empty(t, reason)
	require.Equal(t, normalize.KindEdit, in.msg.Kind)
	require.Equal(t, normalize.ExternalID("5000000001:42"), in.msg.Edits)
	require.Equal(t, normalize.ExternalID("5000000001:42:edit:1"), in.msg.ExternalID)
	require.Equal(t, "fixed", in.msg.Text)
	require.Equal(t, time.Unix(1700000100, 0).UTC(), in.msg.SentAt)
	require.False(t, in.start)

	// A second edit within the same second is another edit, not a repeat of the first.
	second := update(t, "edited_message", `{"text":"fixed again","edit_date":1700000100}`)
	second.UpdateID = 2
	again, _ := convertUpdate(opt, second)
	require.NotEqual(t, in.msg.ExternalID, again.msg.ExternalID)
	repeat, _ := convertUpdate(opt, update(t, "edited_message", `{"text":"fixed","edit_date":1700000100}`))
	require.Equal(t, in.msg.ExternalID, repeat.msg.ExternalID, "the same update again is a duplicate")
}

func TestConvertIgnores(t *testing.T) {
	group := `{"text":"hi","chat":{"id":-100123,"type":"supergroup"}}`
	_, reason := convertUpdate(convertOptions{name: "tg"}, update(t, "message", group))
	require.Contains(t, reason, "supergroup")
	in, reason := convertUpdate(convertOptions{name: "tg", allowGroups: true}, update(t, "message", group))
	require.Empty(t, reason)
	require.Equal(t, normalize.ExternalID("-100123:42"), in.msg.ExternalID)

	_, reason = convertUpdate(convertOptions{name: "tg"}, update(t, "message", `{"text":"beep","from":{"id":9,"is_bot":true,"first_name":"B"}}`))
	require.NotEmpty(t, reason)
	_, reason = convertUpdate(convertOptions{name: "tg"}, tgbotapi.Update{UpdateID: 3})
	require.NotEmpty(t, reason)
}

func TestConvertStart(t *testing.T) {
	for text, want := range map[string]bool{"/start": true, "/start ref_abc": true, "/start@casino_bot": true, "/starting": false, "hi /start": false} {
		in, _ := convertUpdate(convertOptions{name: "tg"}, update(t, "message", `{"text":`+quoteJSON(text)+`}`))
		require.Equal(t, want, in.start, text)
		require.Equal(t, text, in.msg.Text, "/start is delivered as written, payload included")
	}
}

func quoteJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestGreeting(t *testing.T) {
	g := map[string]string{"en": "hello", "de": "hallo", "pt-BR": "olá"}
	require.Equal(t, "olá", greeting(g, "pt-br"))
	require.Equal(t, "hallo", greeting(g, "de-AT"))
	require.Equal(t, "hello", greeting(g, "fr"))
	require.Equal(t, "hello", greeting(g, ""))
}

// FuzzConvertUpdate feeds arbitrary update JSON to the converter: it must not panic, and
// what it accepts must be addressed and keyed.
func FuzzConvertUpdate(f *testing.F) {
	f.Add(`{"update_id":1,"message":{"message_id":1,"date":1,"chat":{"id":1,"type":"private"},"from":{"id":1,"first_name":"a"},"text":"x"}}`)
	f.Add(`{"update_id":1,"edited_message":{"message_id":1,"date":1,"edit_date":2,"chat":{"id":1,"type":"private"},"from":{"id":1,"first_name":"a"},"photo":[]}}`)
	f.Add(`{"update_id":1,"message":{"message_id":1,"chat":{"id":-5,"type":"group"},"from":{"id":1},"document":{"file_id":"x","file_name":"\u0000/.."}}}`)
	f.Add(`{"message":{"chat":{"type":"private"},"from":{},"photo":[{"file_id":"a"},{"file_id":"b","width":-1,"height":3}],"reply_to_message":{}}}`)
	f.Fuzz(func(t *testing.T, raw string) {
		var u tgbotapi.Update
		if json.Unmarshal([]byte(raw), &u) != nil {
			return
		}
		for _, groups := range []bool{false, true} {
			in, reason := convertUpdate(convertOptions{name: "tg", allowGroups: groups}, u)
			if reason != "" {
				continue
			}
			if in.msg.ExternalID == "" || in.msg.Address == "" || in.msg.Kind == "" {
				t.Fatalf("accepted message without key, address or kind: %+v", in.msg)
			}
			for _, f := range in.files {
				if f.name == "" || strings.ContainsAny(f.name, "/\\\x00") {
					t.Fatalf("unsafe file name %q", f.name)
				}
			}
		}
	})
}
