package store

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
)

// decodeStored reads every stored form as encoding/json reads it: each field of a message,
// and the quirks of JSON that encoding/json accepts.
func TestDecodeStoredReadsAsEncodingJSON(t *testing.T) {
	at := time.Date(2026, 12, 7, 5, 30, 0, 123456789, time.UTC)
	full := normalize.Message{ID: "m-1", Direction: normalize.Inbound, Source: "tg", ExternalID: "1:2", Conversation: "c-1",
		Channel: "tg", ChannelKind: normalize.KindTelegram, Address: "42", Ticket: "T-1",
		Author: normalize.Author{Role: normalize.RolePlayer, DisplayName: "Ана 👋", Language: "ru", PlayerID: "P-1", PlayerIDBy: "crm",
			VIPTier: 3, ExternalID: "x", Email: "a@example.com", Country: "DE", AccountStatus: "active", KYCStatus: "pending", PersonalManager: "Bo"},
		Kind: normalize.KindDocument, Text: "line 1\nline 2 \"quoted\" <b>&</b> \u2028", QuickReplies: []string{"yes", "no"}, HTML: "<p>hi</p>",
		Subject: "Re: deposit", Attachments: []normalize.Attachment{{Name: "kyc.pdf", MediaType: "application/pdf", Size: 1 << 20, SHA256: "ab", BlobRef: "b1", ContentID: "c1"}},
		Location: &normalize.Location{Latitude: 52.52, Longitude: 13.405}, Callback: &normalize.Callback{Phone: "+4930123", PreferredTime: "evening"},
		ReplyTo: "1:1", Edits: "1:0", SentAt: at, ReceivedAt: at.Add(time.Second), Status: normalize.StatusClosed,
		Update: &normalize.Update{Changed: []normalize.Field{normalize.FieldLanguage}, Language: "ru", VIPTier: 3, Priority: normalize.PriorityHigh,
			SLA: normalize.SLA{AwaitingSince: at, DueAt: at.Add(time.Hour)}},
		Assignee: &normalize.Agent{ID: "a1", Name: "Agent"}, Complex: true, AutoReply: true, State: normalize.StateQueued, FailReason: "none"}
	stored := func(m normalize.Message) string {
		b, err := json.Marshal(m)
		require.NoError(t, err)
		return string(b)
	}
	for _, tc := range []struct{ name, data string }{
		{"every field", stored(full)},
		{"the fewest fields", stored(normalize.Message{ID: "m-2", Direction: normalize.Outbound, Source: "desk", ExternalID: "e"})},
		{"empty lists and nulls", `{"id":"m-3","quick_replies":[],"attachments":null,"location":null,"update":null}`},
		{"names in another case", `{"ID":"m-4","Text":"hi","AUTHOR":{"Role":"player"}}`},
		{"a duplicate name: the last wins", `{"id":"first","id":"last"}`},
		{"invalid UTF-8", "{\"id\":\"m-5\",\"text\":\"caf\xe9\"}"},
		{"unknown fields", `{"id":"m-6","from_a_later_version":{"x":[1,2]}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var want, got normalize.Message
			require.NoError(t, json.Unmarshal([]byte(tc.data), &want))
			require.NoError(t, decodeStored([]byte(tc.data), &got))
			require.Equal(t, want, got)
		})
	}
	var tags []string
	require.NoError(t, decodeStored([]byte(`["vip","kyc"]`), &tags))
	require.Equal(t, []string{"vip", "kyc"}, tags)
	require.Error(t, decodeStored([]byte(`{"id":`), &normalize.Message{}), "malformed JSON is an error still")
}

// Decoding a typical stored message, as each hand-out of a lane does per message.
func BenchmarkDecodeStored(b *testing.B) {
	m := normalize.Message{ID: normalize.NewMessageID(), Direction: normalize.Inbound, Source: "tg", ExternalID: "123:456", Channel: "tg",
		ChannelKind: normalize.KindTelegram, Address: "123456789", Conversation: "c-abc", Kind: normalize.KindText,
		Author: normalize.Author{Role: normalize.RolePlayer, DisplayName: "Ann Example", Language: "en"},
		Text:   "Hello, my deposit has not arrived yet, can you check please?", ReceivedAt: time.Now().UTC(), State: normalize.StateQueued}
	data, err := json.Marshal(m)
	require.NoError(b, err)
	for _, tc := range []struct {
		name   string
		decode func([]byte, any) error
	}{{"encoding-json", json.Unmarshal}, {"stored", decodeStored}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var got normalize.Message
				if err := tc.decode(data, &got); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
