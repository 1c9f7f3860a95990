package telegram

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// BenchmarkConvertUpdate is the per-message cost of the Telegram channel's conversion: a
// player's text in a private chat, decoded from the Bot API's JSON as getUpdates returns it
// (decode) and turned into a normalized message (convert).
func BenchmarkConvertUpdate(b *testing.B) {
	raw := []byte(`{"update_id":815,"message":{"message_id":4711,"date":1764950400,` +
		`"from":{"id":7000000001,"is_bot":false,"first_name":"Jana","last_name":"Schmidt","username":"jana_s","language_code":"de"},` +
		`"chat":{"id":7000000001,"first_name":"Jana","type":"private"},` +
		`"text":"Hallo, meine Auszahlung von 250 EUR hängt seit gestern, können Sie nachsehen?"}}`)
	opt := convertOptions{name: "tg"}
	// A getUpdates answer of 100 such updates, read as polling reads it; per update.
	answer := []byte(`{"ok":true,"result":[` + strings.Repeat(string(raw)+",", 99) + string(raw) + `]}`)
	b.Run("decode", func(b *testing.B) {
		for b.Loop() {
			got, err := readUpdates(bytes.NewReader(answer))
			if err != nil || len(got.Result) != 100 {
				b.Fatal(err, len(got.Result))
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(100*b.N), "ns/update")
	})
	var u tgbotapi.Update
	if err := json.Unmarshal(raw, &u); err != nil {
		b.Fatal(err)
	}
	b.Run("convert", func(b *testing.B) {
		for b.Loop() {
			if _, reason := convertUpdate(opt, u); reason != "" {
				b.Fatalf("refused: %s", reason)
			}
		}
	})
}
